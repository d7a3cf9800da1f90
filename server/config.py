"""Server settings from the environment and an optional ``.env`` file (no pydantic-settings).

With nothing configured the server runs *embedded*: SQLite + local disk under the data
directory + in-process workers, no broker. ``DB_URL`` switches the database to PostgreSQL,
``QUEUE_URL`` the queue to RabbitMQ and ``S3_ENDPOINT`` the storage to S3/MinIO (or COS when the
endpoint is ``cos.<region>.myqcloud.com`` or ``STORAGE_BACKEND=cos``). Variables of the process
environment win over the ``.env`` file, which is read only when named (``--env-file`` or
``AUDIO_STYLE_ENV_FILE``).

Every variable is declared once: a field of :class:`Settings` made with :func:`setting` (its
name, type, default and meaning), or one of :data:`LOCATION_VARS` (where the settings come
from). Loading (:func:`load_settings`), the environment that reproduces settings in a child
process (:func:`settings_env`) and the table of ``docs/configuration.md``
(``python -m server.config``) are derived from these declarations. An empty value means
"unset" (the default), except where a declaration says that empty is a value.
"""

from __future__ import annotations

import os
import secrets
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

StorageBackend = Literal["local", "s3", "cos"]
DEFAULT_PORT = 8080
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
_META = "audio_style_setting"
Derive = Callable[[Mapping[str, Any]], Any]  # the default from other settings' values


@dataclass(frozen=True)
class Var:
    """One environment variable of the server (a row of docs/configuration.md)."""

    env: str
    doc: str
    group: str
    shown: str  # the default, as the table shows it
    kind: str = ""  # the type, as the table shows it ("" for a field: from its annotation)
    keep_empty: bool = False  # an empty value is a value, not "unset"
    derive: Derive | None = None
    clean: Callable[[Any], Any] | None = None  # normalises a loaded value


def setting(
    env: str,
    default: Any = MISSING,
    *,
    doc: str,
    group: str,
    shown: str | None = None,
    derive: Derive | None = None,
    clean: Callable[[Any], Any] | None = None,
    keep_empty: bool = False,
) -> Any:
    """Declare a :class:`Settings` field read from ``$env``: ``default`` when unset, or what
    ``derive`` computes from the other settings' values."""
    var = Var(env, doc, group, _show(default) if shown is None else shown, "", keep_empty)
    var = replace(var, derive=derive, clean=clean)
    return field(default=default, metadata={_META: var})


def _show(v: Any) -> str:
    if v is MISSING or v is None:
        return "unset"
    if v == "":
        return "empty"
    return _render(v)


