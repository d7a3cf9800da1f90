"""Fixtures of the web console's browser tests: Debian's chromium driven by Playwright.

Without chromium, Playwright or a built console (``make setup`` with npm) the tests skip on a
laptop and fail in CI (``REQUIRE_SERVICES=1``), like the service tests. Playwright never
downloads a browser here: it launches ``/usr/bin/chromium`` (``CHROMIUM`` to override).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.cloud.conftest import (  # noqa: F401 (fixtures re-exported for this directory)
    MotoStorage,
    bound_socket,
    moto_s3sts,
    s3_env,
    served,
)
from tests.server.conftest import (  # noqa: F401
    PASSWORD,
    ROOT,
    amqp_url,
    bucket_prefix,
    make_music,
    pg_url,
    queue_name,
    unavailable,
)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
DIST = ROOT / "frontend" / "dist"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the session."""
    if not Path(CHROMIUM).is_file():
        unavailable("chromium", f"{CHROMIUM} missing (apt-get install chromium)")
    if not (DIST / "index.html").is_file():
        unavailable("the built web console", f"{DIST} (make setup with npm)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        unavailable("playwright", e)
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
    except Exception as e:
        pw.stop()
        unavailable("chromium", e)
    yield b
    b.close()
    pw.stop()


@dataclass
class Tab:
    """A page in its own browser context, recording what a security test needs to see."""

    page: Any
    base: str
    allowed_origins: set[str]
    console: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def sign_in(self, name: str, password: str = PASSWORD) -> None:
        p = self.page
        p.fill("input[name=username]", name)
        p.fill("input[name=password]", password)
        p.click("[data-testid=signin-form] button[type=submit]")

    def signed_in(self, name: str, path: str = "/console/jobs") -> None:
        self.goto(path)
        self.sign_in(name)
        self.page.wait_for_selector("[data-testid=who]")

    def csp_violations(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m]

    def foreign_requests(self) -> list[str]:
        def origin(u: str) -> str:
            s = urlsplit(u)
            return f"{s.scheme}://{s.netloc}"

        return [
            u
            for u in self.requests
            if not u.startswith(("data:", "blob:")) and origin(u) not in self.allowed_origins
        ]


@pytest.fixture
def tab(browser: Any) -> Iterator[Callable[..., Tab]]:
    """``tab(base_url, lang="en")``: a fresh page (own cookies/storage) in that language."""
    contexts: list[Any] = []

    def make(base: str, lang: str = "en", *, storage: str | None = None) -> Tab:
        locale = "zh-CN" if lang == "zh" else "en-US"
        ctx = browser.new_context(
            locale=locale,
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
            extra_http_headers={"Accept-Language": locale},
        )
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(90_000)  # a loaded CI machine: uploads, sign-in hashing
        allowed = {base} | ({storage} if storage else set())
        t = Tab(page, base, allowed)
        page.on("console", lambda m: t.console.append(m.text))
        page.on("pageerror", lambda e: t.console.append(f"pageerror: {e}"))
        page.on("request", lambda r: t.requests.append(r.url))

        def on_dialog(d: Any) -> None:
            t.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)
        return t

    yield make
    for c in contexts:
        with contextlib.suppress(Exception):
            c.close()


# --- the embedded server as users run it: `audio-style server` -------------------------------


@dataclass
class CliServer:
    url: str
    data: Path
    proc: subprocess.Popen[bytes]
    log: Path
    users: dict[str, str] = field(default_factory=dict)

    def user(self, name: str) -> str:
        """Create (once) a login for ``name`` with ``audio-style users add``."""
        if name not in self.users:
            login = f"{name}-{secrets.token_hex(3)}"
            add_cli_user(self.data, login)
            self.users[name] = login
        return self.users[name]


def cli() -> list[str]:
    exe = Path(sys.executable).with_name("audio-style")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "engine.cli"]


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REQUIRE_SERVICES"}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def add_cli_user(data: Path, login: str) -> None:
    subprocess.run(
        [*cli(), "users", "add", login, "--password-stdin", "--data-dir", str(data)],
        input=PASSWORD.encode(),
        env=cli_env(),
        check=True,
        capture_output=True,
    )


@contextlib.contextmanager
def cli_server(tmp: Path, **env: str) -> Iterator[CliServer]:
    """``audio-style server`` on a free loopback port (embedded: SQLite, local disk, one
    in-process worker)."""
    sock = bound_socket()
    port = sock.getsockname()[1]
    sock.close()
    url = f"http://127.0.0.1:{port}"
    data, log = tmp / "server-data", tmp / "server.log"
    out = open(log, "ab")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [*cli(), "server", "--port", str(port), "--data-dir", str(data)],
        env=cli_env(PUBLIC_URL=url, **env),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("audio-style server did not start:\n" + log.read_text())
            time.sleep(0.2)
        yield CliServer(url, data, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()


@pytest.fixture(scope="session")
def songs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30 s target and a 30 s reference (deterministic 'music')."""
    d = tmp_path_factory.mktemp("console-audio")
    make_music(d / "target.wav", 30.0, seed=11, level=0.15)
    make_music(d / "reference.wav", 30.0, seed=12, bright=0.6, level=0.6)
    return d
