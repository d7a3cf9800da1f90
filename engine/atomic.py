"""Atomic, durable file writes: a temporary file next to the target, fsync, rename, fsync.

Every writer of the project (audio and presets in the engine, the app's and the cloud client's
files, the server's local storage, the worker's cache and results) goes through this module, so
a file the user or a job owns is either its old content or its complete new content, also after
a crash or a power cut:

1. the data goes to a fresh hidden file in the target's directory (``O_EXCL``; same file
   system, so the rename below is atomic, POSIX ``rename(2)``);
2. the file is flushed and ``fsync``-ed before the rename (otherwise a crash can leave the new
   name pointing at a file whose data never reached the disk);
3. ``os.replace`` puts it in place, then the directory is ``fsync``-ed so that the rename itself
   is durable (where a directory can be opened: not on Windows, where the rename is still atomic);
4. on any failure, including ``KeyboardInterrupt``, the temporary file is deleted and a
   pre-existing target is untouched.

:class:`AtomicFile` (and :func:`write_atomic`) is the whole sequence; writers that stream
through their own encoder (``engine.io.AudioWriter``) use the primitives :func:`create_temp`,
:func:`replace_durably` and :func:`discard`. Errors are ``OSError``; callers map them to their
error codes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def create_temp(
    path: str | Path, *, mode: int = 0o666, prefix: str = ".", suffix: str = ".part"
) -> tuple[Path, int]:
    """Create ``<prefix><name>.<random><suffix>`` next to ``path``, exclusively.

    Parameters
    ----------
    path : str or Path
        The file the temporary one will replace.
    mode : int
        Permission bits (before the umask).
    prefix, suffix : str
        Around the target's name; the default makes a hidden ``.<name>.<hex>.part``.

    Returns
    -------
    (Path, int)
        The temporary file and an open write-only descriptor on it.

    Raises
    ------
    OSError
        The directory is missing or not writable.
    """
    p = Path(path)
    for _ in range(15):
        tmp = p.with_name(f"{prefix}{p.name}.{secrets.token_hex(6)}{suffix}")
        try:
            return tmp, os.open(tmp, _FLAGS, mode)
        except FileExistsError:
            continue
    tmp = p.with_name(f"{prefix}{p.name}.{secrets.token_hex(6)}{suffix}")
    return tmp, os.open(tmp, _FLAGS, mode)


def fsync_file(path: str | Path) -> None:
    """Flush a closed file's data to the disk (for files written by someone else's code)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: str | Path) -> None:
    """Make the renames in ``directory`` durable; a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform (Windows); the rename itself is still atomic
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(tmp: str | Path, path: str | Path) -> None:
    """Rename the complete, fsynced ``tmp`` onto ``path`` and fsync the directory."""
    os.replace(tmp, path)
    fsync_dir(Path(path).absolute().parent)


def discard(tmp: str | Path) -> None:
    """Delete a temporary file; never raises (it runs while another error propagates)."""
    with contextlib.suppress(OSError):
        Path(tmp).unlink(missing_ok=True)


class AtomicFile:
    """A binary file that replaces ``path`` only when :meth:`commit` is called.

    Use as a context manager (commit on normal exit, discard on any exception) or call
    :meth:`commit` and :meth:`discard` (a no-op after a commit) yourself, e.g. to commit from
    another thread. ``file`` is the open binary file; ``tmp`` its path (to read it back
    before the commit, or to tighten its permissions).

    Parameters
    ----------
    path : str or Path
        The target.
    mode, prefix, suffix
        As :func:`create_temp`.

    Raises
    ------
    OSError
        From the creation, or from :meth:`commit` (then nothing is left behind).
    """

    def __init__(
        self, path: str | Path, *, mode: int = 0o666, prefix: str = ".", suffix: str = ".part"
    ) -> None:
        self.path = Path(path)
        self.tmp, fd = create_temp(self.path, mode=mode, prefix=prefix, suffix=suffix)
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self.committed = False

    def commit(self) -> None:
        """Flush, fsync and close the file, rename it onto ``path``, fsync the directory."""
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            replace_durably(self.tmp, self.path)
        except BaseException:
            self.discard()
            raise
        self.committed = True

    def discard(self) -> None:
        """Close and delete the temporary file unless committed; never raises."""
        if self.committed:
            return
        with contextlib.suppress(Exception):
            self.file.close()
        discard(self.tmp)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def write_atomic(path: str | Path, data: bytes, *, mode: int = 0o666) -> None:
    """Replace ``path`` with ``data`` atomically and durably (:class:`AtomicFile`).

    Raises
    ------
    OSError
        Nothing is left behind.
    """
    with AtomicFile(path, mode=mode) as f:
        f.file.write(data)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, prefix: str = ".", suffix: str = ".part") -> Iterator[Path]:
    """For code that writes a file by name (a download into a path): yield a fresh empty
    temporary path next to ``path``; on normal exit fsync it and rename it onto ``path``
    (durably), on any exception delete it."""
    tmp, fd = create_temp(path, prefix=prefix, suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        fsync_file(tmp)
        replace_durably(tmp, path)
    finally:
        discard(tmp)  # a no-op after the rename
