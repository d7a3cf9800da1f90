"""Server settings from the environment and an optional ``.env`` file (no pydantic-settings).

With nothing configured the server runs *embedded*: SQLite + local disk under the data
directory + in-process workers, no broker. ``DB_URL`` switches the database to PostgreSQL,
``QUEUE_URL`` the queue to RabbitMQ and ``S3_ENDPOINT`` the storage to S3/MinIO (or COS when the
endpoint is ``cos.<region>.myqcloud.com`` or ``STORAGE_BACKEND=cos``). Variables of the process
environment win over the ``.env`` file, which is read only when named (``--env-file`` or
``AUDIO_STYLE_ENV_FILE``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

StorageBackend = Literal["local", "s3", "cos"]
DEFAULT_PORT = 8080


def default_data_dir() -> Path:
    """``$AUDIO_STYLE_DATA_DIR``, else ``$XDG_DATA_HOME/audio-style/server``."""
    env = os.environ.get("AUDIO_STYLE_DATA_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "audio-style" / "server"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines (``#`` comments, optional quotes, optional ``export``)."""
    out: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return out
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[key.strip()] = value
    return out


@dataclass(frozen=True)
class Settings:
    """Everything the API, scheduler and workers need; see ``deploy/.env.example``."""

    data_dir: Path
    db_url: str
    queue_url: str | None = None
    queue_name: str = "audio_style.tasks"
    storage_backend: StorageBackend = "local"
    app_env: str = "dev"
    # object storage
    s3_endpoint: str | None = None
    s3_public_endpoint: str | None = None
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    bucket_audio: str = "audio"
    bucket_preset: str = "preset"
    bucket_viz: str = "viz"
    s3_sts_enabled: bool = False
    s3_sts_role_arn: str = "arn:aws:iam::000000000000:role/audio-style-upload"
    cos_ip: str | None = None
    cos_port: int | None = None
    cos_scheme: str = "https"
    cos_appid: str = ""
    cos_sts_enabled: bool = False
    cos_sts_endpoint: str = "https://sts.tencentcloudapi.com"
    # auth
    jwt_secret: str = ""
    jwt_issuer: str = "audio-style"
    jwt_audience: str = "audio-style-api"
    access_ttl_s: int = 600
    refresh_ttl_s: int = 30 * 24 * 3600
    # HTTP
    public_url: str = f"http://127.0.0.1:{DEFAULT_PORT}"
    max_upload_bytes: int = 2 * 1024**3
    upload_ttl_s: int = 1800
    download_ttl_s: int = 3600
    # request rate limits (token buckets per API process; 0 per minute: off). Full stack
    # defaults: 600/min per user (burst 300) and 30/min per client address on /auth (burst 20);
    # embedded: off unless set.
    rate_limit_user_per_min: float = 0.0
    rate_limit_user_burst: int = 300
    rate_limit_auth_per_min: float = 0.0
    rate_limit_auth_burst: int = 20
    # client addresses and login throttling (server.api.proxy, server.api.throttle)
    trusted_proxies: str = ""
    rate_limit_storage: str = "memory://"
    rate_limit_prefix: str = "audio-style"
    login_limit_account: str = "5/minute;20/hour;100/day"
    login_limit_address: str = "10/minute;40/hour;200/day"
    # upload virus scanning through clamd (server.worker.scan): off unless CLAMD_SOCKET is set
    clamd_socket: str = ""
    clamd_timeout_s: float = 30.0
    # jobs
    lease_s: float = 60.0
    heartbeat_s: float = 15.0
    scheduler_interval_s: float = 2.0
    republish_after_s: float = 300.0
    max_attempts: int = 5
    delivery_limit: int = 10
    retry_base_s: float = 2.0
    retry_max_s: float = 300.0
    consumer_timeout_ms: int = 6 * 3600 * 1000
    # chunked rendering of long targets
    chunk_enabled: bool = True
    chunk_s: float = 300.0
    chunk_min_s: float = 900.0
    # worker sandbox
    sandbox_mem_mb: int = 4096
    sandbox_timeout_s: float = 4 * 3600.0
    max_duration_s: float = 4 * 3600.0
    worker_metrics_port: int = 0
    embedded_workers: int = 1
    extra: Mapping[str, str] = field(default_factory=dict)
    jwt_secret_configured: bool = False  # False: generated and kept in the data directory
    public_url_configured: bool = False

    @property
    def embedded(self) -> bool:
        """True when no broker is configured (in-process queue and workers)."""
        return self.queue_url is None

    @property
    def buckets(self) -> tuple[str, str, str]:
        """(audio, preset, viz)."""
        return (self.bucket_audio, self.bucket_preset, self.bucket_viz)

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _bool(v: str | None, default: bool) -> bool:
    if v is None or v == "":
        return default
    return v.strip().lower() in ("1", "true", "yes", "on")


