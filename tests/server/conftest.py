"""Fixtures of the server tests.

Service tests (PostgreSQL, RabbitMQ) skip when the services are unreachable, and fail instead
when ``REQUIRE_SERVICES=1``. Every session gets its own PostgreSQL database
(``audio_style_test_<random>``, dropped afterwards) and every test its own queue names, so
parallel runs do not collide. moto's S3 server runs in a thread of the test process.

Knobs: ``TEST_PG_URL`` (admin URL, default ``postgresql://postgres@127.0.0.1:5432/test``),
``TEST_AMQP_URL`` (default ``amqp://guest:guest@127.0.0.1:5672/%2F``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

COS_REGION = "ap-guangzhou"
os.environ.setdefault("MOTO_S3_CUSTOM_ENDPOINTS", f"http://cos.{COS_REGION}.myqcloud.com")

from server.config import Settings, env_for, load_settings, settings_env, variables  # noqa: E402

REQUIRE = os.environ.get("REQUIRE_SERVICES") == "1"
PG_ADMIN = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
AMQP = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
ROOT = Path(__file__).resolve().parents[2]
RUN_ID = secrets.token_hex(4)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``slow`` server tests (the 30-minute render) run only when asked for: ``-m slow`` or
    ``AUDIO_STYLE_SLOW=1``."""
    if "slow" in (config.getoption("-m") or "") or os.environ.get("AUDIO_STYLE_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow or AUDIO_STYLE_SLOW=1")
    for item in items:
        if "slow" in item.keywords and "tests/server/" in str(item.fspath):
            item.add_marker(skip)


def unavailable(what: str, err: object) -> None:
    """Skip (laptop) or fail (CI with REQUIRE_SERVICES=1)."""
    msg = f"{what} unavailable: {err!r}"
    if REQUIRE:
        pytest.fail(msg + " (REQUIRE_SERVICES=1)")
    pytest.skip(msg)


# --- audio ------------------------------------------------------------------------------------