def _render(v: Any) -> str:
    """A value as an environment variable spells it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _storage_backend(v: Mapping[str, Any]) -> StorageBackend:
    endpoint = v["s3_endpoint"]
    if not endpoint:
        return "local"
    host = urlsplit(endpoint).hostname or ""
    return "cos" if host.endswith(".myqcloud.com") else "s3"


def _s3_region(v: Mapping[str, Any]) -> str:
    host = urlsplit(v["s3_endpoint"] or "").hostname or ""
    parts = host.split(".")
    if host.endswith(".myqcloud.com") and len(parts) >= 4 and parts[-4] == "cos":
        return parts[-3]
    return str(v["cos_region"] or "us-east-1")


def _psycopg_url(url: str) -> str:
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def _full(per_min: float) -> Derive:
    """Full stack (``QUEUE_URL``): ``per_min``; embedded: 0 (off)."""
    return lambda v: per_min if v["queue_url"] else 0.0


MODE, STORE, AUTH, HTTP, LIMITS, JOBS, WORKER, OPS = (
    "Mode, database and queue",
    "Object storage",
    "Authentication",
    "HTTP API",
    "Request and login limits",
    "Jobs, scheduler and chunked rendering",
    "Workers",
    "Metrics and operations",
)


@dataclass(frozen=True)
class Settings:
    """Everything the API, scheduler and workers need; see docs/configuration.md."""

    data_dir: Path = setting(
        "DATA_DIR",
        doc="Data directory (embedded database and files, the generated JWT secret); "
        "`--data-dir` wins",
        group=MODE,
        shown="`$AUDIO_STYLE_DATA_DIR`, else `$XDG_DATA_HOME/audio-style/server`",
        clean=lambda p: p.expanduser().resolve(),
    )
    db_url: str = setting(
        "DB_URL",
        doc="Database: `postgresql://...` switches to PostgreSQL (the full stack)",
        group=MODE,
        shown="`sqlite:///<data dir>/audio-style.db`",
        derive=lambda v: f"sqlite:///{v['data_dir'] / 'audio-style.db'}",
        clean=_psycopg_url,
    )
    queue_url: str | None = setting(
        "QUEUE_URL",
        None,
        doc="RabbitMQ (`amqp://...`): the full stack; unset: embedded (in-process queue, "
        "scheduler and workers)",
        group=MODE,
    )
    queue_name: str = setting("QUEUE_NAME", "audio_style.tasks", doc="Task queue", group=MODE)
    app_env: str = setting(
        "APP_ENV",
        "dev",
        doc="`dev`, `staging` or `prod` (prod refuses to start with weak secrets)",
        group=MODE,
    )
    # object storage
    s3_endpoint: str | None = setting(
        "S3_ENDPOINT",
        None,
        doc="S3/MinIO endpoint, or COS (`https://cos.<region>.myqcloud.com`); unset: local disk",
        group=STORE,
    )
    storage_backend: StorageBackend = setting(
        "STORAGE_BACKEND",
        "local",
        doc="`local`, `s3` or `cos`",
        group=STORE,
        shown="from `S3_ENDPOINT`: none: `local`, `*.myqcloud.com`: `cos`, else `s3`",
        derive=_storage_backend,
    )
    s3_public_endpoint: str | None = setting(
        "S3_PUBLIC_ENDPOINT",
        None,
        doc="Endpoint browsers and clients reach (presigned URLs, upload credentials)",
        group=STORE,
        shown="`S3_ENDPOINT`",
    )
    s3_access_key: str = setting("S3_ACCESS_KEY", "", doc="Access key", group=STORE)
    s3_secret_key: str = setting("S3_SECRET_KEY", "", doc="Secret key", group=STORE)
    cos_region: str | None = setting(
        "COS_REGION",
        None,
        doc="COS region when `S3_ENDPOINT` does not name one",
        group=STORE,
    )
    s3_region: str = setting(
        "S3_REGION",
        "us-east-1",
        doc="Region requests are signed for",
        group=STORE,
        shown="the COS endpoint's region, else `COS_REGION`, else `us-east-1`",
        derive=_s3_region,
    )
    bucket_audio: str = setting("S3_BUCKET_AUDIO", "audio", doc="Audio bucket", group=STORE)
    bucket_preset: str = setting("S3_BUCKET_PRESET", "preset", doc="Preset bucket", group=STORE)
    bucket_viz: str = setting("S3_BUCKET_VIZ", "viz", doc="Plot bucket", group=STORE)
    s3_sts_enabled: bool = setting(
        "S3_STS_ENABLED",
        False,
        doc="Upload credentials from STS AssumeRole (MinIO/S3); false: presigned multipart URLs",
        group=STORE,
    )
    s3_sts_role_arn: str = setting(
        "S3_STS_ROLE_ARN",
        "arn:aws:iam::000000000000:role/audio-style-upload",
        doc="Role ARN for AWS S3 AssumeRole (MinIO ignores it)",
        group=STORE,
    )
    cos_ip: str | None = setting(
        "COS_IP", None, doc="Address the COS endpoint is reached at (tests)", group=STORE
    )
    cos_port: int | None = setting(
        "COS_PORT", None, doc="Port the COS endpoint is reached at (tests)", group=STORE
    )
    cos_scheme: str = setting(
        "COS_SCHEME",
        "https",
        doc="`http` or `https` for COS",
        group=STORE,
        shown="the scheme of `S3_ENDPOINT`, else `https`",
        derive=lambda v: urlsplit(v["s3_endpoint"] or "").scheme or "https",
    )
    cos_appid: str = setting("COS_APPID", "", doc="Tencent Cloud APPID (COS)", group=STORE)
    cos_sts_enabled: bool = setting(
        "COS_STS_ENABLED", False, doc="Upload credentials from COS STS", group=STORE
    )
    cos_sts_endpoint: str = setting(
        "COS_STS_ENDPOINT",
        "https://sts.tencentcloudapi.com",
        doc="Tencent STS endpoint (GetFederationToken)",
        group=STORE,
    )
    # auth
    jwt_secret: str = setting(
        "JWT_SECRET",
        "",
        doc="HS256 key of the access tokens; the full stack needs it (shared by every API process)",
        group=AUTH,
        shown="generated once, kept in `<data dir>/jwt-secret`",
    )
    jwt_issuer: str = setting("JWT_ISSUER", "audio-style", doc="Token issuer", group=AUTH)
    jwt_audience: str = setting("JWT_AUDIENCE", "audio-style-api", doc="Token audience", group=AUTH)
    access_ttl_s: int = setting(
        "ACCESS_TOKEN_TTL_S", 600, doc="Access token lifetime (s)", group=AUTH
    )
    refresh_ttl_s: int = setting(
        "REFRESH_TOKEN_TTL_S", 30 * 24 * 3600, doc="Refresh token lifetime (s)", group=AUTH
    )
    admins: str = setting(
        "APP_ADMINS",
        "",
        doc="Web console admins: user names, comma-separated (admin page and `/admin/*`)",
        group=AUTH,
    )
    # HTTP
    public_url: str = setting(
        "PUBLIC_URL",
        f"http://127.0.0.1:{DEFAULT_PORT}",
        doc="Public base URL of the API",
        group=HTTP,
        shown="`http://<host>:<port>` that `server` listens on, else "
        f"`http://127.0.0.1:{DEFAULT_PORT}`",
        clean=lambda url: url.rstrip("/"),
    )
    max_upload_bytes: int = setting(
        "MAX_UPLOAD_BYTES", 2 * 1024**3, doc="Largest accepted upload (bytes)", group=HTTP
    )
    upload_ttl_s: int = setting(
        "UPLOAD_TTL_S", 1800, doc="Lifetime of upload credentials (s)", group=HTTP
    )
    download_ttl_s: int = setting(
        "DOWNLOAD_TTL_S", 3600, doc="Lifetime of download URLs (s)", group=HTTP
    )
    console_dir: Path | None = setting(
        "APP_CONSOLE_DIR",
        None,
        doc="The built web console",
        group=HTTP,
        shown="`frontend/dist` of the source tree",
    )
    # request rate limits (token buckets per API process; 0 per minute: off)
    rate_limit_user_per_min: float = setting(
        "RATE_LIMIT_USER_PER_MIN",
        0.0,
        doc="Requests per minute per user on every authenticated endpoint (0: off)",
        group=LIMITS,
        shown="full stack: 600, embedded: 0",
        derive=_full(600.0),
    )
    rate_limit_user_burst: int = setting(
        "RATE_LIMIT_USER_BURST", 300, doc="Burst of the per-user limit", group=LIMITS
    )
    rate_limit_auth_per_min: float = setting(
        "RATE_LIMIT_AUTH_PER_MIN",
        0.0,
        doc="Requests per minute per client address on `/auth` (0: off)",
        group=LIMITS,
        shown="full stack: 30, embedded: 0",
        derive=_full(30.0),
    )
    rate_limit_auth_burst: int = setting(
        "RATE_LIMIT_AUTH_BURST", 20, doc="Burst of the per-address `/auth` limit", group=LIMITS
    )
    trusted_proxies: str = setting(
        "TRUSTED_PROXIES",
        "",
        doc="Peers whose `X-Forwarded-For` is trusted (addresses, networks, host names; "
        "comma-separated; empty: nobody)",
        group=LIMITS,
    )
    rate_limit_storage: str = setting(
        "RATE_LIMIT_STORAGE",
        "memory://",
        doc="Where limits are counted: `memory://` (one process) or `redis://...` (shared)",
        group=LIMITS,
    )
    rate_limit_prefix: str = setting(
        "RATE_LIMIT_PREFIX", "audio-style", doc="Key prefix in `RATE_LIMIT_STORAGE`", group=LIMITS
    )
    login_limit_account: str = setting(
        "LOGIN_LIMIT_ACCOUNT",
        "5/minute;20/hour;100/day",
        doc="Failed password logins per account (`limits` notation, `;`-separated; empty: none)",
        group=LIMITS,
        keep_empty=True,
    )
    login_limit_address: str = setting(
        "LOGIN_LIMIT_ADDRESS",
        "10/minute;40/hour;200/day",
        doc="Failed password logins per client address (empty: none)",
        group=LIMITS,
        keep_empty=True,
    )
    # jobs
    lease_s: float = setting("LEASE_S", 60.0, doc="Lease of a running task (s)", group=JOBS)
    heartbeat_s: float = setting(
        "HEARTBEAT_S", 15.0, doc="Worker heartbeat that renews the lease (s)", group=JOBS
    )
    scheduler_interval_s: float = setting(
        "SCHEDULER_INTERVAL_S", 2.0, doc="Scheduler loop period (s)", group=JOBS
    )
    republish_after_s: float = setting(
        "REPUBLISH_AFTER_S",
        300.0,
        doc="Re-publish a queued task whose message was lost after this long (s)",
        group=JOBS,
    )
    max_attempts: int = setting("MAX_ATTEMPTS", 5, doc="Attempts per task", group=JOBS)
    delivery_limit: int = setting(
        "DELIVERY_LIMIT", 10, doc="Deliveries per message before the dead-letter queue", group=JOBS
    )
    retry_base_s: float = setting("RETRY_BASE_S", 2.0, doc="Retry backoff base (s)", group=JOBS)
    retry_max_s: float = setting("RETRY_MAX_S", 300.0, doc="Retry backoff cap (s)", group=JOBS)
    consumer_timeout_ms: int = setting(
        "CONSUMER_TIMEOUT_MS",
        6 * 3600 * 1000,
        doc="RabbitMQ consumer timeout, above the longest job (ms)",
        group=JOBS,
    )
    chunk_enabled: bool = setting(
        "CHUNK_ENABLED", True, doc="Render long targets in chunks across workers", group=JOBS
    )
    chunk_s: float = setting("CHUNK_S", 300.0, doc="Chunk length (s)", group=JOBS)
    chunk_min_s: float = setting(
        "CHUNK_MIN_S", 900.0, doc="Shortest target rendered in chunks (s)", group=JOBS
    )
    # workers
    sandbox_mem_mb: int = setting(
        "SANDBOX_MEM_MB", 4096, doc="Memory limit of the decode/validate sandbox", group=WORKER
    )
    sandbox_timeout_s: float = setting(
        "SANDBOX_TIMEOUT_S", 4 * 3600.0, doc="Time limit of the sandbox (s)", group=WORKER
    )
    max_duration_s: float = setting(
        "MAX_DURATION_S", 4 * 3600.0, doc="Longest accepted input (s)", group=WORKER
    )
    enable_gpu: bool = setting(
        "ENABLE_GPU",
        False,
        doc="Jobs on `auto` use the GPU (ONNX Runtime's CUDA provider); false: the CPU",
        group=WORKER,
    )
    embedded_workers: int = setting(
        "EMBEDDED_WORKERS", 1, doc="In-process workers in embedded mode", group=WORKER
    )
    clamd_socket: str = setting(
        "CLAMD_SOCKET",
        "",
        doc="clamd (`unix:///...` or `tcp://host:port`) that scans uploads before a job runs; "
        "empty: off",
        group=WORKER,
    )
    clamd_timeout_s: float = setting("CLAMD_TIMEOUT_S", 30.0, doc="clamd timeout (s)", group=WORKER)
    # metrics
    worker_metrics_port: int = setting(
        "WORKER_METRICS_PORT", 0, doc="Worker's Prometheus port (0: off)", group=OPS
    )
    scheduler_metrics_port: int = setting(
        "SCHEDULER_METRICS_PORT", 0, doc="Scheduler's Prometheus port (0: off)", group=OPS
    )
    metrics_host: str = setting(
        "METRICS_HOST",
        "127.0.0.1",
        doc="Address the worker's and scheduler's metrics listen on (the images: 0.0.0.0)",
        group=OPS,
    )
    # how the values came about (not settings)
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

    @property
    def extra(self) -> dict[str, str]:
        """The ``APP_*`` and ``ENABLE_*`` settings by variable name, as strings (the older
        spelling; read the fields, e.g. :attr:`enable_gpu`)."""
        env = settings_env(self)
        return {k: v for k, v in env.items() if k.startswith(("APP_", "ENABLE_"))}

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


# Where the settings come from (read before the settings themselves).
LOCATION_VARS = (
    Var(
        "AUDIO_STYLE_ENV_FILE",
        "A `.env` file (`KEY=VALUE` lines) read under the environment; `--env-file` wins",
        "Where the settings come from",
        "none (never the working directory's `.env`)",
        "path",
    ),
    Var(
        "AUDIO_STYLE_DATA_DIR",
        "Default data directory when neither `DATA_DIR` nor `--data-dir` is given",
        "Where the settings come from",
        "`$XDG_DATA_HOME/audio-style/server`",
        "path",
    ),
    Var(
        "XDG_DATA_HOME",
        "Base of the default data directory",
        "Where the settings come from",
        "`~/.local/share`",
        "path",
    ),
)


def declared() -> list[tuple[Field[Any], Var]]:
    """The settings' fields with their declarations, in order."""
    return [(f, f.metadata[_META]) for f in fields(Settings) if _META in f.metadata]


