"""Helpers of the hardening tests: API servers as child processes, a chunked flood over a raw
socket, the server's resident memory."""

from __future__ import annotations

import re
import select
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from server.config import Settings
from tests.server.conftest import Proc, wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiServer:
    """``audio-style server`` in a child process on a free port (real HTTP)."""

    def __init__(self, settings: Settings, log: Path, *args: str, **env: str) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = ["server", "--host", "127.0.0.1", "--port", str(self.port), *args]
        cmd += ["--data-dir", str(settings.data_dir)]
        self.proc = Proc(cmd, settings, log, PUBLIC_URL=self.url, **env)

        def up() -> bool:
            if self.proc.p.poll() is not None:
                raise AssertionError(f"server exited:\n{self.proc.tail()}")
            try:
                return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 60, "the API server")

    @property
    def pid(self) -> int:
        return self.proc.p.pid

    def stop(self) -> None:
        self.proc.stop()


def rss_peak_bytes(pid: int) -> int:
    """The process's peak resident set (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@dataclass
class Flood:
    status: int | None  # the answer's status (None: no answer)
    sent: int  # body bytes sent before the answer came


def chunked_flood(
    port: int,
    method: str,
    path: str,
    total: int = 1 << 30,
    chunk: int = 1 << 16,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Flood:
    """Send up to ``total`` bytes as a chunked body (no Content-Length), stopping as soon as
    the server answers; the status of that answer."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
    for k, v in ({"Content-Type": "application/json"} | (headers or {})).items():
        head += f"{k}: {v}\r\n"
    piece = b"%x\r\n" % chunk + b"a" * chunk + b"\r\n"
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(head.encode("latin-1") + b"\r\n")
    s.setblocking(False)
    sent = 0
    pending = memoryview(piece)
    answer = b""
    ended = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([s], [s] if pending else [], [], 1.0)
            if readable:
                try:
                    data = s.recv(65536)
                except ConnectionResetError:
                    break
                if not data:
                    break
                answer += data
                if b"\r\n" in answer:
                    break
                continue
            if writable:
                try:
                    n = s.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    break
                pending = pending[n:]
                if not pending and not ended:
                    sent += chunk
                    ended = sent >= total
                    pending = memoryview(b"0\r\n\r\n" if ended else piece)
    finally:
        s.close()
    status = None
    if answer.startswith(b"HTTP/1.1 "):
        status = int(answer[9:12])
    return Flood(status, sent)


NGINX = Path("/usr/sbin/nginx")
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nginx"


def nginx_conf(api_port: int, listen_port: int, tmp: Path) -> str:
    """The compose nginx config (deploy/nginx) for a test: plain HTTP on ``listen_port``
    instead of TLS, the API upstream on 127.0.0.1, paths under ``tmp``. nginx's own
    ``limit_req`` is left out: the tests look at the API's throttle behind it."""
    conf = (DEPLOY / "templates" / "default.conf.template").read_text(encoding="utf-8")
    conf = conf.replace("server api:8080;", f"server 127.0.0.1:{api_port};")
    conf = conf.replace("server minio:9000;", "server 127.0.0.1:9;")
    conf = conf.replace("${PUBLIC_HOST}", "api.test").replace("${S3_PUBLIC_HOST}", "s3.test")
    conf = conf.replace("/etc/nginx/snippets/proxy.conf", str(DEPLOY / "snippets" / "proxy.conf"))
    conf = re.sub(r"\nserver \{\n    listen 80 .*?\n\}\n", "\n", conf, count=1, flags=re.S)
    out = []
    for line in conf.splitlines():
        t = line.strip()
        if t.startswith(("http2 ", "include /etc/nginx/snippets/tls.conf", "listen [::]")):
            continue
        if t.startswith(("limit_req ", "limit_req_zone ")):
            continue
        if t == "listen 443 ssl;":
            line = f"    listen 127.0.0.1:{listen_port};"
        out.append(line)
    body = "\n".join(out)
    assert "listen 80" not in body
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / d).mkdir(parents=True, exist_ok=True)
    return f"""
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{body}
}}
"""


class Nginx:
    """Debian's nginx as this user's process in front of an API server."""

    def __init__(self, api_port: int, tmp: Path) -> None:
        import subprocess

        tmp.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (tmp / "nginx.conf").write_text(nginx_conf(api_port, self.port, tmp), encoding="utf-8")
        cmd = [str(NGINX), "-p", str(tmp), "-e", str(tmp / "error.log"), "-c"]
        cmd += [str(tmp / "nginx.conf"), "-g", "daemon off;"]
        self.log = tmp / "error.log"
        self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

        def up() -> bool:
            if self.p.poll() is not None:
                raise AssertionError(f"nginx exited: {self.log.read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                return False

        wait_for(up, 20, "nginx")

    def stop(self) -> None:
        self.p.terminate()
        self.p.wait(10)