def make_music(
    path: Path,
    seconds: float,
    *,
    sr: int = 44100,
    seed: int = 0,
    bright: float = 0.0,
    level: float = 0.2,
    subtype: str = "PCM_24",
    channels: int = 2,
) -> Path:
    """A short deterministic 'music-like' stereo signal: tones, noise, a slow envelope."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    tones = np.sum(
        [
            np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) / (k + 1)
            for k, f in enumerate((110, 220, 330, 440 * (1 + bright), 880))
        ],
        axis=0,
    )
    noise = rng.standard_normal((n, 2))
    if bright < 0:
        noise = np.cumsum(noise, axis=0)
        noise -= np.linspace(noise[0], noise[-1], n)
        noise /= np.max(np.abs(noise)) + 1e-9
    else:
        noise *= 0.3 + bright
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t) ** 2
    x = (0.5 * tones[:, None] * np.array([[1.0, 0.8]]) + 0.2 * noise) * env[:, None]
    x = level * x / (np.max(np.abs(x)) + 1e-9)
    sf.write(str(path), x[:, :channels], sr, subtype=subtype)
    return path


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("audio")
    make_music(d / "target.wav", 4.0, seed=1, level=0.15)
    make_music(d / "reference.wav", 4.0, seed=2, bright=0.6, level=0.6)
    make_music(d / "target2.flac", 3.0, seed=3, level=0.3, subtype="PCM_16", channels=1)
    # mono: the engine fits one EQ curve instead of two (half the time) — for fault tests
    make_music(d / "mono.wav", 2.0, seed=4, level=0.15, channels=1)
    make_music(d / "mono_ref.wav", 2.0, seed=5, bright=0.6, level=0.6, channels=1)
    return d


def length_bomb_wav(path: Path) -> Path:
    """A 1 KB WAV whose header claims a 4 GB data chunk (> 4 h at 8 kHz mono 8-bit)."""
    import struct

    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)
    data = b"\x80" * 1000
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", 0xFFFFFFF0) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", 0xFFFFFFF8) + body)
    return path


def peak_diff_dbfs(a: Path, b: Path) -> float:
    x, _ = sf.read(str(a), dtype="float64", always_2d=True)
    y, _ = sf.read(str(b), dtype="float64", always_2d=True)
    assert x.shape == y.shape, (x.shape, y.shape)
    d = float(np.max(np.abs(x - y))) if x.size else 0.0
    return 20 * np.log10(d) if d > 0 else -400.0


_local_cache: dict[tuple[str, str, str, str | None], Path] = {}


def codec_tp(path: Path, codec: str) -> float:
    """The true peak of ``path`` after ``codec``'s encode/decode, measured on the whole file
    (independent of the codec-safe search's streamed measurement)."""
    from engine.delivery import codec_true_peak_dbtp

    x, sr = sf.read(str(path), dtype="float64", always_2d=True)
    return codec_true_peak_dbtp(x, sr, codec)


def local_match(target: Path, reference: Path, out: Path, options: Any, fmt: str | None) -> Path:
    """The local engine's result for the same inputs (what the CLI produces); cached per
    session since the engine takes seconds per match."""
    import shutil

    from engine import pipeline as pl

    key = (str(target), str(reference), options.model_dump_json(), fmt)
    if key not in _local_cache:
        pl.drive(pl.match_files([target], [reference], [out], options, fmt=fmt, force=True))
        cached = Path(str(out) + ".cached")
        shutil.copyfile(out, cached)
        _local_cache[key] = cached
    elif not out.exists():
        shutil.copyfile(_local_cache[key], out)
    return out


# --- settings ---------------------------------------------------------------------------------

FAST = env_for(
    lease_s=3,
    heartbeat_s=0.5,
    scheduler_interval_s=0.3,
    republish_after_s=20,
    retry_base_s=0.2,
    retry_max_s=1,
    sandbox_mem_mb=3072,
    sandbox_timeout_s=120,
    jwt_secret="test-secret-" + "x" * 40,
    public_url="http://testserver",
)


def make_settings(data_dir: Path, **env: str) -> Settings:
    """Settings from ``FAST`` and ``env`` alone (never the process environment); every name in
    ``env`` must be a declared server variable (server.config)."""
    unknown = set(env) - variables()
    assert not unknown, f"not server settings: {sorted(unknown)}"
    return load_settings(data_dir, env={**FAST, **env}, persist_secret=False)


def child_env(settings: Settings, **extra_env: str) -> dict[str, str]:
    """The environment of a server child process: this process's environment without any
    server variable (a developer's ``DB_URL`` must not leak in), then ``settings``."""
    base = {k: v for k, v in os.environ.items() if k not in variables()}
    return {**base, **settings_env(settings), **extra_env}


# --- services ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session (dropped afterwards)."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except Exception as e:
        unavailable("PostgreSQL", e)
    name = f"audio_style_test_{RUN_ID}_{secrets.token_hex(3)}"  # one per fixture instance
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with contextlib.suppress(Exception):
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture(scope="session")
def amqp_url() -> str:
    try:
        import pika

        pika.BlockingConnection(pika.URLParameters(AMQP)).close()
    except Exception as e:
        unavailable("RabbitMQ", e)
    return AMQP


_queue_seq = iter(range(1, 10**6))


@pytest.fixture
def queue_name(amqp_url: str) -> Iterator[str]:
    """Unique queue names for one test; queues deleted afterwards."""
    name = f"as_test_{RUN_ID}_{next(_queue_seq)}"
    yield name
    from server.queue.rabbitmq import RabbitQueue

    with contextlib.suppress(Exception):
        RabbitQueue(amqp_url, name).delete_all()


class MotoServer:
    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import create_backend_app
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.app = create_backend_app("s3")
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    m = MotoServer()
    yield m
    m.close()


def s3_env(moto: MotoServer, prefix: str) -> dict[str, str]:
    """Settings environment for S3 storage on moto with per-test bucket names."""
    return {
        "S3_ENDPOINT": moto.url,
        "S3_ACCESS_KEY": "testing",
        "S3_SECRET_KEY": "testing",
        "S3_REGION": "us-east-1",
        "S3_BUCKET_AUDIO": f"{prefix}-audio",
        "S3_BUCKET_PRESET": f"{prefix}-preset",
        "S3_BUCKET_VIZ": f"{prefix}-viz",
    }


def cos_env(moto: MotoServer, prefix: str) -> dict[str, str]:
    """Settings environment for COS storage (the COS SDK) on moto."""
    appid = "1250000000"
    return {
        "S3_ENDPOINT": f"http://cos.{COS_REGION}.myqcloud.com",
        "S3_ACCESS_KEY": "AKIDtesting",
        "S3_SECRET_KEY": "testing",
        "COS_IP": "127.0.0.1",
        "COS_PORT": str(moto.port),
        "COS_SCHEME": "http",
        "S3_BUCKET_AUDIO": f"{prefix}-audio-{appid}",
        "S3_BUCKET_PRESET": f"{prefix}-preset-{appid}",
        "S3_BUCKET_VIZ": f"{prefix}-viz-{appid}",
    }


# --- processes --------------------------------------------------------------------------------


class Proc:
    """A server subcommand in a child process (``python -m server ...``)."""

    def __init__(self, args: list[str], settings: Settings, log: Path, **extra_env: str) -> None:
        env = child_env(settings, **extra_env)
        env.pop("REQUIRE_SERVICES", None)
        env["PYTHONPATH"] = str(ROOT)
        self.log = log
        self._out = open(log, "ab")  # noqa: SIM115 (closed in stop())
        self.p = subprocess.Popen(
            [sys.executable, "-m", "server", *args],
            cwd=ROOT,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill9(self) -> None:
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.p.pid, signal.SIGKILL)
        self.p.wait()

    def stop(self, timeout: float = 20) -> None:
        import signal

        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        self._out.close()

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def wait_for(pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# --- an in-process stack ------------------------------------------------------------------------

PASSWORD = "correct horse battery"


def add_user(db: Any, name: str, password: str = PASSWORD) -> str:
    from server.auth import create_user

    with db.session() as s:
        return str(create_user(s, name, password).id)


class Stack:
    """API (TestClient) + background loops over one Core; ``api(name)`` logs a user in."""

    def __init__(self, settings: Settings, *, workers: int | None = None) -> None:
        from fastapi.testclient import TestClient

        from server.api import create_app
        from server.stack import api_services, core

        self.settings = settings
        self.core = core(settings)
        self.services = api_services(self.core, embedded_workers=workers)
        self.app = create_app(self.services)
        self.client = TestClient(self.app)
        self.client.__enter__()
        self.users: dict[str, str] = {}
        self.logins: dict[str, str] = {}

    def api(self, name: str) -> Any:
        """A logged-in client for user ``name`` (unique per stack: the PostgreSQL database
        is shared by the session's tests)."""
        from tests.server.client import Api

        if name not in self.users:
            self.logins[name] = f"{name}-{secrets.token_hex(3)}"
            self.users[name] = add_user(self.core.db, self.logins[name])
        a = Api(self.client, cos_port=self.settings.cos_port)
        a.login(self.logins[name], PASSWORD)
        return a

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.core.db.dispose()


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Stack]:
    """Embedded mode: SQLite, local storage, in-process queue, scheduler and one worker."""
    st = Stack(make_settings(tmp_path / "data"))
    yield st
    st.close()


@pytest.fixture
def embedded_idle(tmp_path: Path) -> Iterator[Stack]:
    """Embedded mode without workers (jobs stay queued)."""
    st = Stack(make_settings(tmp_path / "data"), workers=0)
    yield st
    st.close()


class FullStack(Stack):
    """PostgreSQL + RabbitMQ + (moto) S3: the API in-process (outbox relay included), the
    scheduler on a thread, workers as child processes (``python -m server worker``)."""

    def __init__(
        self, settings: Settings, tmp: Path, workers: int = 1, *, shared_data: bool = False
    ) -> None:
        from server.scheduler.service import Scheduler

        super().__init__(settings)
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.shared_data = shared_data  # local storage: every process shares the data dir
        self.stop = threading.Event()
        self.scheduler = Scheduler(settings, self.core.db, self.core.queue)
        self.sched_thread = threading.Thread(
            target=self.scheduler.run, args=(self.stop,), daemon=True
        )
        self.sched_thread.start()
        self.procs: list[Proc] = []
        for _ in range(workers):
            self.start_worker()

    def start_worker(self) -> Proc:
        i = len(self.procs)
        data = self.settings.data_dir if self.shared_data else self.tmp / f"worker{i}"
        p = Proc(
            ["worker", "--data-dir", str(data), "--worker-id", f"w{i}"],
            self.settings,
            self.tmp / f"worker{i}.log",
        )
        self.procs.append(p)
        return p

    def close(self) -> None:
        from sqlalchemy import update

        from server.db.models import Job, Task

        for p in self.procs:
            p.stop()
        self.stop.set()
        self.sched_thread.join(timeout=10)
        with self.core.db.session() as s:  # leave nothing for the next test's sweeps
            s.execute(
                update(Task).where(Task.state.in_(("queued", "running"))).values(state="canceled")
            )
            s.execute(
                update(Job).where(Job.state.in_(("queued", "running"))).values(state="canceled")
            )
        super().close()


_bucket_seq = iter(range(1, 10**6))


def bucket_prefix() -> str:
    return f"as{RUN_ID}{next(_bucket_seq)}"


@pytest.fixture
def full_stack(
    pg_url: str, amqp_url: str, queue_name: str, moto: MotoServer, tmp_path: Path
) -> Iterator[FullStack]:
    env = {
        "DB_URL": pg_url,
        "QUEUE_URL": amqp_url,
        "QUEUE_NAME": queue_name,
        **s3_env(moto, bucket_prefix()),
    }
    st = FullStack(make_settings(tmp_path / "api", **env), tmp_path)
    yield st
    st.close()