def _types() -> dict[str, Any]:
    return typing.get_type_hints(Settings)


def _parse(tp: Any, raw: str, env: str) -> Any:
    """``raw`` (a non-empty value of ``$env``) as the field type ``tp``."""
    args = typing.get_args(tp)
    if type(None) in args:
        tp = next(a for a in args if a is not type(None))
    if typing.get_origin(tp) is Literal:
        v = raw.strip().lower()
        if v not in typing.get_args(tp):
            raise ValueError(f"{env}={raw!r}: expected one of {', '.join(typing.get_args(tp))}")
        return v
    if tp is bool:
        v = raw.strip().lower()
        if v not in TRUE + FALSE:
            raise ValueError(f"{env}={raw!r}: expected true or false")
        return v in TRUE
    if tp is int or tp is float:
        try:
            return tp(raw.strip())
        except ValueError:
            raise ValueError(f"{env}={raw!r}: expected {tp.__name__}") from None
    if tp is Path:
        return Path(raw)
    return raw


def _kind(tp: Any) -> str:
    """A field type as the table shows it."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if args:
        return _kind(args[0])
    return {str: "text", int: "integer", float: "number", bool: "boolean", Path: "path"}[tp]


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


def _jwt_secret_file(data_dir: Path, persist: bool) -> str:
    """The JWT secret kept in the data directory, generated (and kept when ``persist``)."""
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
    explicitly (tests) to ignore the process environment. A value that does not parse as its
    setting's type raises ``ValueError`` naming the variable.
    """
    if env is None:
        base = dict(os.environ)
        named = env_file or base.get("AUDIO_STYLE_ENV_FILE")
        merged = {**(read_env_file(Path(named)) if named else {}), **base}
    else:
        merged = dict(env)
        if env_file is not None:
            merged = {**read_env_file(Path(env_file)), **merged}
    types = _types()
    values: dict[str, Any] = {}
    derived: list[tuple[Field[Any], Var]] = []
    for f, var in declared():
        raw = merged.get(var.env)
        if f.name == "data_dir" and data_dir:
            values[f.name] = Path(data_dir)
        elif raw is not None and (raw != "" or var.keep_empty):
            values[f.name] = _parse(types[f.name], raw, var.env)
        elif f.name == "data_dir":
            values[f.name] = default_data_dir()
        elif var.derive is not None:
            derived.append((f, var))
            continue
        else:
            values[f.name] = f.default
        if var.clean is not None and values[f.name] is not None:
            values[f.name] = var.clean(values[f.name])
    for f, var in derived:  # from the values set or defaulted above
        assert var.derive is not None
        values[f.name] = var.derive(values)
        if var.clean is not None:
            values[f.name] = var.clean(values[f.name])
    values["jwt_secret_configured"] = bool(values["jwt_secret"])
    if not values["jwt_secret"]:
        values["jwt_secret"] = _jwt_secret_file(values["data_dir"], persist_secret)
    values["public_url_configured"] = bool(merged.get("PUBLIC_URL"))
    return Settings(**values)


