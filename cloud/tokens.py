"""Where the refresh token is kept between runs.

The OS keyring (``keyring``: Keychain, Windows Credential Manager, Secret Service/KWallet) when
one exists. Where none does (headless Linux: keyring's ``fail``/``null`` backends, or a keyring
that refuses to store), the client says so once and keeps the token in ``refresh-token`` in its
config directory, created 0600 (user read/write only). The access token and temporary storage
credentials are never stored.

Refresh tokens rotate: every refresh returns a new one and spends the old one, and the server
revokes the whole session when a spent token comes back. :func:`refresh_lock` serialises
refreshes of several processes (two CLI commands at once) so that none of them sends a token
another one already spent: take the lock, re-read the store, refresh, store, release.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from cloud.config import ensure_private_dir, write_private
from cloud.texts import T

log = logging.getLogger(__name__)
SERVICE = "audio-style"
TOKEN_FILE = "refresh-token"
LOCK_FILE = "refresh.lock"
# Windows Credential Manager caps a secret at 2560 bytes; our tokens are ~80 characters.
MAX_KEYRING_SECRET = 2560

Notice = Callable[[str], None]


class TokenStore(Protocol):
    """Keeps one refresh token for one account."""

    @property
    def where(self) -> str: ...

    def get(self) -> str | None: ...

    def set(self, token: str) -> None: ...

    def delete(self) -> None: ...


def account_name(server: str, username: str) -> str:
    """The keyring account of a login: ``name@server``."""
    return f"{username}@{server}"


def keyring_usable() -> bool:
    """True when ``keyring`` has a real backend (not the ``fail``/``null`` placeholders)."""
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:
        return False
    try:
        kr = keyring.get_keyring()
    except Exception:  # a broken backend configuration
        return False
    if isinstance(kr, (fail.Keyring, null.Keyring)):
        return False
    backends = getattr(kr, "backends", None)  # the chainer: usable if it chains something
    if backends is not None:
        return bool(backends)
    try:
        return float(getattr(kr, "priority", 1)) > 0
    except Exception:
        return True


class KeyringStore:
    """The OS keyring."""

    where = "keyring"

    def __init__(self, account: str) -> None:
        self.account = account

    def get(self) -> str | None:
        import keyring

        try:
            v = keyring.get_password(SERVICE, self.account)
        except Exception as e:  # a locked or broken keyring reads as "no session"
            log.warning("keyring read failed: %s", type(e).__name__)
            return None
        return v or None

    def set(self, token: str) -> None:
        import keyring

        if len(token.encode()) > MAX_KEYRING_SECRET:
            raise ValueError("token too long for the keyring")
        keyring.set_password(SERVICE, self.account, token)

    def delete(self) -> None:
        import keyring

        with contextlib.suppress(Exception):
            keyring.delete_password(SERVICE, self.account)


class FileStore:
    """``refresh-token`` (JSON: account and token) in the config directory, mode 0600."""

    where = "file"

    def __init__(self, directory: Path, account: str, notice: Notice | None = None) -> None:
        self.path = directory / TOKEN_FILE
        self.account = account
        self.notice = notice

    def get(self) -> str | None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(raw, dict) or raw.get("account") != self.account:
            return None
        token = raw.get("refresh_token")
        return str(token) if token else None

    def set(self, token: str) -> None:
        first = not self.path.exists()
        body = json.dumps({"account": self.account, "refresh_token": token}) + "\n"
        write_private(self.path, body.encode())
        if first:
            # said once: when the file is created (at login), not on every rotation
            msg = T("no_keyring", path=str(self.path))
            if self.notice is not None:
                self.notice(msg)
            else:
                log.warning("%s", msg)

    def delete(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class FallbackStore:
    """The keyring, falling back to the 0600 file when the keyring refuses to store."""

    def __init__(self, directory: Path, account: str, notice: Notice | None = None) -> None:
        self.file = FileStore(directory, account, notice)
        self.keyring: KeyringStore | None = KeyringStore(account) if keyring_usable() else None

    @property
    def where(self) -> str:
        return self.keyring.where if self.keyring is not None else self.file.where

    def get(self) -> str | None:
        if self.keyring is not None:
            v = self.keyring.get()
            if v:
                return v
        return self.file.get()

    def set(self, token: str) -> None:
        if self.keyring is not None:
            try:
                self.keyring.set(token)
                self.file.delete()  # never two copies
                return
            except Exception as e:
                log.warning(
                    "keyring refused the token (%s); using a private file", type(e).__name__
                )
                self.keyring = None
        self.file.set(token)

    def delete(self) -> None:
        if self.keyring is not None:
            self.keyring.delete()
        self.file.delete()


def open_store(
    directory: Path, server: str, username: str, notice: Notice | None = None
) -> FallbackStore:
    """The refresh-token store of one account."""
    return FallbackStore(directory, account_name(server, username), notice)


class MemoryStore:
    """A store that keeps the token in memory only (tests, or a caller that manages it)."""

    where = "memory"

    def __init__(self, token: str | None = None) -> None:
        self.token = token

    def get(self) -> str | None:
        return self.token

    def set(self, token: str) -> None:
        self.token = token

    def delete(self) -> None:
        self.token = None


@contextlib.contextmanager
def refresh_lock(directory: Path | None) -> Iterator[None]:
    """An exclusive lock across processes (``flock`` on ``refresh.lock``; a no-op where
    ``fcntl`` does not exist or ``directory`` is None)."""
    if directory is None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # Windows: CLI commands rarely overlap; rotation reuse -> log in again
        yield
        return
    ensure_private_dir(directory)
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
