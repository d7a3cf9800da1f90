"""Virus scanning of a task's inputs through ClamAV's daemon (``clamd``, Debian
``clamav-daemon``), before the engine opens them.

Off unless ``CLAMD_SOCKET`` names the daemon (``unix:///run/clamav/clamd.ctl``, a plain socket
path, or ``tcp://host:3310``). Each input is streamed with ``INSTREAM`` (``z``-terminated
commands; chunks prefixed with their 4-byte big-endian length, a zero length ends the stream),
so clamd needs no access to the worker's files. Fail-closed: an input clamd names a signature
for fails its job for good (``E515``, the user's file name and the signature); an input that
cannot be scanned — clamd down, a timeout, an error answer such as clamd's ``StreamMaxLength``
(set it to at least ``MAX_UPLOAD_BYTES``) — fails the task for now (``E516``): it is retried
with back-off like any transient failure, so jobs wait for the scanner and never run unscanned.
Verdicts of clean files are remembered per (path, size, mtime) of the worker's input cache.
"""

from __future__ import annotations

import logging
import socket
import struct
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)
CHUNK = 1 << 20


class ScanUnavailable(Exception):
    """The input could not be scanned (the job must not run yet)."""


class Infected(Exception):
    """clamd found ``signature`` in the input."""

    def __init__(self, signature: str) -> None:
        super().__init__(signature)
        self.signature = signature


class Clamd:
    """A clamd client for ``address`` (see the module docstring)."""

    def __init__(self, address: str, timeout_s: float = 30.0) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self._clean: set[tuple[str, int, int]] = set()

    def _connect(self) -> socket.socket:
        u = urlsplit(self.address)
        try:
            if u.scheme == "tcp":
                return socket.create_connection((u.hostname or "", u.port or 3310), self.timeout_s)
            path = u.path if u.scheme == "unix" else self.address
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(self.timeout_s)
            s.connect(path)
            return s
        except OSError as e:
            raise ScanUnavailable(f"clamd at {self.address}: {e}") from e

    def _ask(self, command: bytes, body: Path | None = None) -> str:
        with self._connect() as s:
            try:
                s.sendall(b"z" + command + b"\0")
                if body is not None:
                    with body.open("rb") as f:
                        while chunk := f.read(CHUNK):
                            s.sendall(struct.pack(">I", len(chunk)) + chunk)
                    s.sendall(struct.pack(">I", 0))
                answer = b""
                while not answer.endswith(b"\0"):
                    data = s.recv(4096)
                    if not data:
                        break
                    answer += data
            except OSError as e:  # includes timeouts and clamd closing on a size limit
                raise ScanUnavailable(f"clamd at {self.address}: {e}") from e
        return answer.rstrip(b"\0").decode("utf-8", "replace").strip()

    def ping(self) -> bool:
        try:
            return self._ask(b"PING") == "PONG"
        except ScanUnavailable:
            return False

    def scan(self, path: Path) -> None:
        """Return when ``path`` is clean; :class:`Infected` or :class:`ScanUnavailable`."""
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key in self._clean:
            return
        answer = self._ask(b"INSTREAM", path)
        verdict = answer.split(":", 1)[1].strip() if ":" in answer else answer
        if verdict == "OK":
            self._clean.add(key)
            return
        if verdict.endswith(" FOUND"):
            raise Infected(verdict[: -len(" FOUND")].strip())
        raise ScanUnavailable(f"clamd answered {answer[:200]!r}")


def scanner_for(address: str, timeout_s: float) -> Clamd | None:
    """The scanner of ``CLAMD_SOCKET`` (None: scanning off)."""
    return Clamd(address, timeout_s) if address.strip() else None