def settings_env(s: Settings) -> dict[str, str]:
    """The environment that reproduces ``s`` in a child process (the CLI's API processes,
    tests): every setting that has a value."""
    return {
        var.env: _render(getattr(s, f.name))
        for f, var in declared()
        if getattr(s, f.name) is not None
    }


def env_for(**values: Any) -> dict[str, str]:
    """The variables that set the named :class:`Settings` fields to ``values`` (tests):
    ``env_for(lease_s=3)`` is ``{"LEASE_S": "3"}``; an unknown field raises ``KeyError``."""
    by_name = {f.name: var for f, var in declared()}
    return {by_name[k].env: _render(v) for k, v in values.items()}


def variables() -> frozenset[str]:
    """Every environment variable the server reads."""
    return frozenset([v.env for _, v in declared()] + [v.env for v in LOCATION_VARS])


def configuration_markdown() -> str:
    """docs/configuration.md: every variable, its type, default and meaning, by group."""
    types = _types()
    rows = [replace(v, kind=_kind(types[f.name])) for f, v in declared()]
    out = [
        "# Server configuration",
        "",
        "<!-- generated from server/config.py by `python -m server.config`; do not edit -->",
        "",
        "The API, scheduler and workers read these environment variables (the process",
        "environment wins over the `.env` file named by `--env-file` or `AUDIO_STYLE_ENV_FILE`).",
        "With none of `DB_URL`, `QUEUE_URL` and `S3_ENDPOINT` the server runs embedded (SQLite,",
        "local disk, in-process workers); `deploy/.env.example` configures the full stack.",
        "An empty value means unset (the default) unless the meaning says otherwise.",
    ]
    groups: dict[str, list[Var]] = {}
    for v in (*LOCATION_VARS, *rows):
        groups.setdefault(v.group, []).append(v)
    for group, vars_ in groups.items():
        out += [
            "",
            f"## {group}",
            "",
            "| Variable | Type | Default | Meaning |",
            "|---|---|---|---|",
        ]
        for v in vars_:
            plain = "`" in v.shown or " " in v.shown or v.shown in ("unset", "empty")
            shown = v.shown if plain else f"`{v.shown}`"
            out.append(f"| `{v.env}` | {v.kind} | {shown} | {v.doc} |")
    return "\n".join(out) + "\n"


DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"

if __name__ == "__main__":  # python -m server.config [--check]
    text = configuration_markdown()
    if "--check" in sys.argv[1:]:
        ok = DOC_PATH.exists() and DOC_PATH.read_text(encoding="utf-8") == text
        print("docs/configuration.md is " + ("up to date" if ok else "stale"), file=sys.stderr)
        sys.exit(0 if ok else 1)
    DOC_PATH.write_text(text, encoding="utf-8")