def _num(env: Mapping[str, str], key: str, default: float) -> float:
    v = env.get(key)
    return float(v) if v not in (None, "") else default


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    v = env.get(key)
    return int(v) if v not in (None, "") else default


def _storage_backend(env: Mapping[str, str]) -> StorageBackend:
    explicit = env.get("STORAGE_BACKEND", "").strip().lower()
    if explicit in ("local", "s3", "cos"):
        return explicit  # type: ignore[return-value]
    endpoint = env.get("S3_ENDPOINT", "")
    if not endpoint:
        return "local"
    host = urlsplit(endpoint).hostname or ""
    return "cos" if host.endswith(".myqcloud.com") else "s3"


def _jwt_secret(env: Mapping[str, str], data_dir: Path, persist: bool) -> str:
    secret = env.get("JWT_SECRET", "")
    if secret:
        return secret
    path = data_dir / "jwt-secret"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        pass
    secret = secrets.token_urlsafe(48)
    if persist:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secret)
    return secret


def load_settings(
    data_dir: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    env_file: Path | str | None = None,
    *,
    persist_secret: bool = True,
) -> Settings:
    """Build :class:`Settings` from ``env`` (default ``os.environ``) over ``.env``.

    The ``.env`` file is read only when named: ``env_file`` (``--env-file``), else
    ``$AUDIO_STYLE_ENV_FILE``; never implicitly from the working directory. Pass ``env``
    explicitly (tests) to ignore the process environment.
    """
    if env is None:
        base = dict(os.environ)
        named = env_file or base.get("AUDIO_STYLE_ENV_FILE")
        merged = {**(read_env_file(Path(named)) if named else {}), **base}
    else:
        merged = dict(env)
        if env_file is not None:
            merged = {**read_env_file(Path(env_file)), **merged}
    ddir = Path(data_dir) if data_dir else None
    if ddir is None:
        ddir = Path(merged["DATA_DIR"]) if merged.get("DATA_DIR") else default_data_dir()
    ddir = ddir.expanduser().resolve()
    db_url = merged.get("DB_URL") or f"sqlite:///{ddir / 'audio-style.db'}"
    if db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://") :]
    elif db_url.startswith("postgres://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgres://") :]
    backend = _storage_backend(merged)
    full = bool(merged.get("QUEUE_URL"))
    cos_port = merged.get("COS_PORT")
    s = Settings(
        data_dir=ddir,
        db_url=db_url,
        queue_url=merged.get("QUEUE_URL") or None,
        queue_name=merged.get("QUEUE_NAME") or "audio_style.tasks",
        storage_backend=backend,
        app_env=merged.get("APP_ENV", "dev"),
        s3_endpoint=merged.get("S3_ENDPOINT") or None,
        s3_public_endpoint=merged.get("S3_PUBLIC_ENDPOINT") or None,
        s3_access_key=merged.get("S3_ACCESS_KEY", ""),
        s3_secret_key=merged.get("S3_SECRET_KEY", ""),
        s3_region=merged.get("S3_REGION") or _cos_region(merged) or "us-east-1",
        bucket_audio=merged.get("S3_BUCKET_AUDIO") or "audio",
        bucket_preset=merged.get("S3_BUCKET_PRESET") or "preset",
        bucket_viz=merged.get("S3_BUCKET_VIZ") or "viz",
        s3_sts_enabled=_bool(merged.get("S3_STS_ENABLED"), False),
        s3_sts_role_arn=merged.get("S3_STS_ROLE_ARN") or Settings.s3_sts_role_arn,
        cos_ip=merged.get("COS_IP") or None,
        cos_port=int(cos_port) if cos_port else None,
        cos_scheme=merged.get("COS_SCHEME") or _scheme(merged.get("S3_ENDPOINT")) or "https",
        cos_appid=merged.get("COS_APPID", ""),
        cos_sts_enabled=_bool(merged.get("COS_STS_ENABLED"), False),
        cos_sts_endpoint=merged.get("COS_STS_ENDPOINT") or Settings.cos_sts_endpoint,
        jwt_secret=_jwt_secret(merged, ddir, persist_secret),
        jwt_issuer=merged.get("JWT_ISSUER") or "audio-style",
        jwt_audience=merged.get("JWT_AUDIENCE") or "audio-style-api",
        access_ttl_s=_int(merged, "ACCESS_TOKEN_TTL_S", 600),
        refresh_ttl_s=_int(merged, "REFRESH_TOKEN_TTL_S", 30 * 24 * 3600),
        public_url=(merged.get("PUBLIC_URL") or f"http://127.0.0.1:{DEFAULT_PORT}").rstrip("/"),
        max_upload_bytes=_int(merged, "MAX_UPLOAD_BYTES", 2 * 1024**3),
        upload_ttl_s=_int(merged, "UPLOAD_TTL_S", 1800),
        download_ttl_s=_int(merged, "DOWNLOAD_TTL_S", 3600),
        rate_limit_user_per_min=_num(merged, "RATE_LIMIT_USER_PER_MIN", 600.0 if full else 0.0),
        rate_limit_user_burst=_int(merged, "RATE_LIMIT_USER_BURST", 300),
        rate_limit_auth_per_min=_num(merged, "RATE_LIMIT_AUTH_PER_MIN", 30.0 if full else 0.0),
        rate_limit_auth_burst=_int(merged, "RATE_LIMIT_AUTH_BURST", 20),
        trusted_proxies=merged.get("TRUSTED_PROXIES", ""),
        rate_limit_storage=merged.get("RATE_LIMIT_STORAGE") or "memory://",
        rate_limit_prefix=merged.get("RATE_LIMIT_PREFIX") or "audio-style",
        login_limit_account=merged.get("LOGIN_LIMIT_ACCOUNT", Settings.login_limit_account),
        login_limit_address=merged.get("LOGIN_LIMIT_ADDRESS", Settings.login_limit_address),
        clamd_socket=merged.get("CLAMD_SOCKET", ""),
        clamd_timeout_s=_num(merged, "CLAMD_TIMEOUT_S", 30.0),
        lease_s=_num(merged, "LEASE_S", 60.0),
        heartbeat_s=_num(merged, "HEARTBEAT_S", 15.0),
        scheduler_interval_s=_num(merged, "SCHEDULER_INTERVAL_S", 2.0),
        republish_after_s=_num(merged, "REPUBLISH_AFTER_S", 300.0),
        max_attempts=_int(merged, "MAX_ATTEMPTS", 5),
        delivery_limit=_int(merged, "DELIVERY_LIMIT", 10),
        retry_base_s=_num(merged, "RETRY_BASE_S", 2.0),
        retry_max_s=_num(merged, "RETRY_MAX_S", 300.0),
        consumer_timeout_ms=_int(merged, "CONSUMER_TIMEOUT_MS", 6 * 3600 * 1000),
        chunk_enabled=_bool(merged.get("CHUNK_ENABLED"), True),
        chunk_s=_num(merged, "CHUNK_S", 300.0),
        chunk_min_s=_num(merged, "CHUNK_MIN_S", 900.0),
        sandbox_mem_mb=_int(merged, "SANDBOX_MEM_MB", 4096),
        sandbox_timeout_s=_num(merged, "SANDBOX_TIMEOUT_S", 4 * 3600.0),
        max_duration_s=_num(merged, "MAX_DURATION_S", 4 * 3600.0),
        worker_metrics_port=_int(merged, "WORKER_METRICS_PORT", 0),
        embedded_workers=_int(merged, "EMBEDDED_WORKERS", 1),
        extra={k: v for k, v in merged.items() if k.startswith(("APP_", "ENABLE_"))},
        jwt_secret_configured=bool(merged.get("JWT_SECRET")),
        public_url_configured=bool(merged.get("PUBLIC_URL")),
    )
    return s


