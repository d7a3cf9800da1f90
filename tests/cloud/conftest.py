"""Fixtures of the cloud client tests: real servers over real TCP.

- ``served(...)``: a server stack (``tests.server.conftest.Stack`` / ``FullStack``) served by
  uvicorn on a loopback port in a thread (the stack's own TestClient already runs its
  background loops, so uvicorn runs with ``lifespan="off"``).
- ``FaultyStorage``: WSGI middleware in front of moto that counts every request carrying file
  data and drops connections (socket shut down, nothing read) to simulate a network cut;
  the cut lasts until the client comes back asking what is stored (ListParts /
  ListMultipartUploads), so it always costs the client one resume round.
- ``moto_s3sts``: moto's multi-service dispatcher (S3 + STS AssumeRole) behind that middleware.
- ``moto_cos``: moto's S3 app behind it, reached as ``<bucket>.cos.<region>.myqcloud.com``
  by the COS SDK (``MOTO_S3_CUSTOM_ENDPOINTS``, set by tests.server.conftest).
- ``fake_tencent_sts``: a tiny Tencent Cloud STS (GetFederationToken) answering fresh random
  temporary keys, so ``COS_STS_ENABLED`` works offline.
- ``cloud_home``: a private config directory, TMPDIR and "no OS keyring" for the client.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import numpy as np
import pytest
import soundfile as sf

from tests.server.conftest import (  # noqa: F401 (fixtures re-exported for this directory)
    COS_REGION,
    PASSWORD,
    FullStack,
    Stack,
    add_user,
    amqp_url,
    bucket_prefix,
    make_music,
    make_settings,
    pg_url,
    queue_name,
)

log = logging.getLogger(__name__)


# --- audio ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def cloud_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cloud-audio")
    make_music(d / "song.wav", 4.0, seed=1, level=0.15)
    make_music(d / "ref.wav", 4.0, seed=2, bright=0.6, level=0.6)
    # short mono pairs: the engine fits one EQ curve instead of two (the cheapest real job)
    for name, seed, bright, level in (("mono", 3, 0.0, 0.15), ("mono_ref", 4, 0.6, 0.6)):
        make_music(d / f"{name}.wav", 2.5, seed=seed, bright=bright, level=level)
        x, sr = sf.read(str(d / f"{name}.wav"), always_2d=True)
        sf.write(str(d / f"{name}.wav"), x.mean(axis=1), sr, subtype="PCM_24")
    # ~5.3 MiB of noise (30 s, 16-bit stereo 44.1 kHz): six parts of 1 MiB
    rng = np.random.default_rng(7)
    x = 0.1 * rng.standard_normal((30 * 44100, 2))
    sf.write(str(d / "long.wav"), x, 44100, subtype="PCM_16")
    return d


# --- the client's home ---------------------------------------------------------------------------


@dataclass
class CloudHome:
    config: Path
    tmp: Path

    def files(self) -> list[Path]:
        """Every file the client could have written (config dir, temp dir) except the one
        place a refresh token may live: the 0600 ``refresh-token`` file."""
        out = []
        for base in (self.config, self.tmp):
            if base.exists():
                out += [p for p in base.rglob("*") if p.is_file() and p.name != "refresh-token"]
        return out


@pytest.fixture
def cloud_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudHome]:
    """Config dir + TMPDIR under tmp_path; keyring without a backend (headless Linux)."""
    import keyring
    from keyring.backends import fail

    home = CloudHome(tmp_path / "config", tmp_path / "tmp")
    home.tmp.mkdir()
    monkeypatch.setenv("AUDIO_STYLE_CONFIG_DIR", str(home.config))
    monkeypatch.setenv("TMPDIR", str(home.tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(home.tmp))
    monkeypatch.setenv("AUDIO_STYLE_LANG", "en")
    old = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    try:
        yield home
    finally:
        keyring.set_keyring(old)


def memory_keyring() -> Any:
    """An in-memory keyring backend (stands in for Keychain / Credential Manager); its
    ``items`` dict holds ``{(service, account): secret}``."""
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 10

        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            self.items: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.items.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.items[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.items.pop((service, username), None)

    return MemoryKeyring()


# --- the CLI, in process -------------------------------------------------------------------------


@dataclass
class CliResult:
    rc: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str, stdin: str | None = None) -> CliResult:
    """``audio-style ARGS`` through ``engine.cli.main`` in this process."""
    from engine.cli import main
    from engine.schema.i18n import set_language

    capsys.readouterr()
    t0 = time.monotonic()
    old = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        rc = main(list(args))
    finally:
        sys.stdin = old
        set_language(None)
    cap = capsys.readouterr()
    if os.environ.get("AUDIO_STYLE_TEST_TIMES"):
        report(capsys, f"{' '.join(args[:2])}: {time.monotonic() - t0:.2f} s")
    return CliResult(rc, cap.out, cap.err)


# --- serving a stack over TCP --------------------------------------------------------------------


def bound_socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    return s


class Uvicorn:
    """An ASGI app served on a pre-bound socket in a thread."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        import uvicorn

        self.sock = sock
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        with contextlib.suppress(OSError):
            self.sock.close()


