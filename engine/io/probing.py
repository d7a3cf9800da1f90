"""Validate an input file before a single sample is decoded (:func:`probe`)."""

from __future__ import annotations

import stat
from pathlib import Path

import soundfile as sf

from engine import codecs
from engine.io.caps import AudioInfo, _check_info
from engine.io.header import _check_header, _read_header
from engine.schema.errors import AudioStyleError, ErrorCode


def probe(path: str | Path) -> AudioInfo:
    """Validate an audio file without decoding it.

    Parameters
    ----------
    path : str or Path
        The input file.

    Returns
    -------
    AudioInfo
        Frames, channels, rate and format, all inside the caps.

    Raises
    ------
    AudioStyleError
        ``FILE_NOT_FOUND``, ``NOT_READABLE`` (directory, special file, no permission),
        ``FILE_EMPTY``, ``UNSUPPORTED_FORMAT`` (libsndfile cannot open it, or its length is
        unknown), ``TOO_MANY_CHANNELS``, ``BAD_SAMPLE_RATE``, ``TOO_LONG`` (declared length over
        :data:`MAX_LENGTH_S`), ``TRUNCATED`` (the header declares more data than the file
        holds) or ``TOO_SHORT`` (under :data:`MIN_LENGTH_S`).
    """
    p = Path(path)
    size = _check_regular_file(p)
    kind = _sniff(p)
    if kind is not None:  # compressed formats through FFmpeg (engine.codecs)
        d = codecs.probe(p, size, kind)
        info = AudioInfo(p, d.frames, d.channels, d.sample_rate, d.format, d.subtype)
        _check_info(info)
        return info
    header = _read_header(p, size)
    if header is not None:
        _check_header(header, p)
    info = _libsndfile_info(p)
    _check_info(info)
    return info


def _sniff(path: Path) -> str | None:
    """The :func:`engine.codecs.sniff` verdict on the file's first bytes."""
    try:
        with path.open("rb") as fh:
            return codecs.sniff(fh.read(64))
    except OSError:
        raise AudioStyleError(ErrorCode.NOT_READABLE, path=str(path)) from None


def _check_regular_file(path: Path) -> int:
    """Size in bytes of ``path`` if it is a non-empty regular file, else the matching error."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise AudioStyleError(ErrorCode.FILE_NOT_FOUND, path=str(path)) from None
    except (OSError, ValueError):
        raise AudioStyleError(ErrorCode.NOT_READABLE, path=str(path)) from None
    if not stat.S_ISREG(st.st_mode):
        raise AudioStyleError(ErrorCode.NOT_READABLE, path=str(path))
    if st.st_size == 0:
        raise AudioStyleError(ErrorCode.FILE_EMPTY, path=str(path))
    return st.st_size


def _libsndfile_info(path: Path) -> AudioInfo:
    """Open ``path`` with libsndfile (header only) and describe it; ``UNSUPPORTED_FORMAT``."""
    try:
        with sf.SoundFile(str(path)) as f:
            return AudioInfo(
                path=path,
                frames=int(f.frames),
                channels=int(f.channels),
                sample_rate=int(f.samplerate),
                format=str(f.format),
                subtype=str(f.subtype),
            )
    except (RuntimeError, TypeError, ValueError):
        raise AudioStyleError(ErrorCode.UNSUPPORTED_FORMAT, path=str(path)) from None
    except OSError:
        raise AudioStyleError(ErrorCode.NOT_READABLE, path=str(path)) from None