def _cos_region(env: Mapping[str, str]) -> str | None:
    host = urlsplit(env.get("S3_ENDPOINT", "")).hostname or ""
    parts = host.split(".")
    if host.endswith(".myqcloud.com") and len(parts) >= 4 and parts[-4] == "cos":
        return parts[-3]
    return env.get("COS_REGION") or None


def _scheme(url: str | None) -> str | None:
    return urlsplit(url).scheme or None if url else None


def settings_env(s: Settings) -> dict[str, str]:
    """The environment that reproduces ``s`` in a child process (used by tests and the CLI)."""
    env = {
        "DATA_DIR": str(s.data_dir),
        "DB_URL": s.db_url,
        "QUEUE_NAME": s.queue_name,
        "JWT_SECRET": s.jwt_secret,
        "PUBLIC_URL": s.public_url,
        "STORAGE_BACKEND": s.storage_backend,
        "S3_BUCKET_AUDIO": s.bucket_audio,
        "S3_BUCKET_PRESET": s.bucket_preset,
        "S3_BUCKET_VIZ": s.bucket_viz,
        "S3_REGION": s.s3_region,
        "LEASE_S": str(s.lease_s),
        "HEARTBEAT_S": str(s.heartbeat_s),
        "SCHEDULER_INTERVAL_S": str(s.scheduler_interval_s),
        "REPUBLISH_AFTER_S": str(s.republish_after_s),
        "MAX_ATTEMPTS": str(s.max_attempts),
        "DELIVERY_LIMIT": str(s.delivery_limit),
        "RETRY_BASE_S": str(s.retry_base_s),
        "RETRY_MAX_S": str(s.retry_max_s),
        "CHUNK_ENABLED": "1" if s.chunk_enabled else "0",
        "CHUNK_S": str(s.chunk_s),
        "CHUNK_MIN_S": str(s.chunk_min_s),
        "SANDBOX_MEM_MB": str(s.sandbox_mem_mb),
        "SANDBOX_TIMEOUT_S": str(s.sandbox_timeout_s),
        "MAX_DURATION_S": str(s.max_duration_s),
        "MAX_UPLOAD_BYTES": str(s.max_upload_bytes),
        "RATE_LIMIT_USER_PER_MIN": str(s.rate_limit_user_per_min),
        "RATE_LIMIT_USER_BURST": str(s.rate_limit_user_burst),
        "RATE_LIMIT_AUTH_PER_MIN": str(s.rate_limit_auth_per_min),
        "RATE_LIMIT_AUTH_BURST": str(s.rate_limit_auth_burst),
        "TRUSTED_PROXIES": s.trusted_proxies,
        "RATE_LIMIT_STORAGE": s.rate_limit_storage,
        "RATE_LIMIT_PREFIX": s.rate_limit_prefix,
        "LOGIN_LIMIT_ACCOUNT": s.login_limit_account,
        "LOGIN_LIMIT_ADDRESS": s.login_limit_address,
        "CLAMD_SOCKET": s.clamd_socket,
        "CLAMD_TIMEOUT_S": str(s.clamd_timeout_s),
    }
    if s.queue_url:
        env["QUEUE_URL"] = s.queue_url
    if s.s3_endpoint:
        env["S3_ENDPOINT"] = s.s3_endpoint
        env["S3_ACCESS_KEY"] = s.s3_access_key
        env["S3_SECRET_KEY"] = s.s3_secret_key
    if s.s3_public_endpoint:
        env["S3_PUBLIC_ENDPOINT"] = s.s3_public_endpoint
    if s.cos_ip:
        env["COS_IP"] = s.cos_ip
    if s.cos_port:
        env["COS_PORT"] = str(s.cos_port)
    env["COS_SCHEME"] = s.cos_scheme
    if s.cos_appid:
        env["COS_APPID"] = s.cos_appid
    return env
