"""Output: format choice, output-path checks, TPDF dither, the block :class:`AudioWriter` and the
atomic (temp file + rename) writers of audio, bytes and text.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from engine import atomic
from engine.io.caps import (
    DEFAULT_BLOCK_FRAMES,
    MAX_CHANNELS,
    MAX_RATE,
    MIN_RATE,
    OUTPUT_FORMATS,
    AudioArray,
)
from engine.schema.errors import AudioStyleError, ErrorCode

_BITS: Final[dict[str, int]] = {"PCM_16": 16, "PCM_24": 24}


def format_for(path: str | Path, fmt: str | None) -> str:
    """The output format option for ``path``: ``fmt`` if given, else from the extension.

    Parameters
    ----------
    path : str or Path
        The output file.
    fmt : str or None
        A key of :data:`OUTPUT_FORMATS`, or None for ``.flac`` -> ``"flac"``, anything else
        -> ``"wav24"``.

    Returns
    -------
    str
        A key of :data:`OUTPUT_FORMATS`.

    Raises
    ------
    AudioStyleError
        ``BAD_FORMAT_OPTION`` for an unknown ``fmt``.
    """
    if fmt is None:
        return "flac" if Path(path).suffix.lower() == ".flac" else "wav24"
    if fmt not in OUTPUT_FORMATS:
        raise AudioStyleError(
            ErrorCode.BAD_FORMAT_OPTION, value=fmt, choices=", ".join(OUTPUT_FORMATS)
        )
    return fmt


def check_output_path(path: str | Path, force: bool) -> None:
    """Check that ``path`` may be written: ``OUTPUT_EXISTS`` / ``OUTPUT_NOT_WRITABLE``.

    Parameters
    ----------
    path : str or Path
        The output file.
    force : bool
        Whether an existing file may be replaced.

    Raises
    ------
    AudioStyleError
        ``OUTPUT_EXISTS`` when ``path`` exists and not ``force``; ``OUTPUT_NOT_WRITABLE`` when
        it is a directory or its parent directory is missing or not writable.
    """
    p = Path(path)
    if p.is_dir():
        raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(p))
    if not force and os.path.lexists(p):
        raise AudioStyleError(ErrorCode.OUTPUT_EXISTS, path=str(p))
    parent = p.absolute().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(p))


def tpdf_dither(x: AudioArray, bits: int, rng: np.random.Generator) -> AudioArray:
    """Add triangular-PDF dither of +-1 LSB and clip to the ``bits``-bit range.

    The dither is the difference of two uniform variables, so the total error after rounding
    to the ``bits``-bit grid has mean 0 and variance LSB^2 / 4 whatever the signal (no noise
    modulation, no distortion of low-level signals).

    Parameters
    ----------
    x : ndarray
        float samples in [-1, 1] full scale.
    bits : int
        Target word length (16 or 24); 1 LSB = 2 ** (1 - bits).
    rng : numpy.random.Generator
        Source of the dither; the same seed gives the same result.

    Returns
    -------
    ndarray
        ``x`` plus dither, clipped to [-1, 1 - 1 LSB], same dtype and shape as ``x``; still
        to be rounded to the grid.
    """
    return _dithered(x, bits, rng).astype(x.dtype, copy=False)


def _tpdf_lsb(shape: tuple[int, ...], rng: np.random.Generator) -> NDArray[np.float32]:
    """TPDF dither in LSB units, ``shape``: the difference of two uniforms on ``[0, 1)``, the
    two 16-bit halves of one 32-bit draw per sample (one draw per sample, so the stream does
    not depend on how the signal is blocked). The dither's resolution (2**-16 LSB) does not
    matter; half the draws of two single-precision uniforms and a third of their time."""
    r = rng.integers(0, 1 << 32, size=shape, dtype=np.uint32)
    d = (r >> 16).astype(np.float32)
    d -= (r & 0xFFFF).astype(np.float32)
    d *= np.float32(1.0 / 65536.0)  # exact: |hi - lo| < 2**16
    return d


def _dithered(x: AudioArray, bits: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """:func:`tpdf_dither` in float64 (float32 cannot hold a 24-bit LSB near full scale)."""
    if not 2 <= bits <= 32:
        raise ValueError(f"bits must be in 2..32, got {bits}")
    lsb = 2.0 ** (1 - bits)
    dither = _tpdf_lsb(x.shape, rng).astype(np.float64) * lsb
    return np.clip(x.astype(np.float64) + dither, -1.0, 1.0 - lsb)


def _quantise(x: AudioArray, bits: int, rng: np.random.Generator) -> NDArray[np.integer[Any]]:
    """Dithered integer samples for libsndfile: int16 for 16 bits, left-justified int32 else.

    Quantising here (instead of handing floats to libsndfile, which scales by 2**15 - 1) keeps
    the grid exactly 2 ** (1 - bits), so a file reads back as the dithered signal. The same
    values as rounding :func:`tpdf_dither`'s output to the grid, computed in LSB units in
    place (clipping to the integer range after rounding equals clipping before it).
    """
    if not 2 <= bits <= 32:
        raise ValueError(f"bits must be in 2..32, got {bits}")
    scale = 2.0 ** (bits - 1)
    s = np.multiply(x, scale, dtype=np.float64)
    s += _tpdf_lsb(x.shape, rng)
    np.rint(s, out=s)
    np.clip(s, -scale, scale - 1.0, out=s)
    word = 16 if bits <= 16 else 32
    s *= 2.0 ** (word - bits)  # left-justified: exact, and one cast instead of cast + shift
    return s.astype(np.int16 if word == 16 else np.int32)


class AudioWriter:
    """Write audio block by block to a temporary file, renamed onto ``path`` on success.

    Use as a context manager. The data goes to ``.<name>.<random>.part`` in the target's
    directory; leaving the ``with`` block normally flushes, fsyncs and renames it onto
    ``path`` (atomic on one file system); leaving it by any exception, including
    ``KeyboardInterrupt`` and ``GeneratorExit``, deletes it and leaves a pre-existing ``path``
    untouched. 16- and 24-bit outputs get TPDF dither from a generator seeded with ``seed``,
    so the same input always gives the same bytes (whatever the block sizes).

    Parameters
    ----------
    path : str or Path
        The output file.
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Number of channels of every block.
    fmt : str or None
        A key of :data:`OUTPUT_FORMATS`; None picks one from the extension (:func:`format_for`).
    force : bool
        Whether an existing ``path`` may be replaced.
    seed : int
        Dither seed.

    Raises
    ------
    AudioStyleError
        ``BAD_FORMAT_OPTION``, ``OUTPUT_EXISTS``, ``OUTPUT_NOT_WRITABLE``; ``NON_FINITE`` from
        :meth:`write`.
    """

    def __init__(
        self,
        path: str | Path,
        sample_rate: int,
        channels: int,
        fmt: str | None,
        *,
        force: bool = False,
        seed: int = 0,
    ) -> None:
        self.path = Path(path)
        self.fmt = format_for(self.path, fmt)
        if not MIN_RATE <= sample_rate <= MAX_RATE:
            raise ValueError(f"sample_rate must be in {MIN_RATE}..{MAX_RATE}, not {sample_rate}")
        if not 1 <= channels <= MAX_CHANNELS:
            raise ValueError(f"channels must be in 1..{MAX_CHANNELS}, not {channels}")
        check_output_path(self.path, force)
        self.sample_rate = sample_rate
        self.channels = channels
        self.force = force
        self.frames_written = 0
        self._container, self._subtype = OUTPUT_FORMATS[self.fmt]
        self._bits = _BITS.get(self._subtype)
        self._rng = np.random.default_rng(seed)
        self._tmp: Path | None = None
        self._fd: int | None = None
        self._file: sf.SoundFile | None = None

    def __enter__(self) -> AudioWriter:
        if self._tmp is not None:
            raise RuntimeError("AudioWriter is not reentrant")
        self._tmp, self._fd = _create_temp(self.path)
        try:
            self._file = sf.SoundFile(
                self._fd,
                "w",
                samplerate=self.sample_rate,
                channels=self.channels,
                format=self._container,
                subtype=self._subtype,
                closefd=False,
            )
        except BaseException as exc:
            self._abort()
            if isinstance(exc, RuntimeError | OSError | TypeError | ValueError):
                raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(self.path)) from None
            raise
        return self

    def write(self, block: AudioArray) -> None:
        """Append ``(n, channels)`` float samples (full scale [-1, 1]).

        Parameters
        ----------
        block : ndarray, shape (n, channels)
            Samples; clipped to [-1, 1 - 1 LSB] for integer formats, written as float32
            otherwise.

        Raises
        ------
        AudioStyleError
            ``NON_FINITE`` on NaN/Inf samples, ``OUTPUT_NOT_WRITABLE`` when the write fails.
        """
        if self._file is None:
            raise RuntimeError("AudioWriter.write outside its with block")
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ValueError(f"expected (n, {self.channels}) samples, got shape {block.shape}")
        if not np.isfinite(block).all():
            raise AudioStyleError(ErrorCode.NON_FINITE, path=str(self.path))
        data: NDArray[Any]
        if self._bits is None:
            data = np.ascontiguousarray(block, dtype=np.float32)
        else:
            data = _quantise(block, self._bits, self._rng)
        try:
            self._file.write(data)
        except (RuntimeError, OSError):
            raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(self.path)) from None
        self.frames_written += len(block)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._abort()
            return
        try:
            self._commit()
        except BaseException as error:
            self._abort()
            if isinstance(error, AudioStyleError):
                raise
            if isinstance(error, RuntimeError | OSError):
                raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(self.path)) from None
            raise

    def _commit(self) -> None:
        assert self._file is not None and self._fd is not None and self._tmp is not None
        self._file.close()  # libsndfile writes the final header sizes here
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        _publish(self._tmp, self.path, self.force)
        self._tmp = None

    def _abort(self) -> None:
        """Drop the temporary file; never raises (it runs while another error propagates)."""
        if self._file is not None:
            with contextlib.suppress(Exception):  # the original error matters, not this one
                self._file.close()
            self._file = None
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self._tmp is not None:
            atomic.discard(self._tmp)
            self._tmp = None


def write_audio(
    path: str | Path,
    x: AudioArray,
    sample_rate: int,
    fmt: str | None,
    *,
    force: bool = False,
    seed: int = 0,
) -> None:
    """Write a whole ``(frames, channels)`` array atomically (see :class:`AudioWriter`).

    Parameters
    ----------
    path : str or Path
        The output file.
    x : ndarray, shape (frames, channels)
        float samples, full scale [-1, 1].
    sample_rate : int
        Sample rate in Hz.
    fmt : str or None
        A key of :data:`OUTPUT_FORMATS`; None picks one from the extension.
    force : bool
        Whether an existing ``path`` may be replaced.
    seed : int
        Dither seed.

    Raises
    ------
    AudioStyleError
        As :class:`AudioWriter`.
    """
    if x.ndim != 2:
        raise ValueError(f"expected (frames, channels), got shape {x.shape}")
    with AudioWriter(path, sample_rate, x.shape[1], fmt, force=force, seed=seed) as writer:
        for start in range(0, len(x), DEFAULT_BLOCK_FRAMES):
            writer.write(x[start : start + DEFAULT_BLOCK_FRAMES])


def atomic_write_bytes(path: str | Path, data: bytes, *, force: bool = True) -> None:
    """Write ``data`` to a temporary file next to ``path``, fsync it, then rename it onto ``path``.

    Parameters
    ----------
    path : str or Path
        The output file (a preset, a report, ...).
    data : bytes
        The whole content.
    force : bool
        Whether an existing ``path`` may be replaced.

    Raises
    ------
    AudioStyleError
        ``OUTPUT_EXISTS`` or ``OUTPUT_NOT_WRITABLE``; nothing is left behind on failure.
    """
    p = Path(path)
    check_output_path(p, force)
    try:
        f = atomic.AtomicFile(p)
    except OSError:
        raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(p)) from None
    try:
        f.file.write(data)
        if not force and os.path.lexists(p):  # appeared while we were writing
            raise AudioStyleError(ErrorCode.OUTPUT_EXISTS, path=str(p))
        f.commit()
    except OSError:
        raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(p)) from None
    finally:
        f.discard()  # a no-op after the commit


def atomic_write_text(path: str | Path, text: str, *, force: bool = True) -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8 (newlines written as given).

    Parameters
    ----------
    path : str or Path
        The output file.
    text : str
        The whole content.
    force : bool
        Whether an existing ``path`` may be replaced.
    """
    atomic_write_bytes(path, text.encode("utf-8"), force=force)


def _create_temp(path: Path) -> tuple[Path, int]:
    """Create ``.<name>.<random>.part`` next to ``path``; its path and an open descriptor."""
    try:
        return atomic.create_temp(path)
    except OSError:
        raise AudioStyleError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(path)) from None


def _publish(tmp: Path, path: Path, force: bool) -> None:
    """Rename the complete ``tmp`` onto ``path`` and make the rename durable."""
    if not force and os.path.lexists(path):  # appeared while we were writing
        raise AudioStyleError(ErrorCode.OUTPUT_EXISTS, path=str(path))
    atomic.replace_durably(tmp, path)