@dataclass
class Served:
    """A stack and the URL it answers on; ``user(name)`` creates an account."""

    stack: Stack
    http: Uvicorn
    users: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.http.url

    def user(self, name: str) -> str:
        """Create (once) a unique login for ``name``; returns the login name."""
        if name not in self.users:
            login = f"{name}-{secrets.token_hex(3)}"
            add_user(self.stack.core.db, login)
            self.users[name] = login
        return self.users[name]


@contextlib.contextmanager
def served(
    tmp: Path, *, workers: int | None = None, full: bool = False, **env: str
) -> Iterator[Served]:
    """A stack (embedded unless ``env`` configures services) with PUBLIC_URL = its address."""
    sock = bound_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = make_settings(tmp / "server", PUBLIC_URL=url, **env)
    stack: Stack = FullStack(settings, tmp) if full else Stack(settings, workers=workers)
    try:
        http = Uvicorn(stack.app, sock)
    except BaseException:
        stack.close()
        raise
    try:
        yield Served(stack, http)
    finally:
        http.close()
        stack.close()


# --- storage with faults -------------------------------------------------------------------------


@dataclass
class DataRequest:
    method: str
    path: str
    part: int | None
    outcome: str  # "dropped" or the HTTP status


class FaultyStorage:
    """WSGI middleware: records requests carrying file data; ``cut_at_part(n)`` drops the
    connection of every part upload from the first upload of part ``n`` on, until the client
    asks the storage what it holds (ListParts / ListMultipartUploads)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.data: list[DataRequest] = []
        self.listings = 0
        self._cut_part: int | None = None
        self._cutting = False

    def cut_at_part(self, n: int | None) -> None:
        with self.lock:
            self._cut_part, self._cutting = n, False

    def reset(self) -> None:
        with self.lock:
            self.data.clear()
            self.listings = 0
            self._cut_part, self._cutting = None, False

    def successes(self, key: str) -> dict[int, int]:
        """{part number: successful uploads of it} for the object ``key``."""
        out: dict[int, int] = {}
        for d in self.data:
            if d.part is not None and d.outcome.startswith("2") and d.path.endswith(key):
                out[d.part] = out.get(d.part, 0) + 1
        return out

    def dropped(self) -> list[int]:
        return [d.part or 0 for d in self.data if d.outcome == "dropped"]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = environ["REQUEST_METHOD"]
        q = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        part = int(q["partNumber"][0]) if "partNumber" in q else None
        listing = method == "GET" and ("uploadId" in q or "uploads" in q)
        carries_data = method == "PUT" and (part is not None or "uploadId" not in q)
        with self.lock:
            if listing:
                self.listings += 1
                if self._cutting:  # the client came back to resume: the cut is over
                    self._cutting = False
                    self._cut_part = None
            drop = False
            if carries_data and part is not None and self._cut_part is not None:
                if part == self._cut_part:
                    self._cutting = True
                drop = self._cutting
            if drop:
                self.data.append(DataRequest(method, environ["PATH_INFO"], part, "dropped"))
        if drop:
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            raise ConnectionAbortedError("connection cut by the test")
        if not carries_data:
            return self.app(environ, start_response)
        status: list[str] = []

        def sr(st: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(st)
            return start_response(st, headers, exc_info)

        result = self.app(environ, sr)
        with self.lock:
            self.data.append(
                DataRequest(method, environ["PATH_INFO"], part, (status or ["?"])[0][:3])
            )
        return result


class MotoStorage:
    def __init__(self, app: Any, *, dispatcher: bool) -> None:
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.faults = FaultyStorage(app)
        kw: dict[str, Any] = {"request_handler": MotoRequestHandler} if dispatcher else {}
        self.server = make_server("127.0.0.1", 0, self.faults, threaded=True, **kw)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="session")
def moto_s3sts() -> Iterator[MotoStorage]:
    """S3 + STS (AssumeRole) on one port: moto's domain dispatcher."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    m = MotoStorage(DomainDispatcherApplication(create_backend_app), dispatcher=True)
    yield m
    m.close()


