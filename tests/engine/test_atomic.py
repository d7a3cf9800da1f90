"""engine.atomic: temp file + fsync + rename + directory fsync; nothing half-written, ever."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from engine import atomic


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What was fsynced, in order: ``file:<path>`` or ``dir:<path>``."""
    seen: list[str] = []
    real = os.fsync

    def spy(fd: int) -> None:
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        seen.append(f"{kind}:{os.readlink(f'/proc/self/fd/{fd}')}")
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    return seen


def _leftovers(d: Path, keep: str) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name != keep)


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc (Linux)")
def test_write_atomic_fsyncs_the_file_then_the_directory(tmp_path: Path, fsyncs: list[str]) -> None:
    p = tmp_path / "a.json"
    p.write_text("old")
    atomic.write_atomic(p, b"new content")
    assert p.read_text() == "new content"
    assert _leftovers(tmp_path, "a.json") == []
    # the temporary file (hidden, next to the target) before the rename, the directory after it
    assert len(fsyncs) == 2 and fsyncs[0].startswith(f"file:{tmp_path}/.a.json."), fsyncs
    assert fsyncs[1] == f"dir:{tmp_path}"


def test_failure_keeps_the_old_file_and_leaves_nothing(tmp_path: Path) -> None:
    p = tmp_path / "a.bin"
    p.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic.AtomicFile(p) as f:
        f.file.write(b"half")
        raise KeyboardInterrupt
    assert p.read_bytes() == b"old"
    assert _leftovers(tmp_path, "a.bin") == []


def test_commit_then_discard_is_a_no_op_and_the_temp_is_hidden(tmp_path: Path) -> None:
    p = tmp_path / "b.bin"
    f = atomic.AtomicFile(p, prefix=".up-")
    assert f.tmp.parent == tmp_path and f.tmp.name.startswith(".up-b.bin.")
    f.file.write(b"x" * 100_000)
    assert not p.exists()  # nothing at the target before the commit
    f.commit()
    f.discard()
    assert p.read_bytes() == b"x" * 100_000
    assert _leftovers(tmp_path, "b.bin") == []


def test_private_mode(tmp_path: Path) -> None:
    p = tmp_path / "secret"
    atomic.write_atomic(p, b"s", mode=0o600)
    assert p.stat().st_mode & 0o077 == 0


def test_missing_directory_is_an_oserror_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        atomic.write_atomic(tmp_path / "no" / "such.txt", b"x")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_for_writers_by_name(tmp_path: Path) -> None:
    p = tmp_path / "cache.wav"
    with atomic.atomic_path(p, prefix=".dl-") as tmp:
        assert tmp.exists() and tmp.name.startswith(".dl-") and not p.exists()
        tmp.write_bytes(b"RIFF")
    assert p.read_bytes() == b"RIFF"
    with pytest.raises(RuntimeError), atomic.atomic_path(p) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("download failed")
    assert p.read_bytes() == b"RIFF"
    assert _leftovers(tmp_path, "cache.wav") == []
