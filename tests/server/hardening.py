"""Helpers of the hardening tests: API servers as child processes, a chunked flood over a raw
socket, the server's resident memory."""

from __future__ import annotations

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