@pytest.fixture(scope="session")
def moto_cos() -> Iterator[MotoStorage]:
    """moto's S3 app standing in for COS (virtual-host buckets under myqcloud.com)."""
    from moto.moto_server.werkzeug_app import create_backend_app

    m = MotoStorage(create_backend_app("s3"), dispatcher=False)
    yield m
    m.close()


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> int:
    """moto accepts 256 KiB parts (S3 needs 5 MiB): multipart with a few MiB of audio."""
    import moto.s3.models

    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 256 * 1024)
    return 1024 * 1024


def s3_env(m: MotoStorage, prefix: str, *, sts: bool = True) -> dict[str, str]:
    return {
        "S3_ENDPOINT": m.url,
        "S3_ACCESS_KEY": "testing",
        "S3_SECRET_KEY": "testing",
        "S3_REGION": "us-east-1",
        "S3_BUCKET_AUDIO": f"{prefix}-audio",
        "S3_BUCKET_PRESET": f"{prefix}-preset",
        "S3_BUCKET_VIZ": f"{prefix}-viz",
        "S3_STS_ENABLED": "1" if sts else "0",
    }


# --- a fake Tencent Cloud STS ----------------------------------------------------------------------


class FakeTencentSts:
    """Answers ``GetFederationToken`` with fresh random temporary keys (remembered in
    ``issued`` so tests can grep for them)."""

    def __init__(self) -> None:
        self.issued: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                n = int(self.headers.get("content-length") or 0)
                self.rfile.read(n)
                creds = {
                    "TmpSecretId": "AKIDtmp" + secrets.token_hex(8),
                    "TmpSecretKey": "tmpsecret-" + secrets.token_hex(16),
                    "Token": "tmptoken-" + secrets.token_hex(24),
                }
                outer.issued.append(creds)
                body = json.dumps(
                    {
                        "Response": {
                            "Credentials": creds,
                            "ExpiredTime": int(time.time()) + 1800,
                            "RequestId": secrets.token_hex(8),
                        }
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="session")
def fake_tencent_sts() -> Iterator[FakeTencentSts]:
    s = FakeTencentSts()
    yield s
    s.close()


def cos_env(m: MotoStorage, sts: FakeTencentSts, prefix: str) -> dict[str, str]:
    appid = "1250000000"
    return {
        "S3_ENDPOINT": f"http://cos.{COS_REGION}.myqcloud.com",
        "S3_ACCESS_KEY": "AKIDtesting",
        "S3_SECRET_KEY": "testing",
        "COS_IP": "127.0.0.1",
        "COS_PORT": str(m.port),
        "COS_SCHEME": "http",
        "COS_APPID": appid,
        "COS_STS_ENABLED": "1",
        "COS_STS_ENDPOINT": sts.url,
        "S3_BUCKET_AUDIO": f"{prefix}-audio-{appid}",
        "S3_BUCKET_PRESET": f"{prefix}-preset-{appid}",
        "S3_BUCKET_VIZ": f"{prefix}-viz-{appid}",
    }


# --- secrets hygiene -------------------------------------------------------------------------------


def assert_no_secrets(secrets_: list[str], *, logs: str, files: list[Path]) -> None:
    """None of ``secrets_`` in the captured logs or in any of ``files``."""
    assert secrets_, "nothing to look for"
    for s in secrets_:
        assert len(s) >= 16, s
        assert s not in logs, "a secret appears in the logs"
        for f in files:
            data = f.read_bytes()
            assert s.encode() not in data, f"a secret appears in {f}"


@pytest.fixture
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI polls jobs every 0.3-1 s instead of 1-10 s (tests wait less for the end)."""
    import functools

    import cloud.client

    monkeypatch.setattr(
        cloud.client, "PollPolicy", functools.partial(cloud.client.PollPolicy, 0.3, 1.5, 1.0)
    )


@pytest.fixture
def token_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every access and refresh token the client receives."""
    from cloud.client import CloudClient

    seen: list[str] = []
    orig = CloudClient._accept_tokens

    def spy(self: CloudClient, tr: Any) -> None:
        seen.extend([tr.access_token, tr.refresh_token])
        orig(self, tr)

    monkeypatch.setattr(CloudClient, "_accept_tokens", spy)
    return seen


@pytest.fixture
def sts_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The secret parts of every temporary storage credential the client receives."""
    from cloud.client import CloudClient

    seen: list[str] = []

    def wrap(name: str) -> None:
        orig = getattr(CloudClient, name)

        def spy(self: CloudClient, arg: Any) -> Any:
            g = orig(self, arg)
            if g.credentials is not None:
                seen.extend([g.credentials.secret_access_key, g.credentials.session_token])
            return g

        monkeypatch.setattr(CloudClient, name, spy)

    wrap("_grant")
    wrap("_renew")
    return seen


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    """A measured figure, printed past the capture (visible with ``pytest -s``)."""
    with capsys.disabled():
        print(f"\n  [cloud] {line}")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")
