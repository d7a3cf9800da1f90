"""Loudness meters: ITU-R BS.1770-4 K-weighting, gating and integrated loudness; EBU Tech 3341
momentary / short-term loudness; EBU Tech 3342 loudness range.

Everything is built on per-hop energies: the channel-weighted mean square of the K-weighted
signal over consecutive 100 ms hops (:class:`KWeightedEnergy`). Gating blocks (400 ms, 75 %
overlap), momentary (400 ms) and short-term (3 s) windows are exact averages of 4 and 30 hops,
so a signal is filtered once and every measure is derived from a small array.

Audio arrays are ``(frames, channels)`` float arrays (a 1-D array is read as mono) with finite
samples; the sample rate is always passed explicitly in Hz.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

from engine.dsp.iir import BiquadStream
from engine.schema.errors import AudioStyleError, ErrorCode

F64 = NDArray[np.float64]

MIN_SAMPLE_RATE_HZ = 8_000
MAX_SAMPLE_RATE_HZ = 192_000
HOP_S = 0.1
#: BS.1770-4 §2.8: the loudness of a block is ``-0.691 + 10 log10(sum_i G_i z_i)``.
LOUDNESS_OFFSET_DB = -0.691
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
LRA_LOW_PERCENTILE = 10.0
LRA_HIGH_PERCENTILE = 95.0
#: 400 ms gating / momentary block and 3 s short-term window, in 100 ms hops.
BLOCK_HOPS = 4
SHORT_TERM_HOPS = 30
SURROUND_WEIGHT = 1.41

# Analog prototypes of the BS.1770-4 K-weighting stages (as in libebur128); their bilinear
# transforms reproduce the standard's 48 kHz coefficients (Tables 1 and 2).
_SHELF_F0_HZ = 1681.974450955533
_SHELF_GAIN_DB = 3.999843853973347
_SHELF_Q = 0.7071752369554196
_SHELF_VB_EXP = 0.4996667741545416
_HIGHPASS_F0_HZ = 38.13547087602444
_HIGHPASS_Q = 0.5003270373238773

# Blocks at least this long are filtered one channel per thread (scipy releases the GIL).
_THREADED_MIN_FRAMES = 1 << 15
_POOL: ThreadPoolExecutor | None = None

_T = TypeVar("_T")
_R = TypeVar("_R")


def check_sample_rate(sample_rate: int) -> int:
    """Validate a sample rate in Hz (8000-192000), returning it as an ``int``.

    Raises
    ------
    AudioStyleError
        ``E108`` (``BAD_SAMPLE_RATE``) for a non-integer or out-of-range rate.
    """
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, int | np.integer)
        or not MIN_SAMPLE_RATE_HZ <= int(sample_rate) <= MAX_SAMPLE_RATE_HZ
    ):
        raise AudioStyleError(ErrorCode.BAD_SAMPLE_RATE, sample_rate=sample_rate, path="<array>")
    return int(sample_rate)


def as_frames(x: ArrayLike, channels: int | None = None) -> NDArray[np.floating]:
    """View ``x`` as a ``(frames, channels)`` float array (1-D input is mono).

    Parameters
    ----------
    x : array_like
        Samples, ``(frames,)`` or ``(frames, channels)``.
    channels : int, optional
        Expected channel count.

    Raises
    ------
    AudioStyleError
        ``E304`` (``CHANNEL_MISMATCH``) for another shape or channel count.
    """
    a = np.asarray(x)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] < 1:
        raise AudioStyleError(
            ErrorCode.CHANNEL_MISMATCH,
            reason=f"expected (frames, channels) audio, got shape {a.shape}",
        )
    if channels is not None and a.shape[1] != channels:
        raise AudioStyleError(
            ErrorCode.CHANNEL_MISMATCH,
            reason=f"expected {channels} channel(s), got {a.shape[1]}",
        )
    return a


def hop_frames(sample_rate: int, hop_s: float = HOP_S) -> int:
    """Frames per hop: ``round(hop_s * sample_rate)`` (4410 at 44.1 kHz for 100 ms).

    Raises
    ------
    AudioStyleError
        ``E301`` (``BAD_OPTION``) when the hop is shorter than one frame or not finite.
    """
    sr = check_sample_rate(sample_rate)
    if not np.isfinite(hop_s) or round(hop_s * sr) < 1:
        raise AudioStyleError(
            ErrorCode.BAD_OPTION, name="hop_s", reason=f"{hop_s!r} s is not a positive duration"
        )
    return int(round(hop_s * sr))


def k_weighting_sos(sample_rate: int) -> F64:
    """K-weighting filter of ITU-R BS.1770-4 as second-order sections at ``sample_rate``.

    Stage 1 is the high-shelf pre-filter (about +4 dB above 2 kHz, modelling the head), stage 2
    the RLB high-pass (about 38 Hz). Both are bilinear transforms (prewarped at their centre
    frequency) of the analog prototypes that libebur128 derives from the standard; at 48 kHz
    they reproduce the coefficients of BS.1770-4 Tables 1 and 2 to about 1e-9.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz.

    Returns
    -------
    ndarray, shape (2, 6)
        ``[b0, b1, b2, 1, a1, a2]`` per section, as used by :func:`scipy.signal.sosfilt`.
    """
    sr = check_sample_rate(sample_rate)
    k = np.tan(np.pi * _SHELF_F0_HZ / sr)
    vh = 10.0 ** (_SHELF_GAIN_DB / 20.0)
    vb = vh**_SHELF_VB_EXP
    a0 = 1.0 + k / _SHELF_Q + k * k
    shelf = [
        (vh + vb * k / _SHELF_Q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / _SHELF_Q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / _SHELF_Q + k * k) / a0,
    ]
    k = np.tan(np.pi * _HIGHPASS_F0_HZ / sr)
    a0 = 1.0 + k / _HIGHPASS_Q + k * k
    highpass = [
        1.0,
        -2.0,
        1.0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / _HIGHPASS_Q + k * k) / a0,
    ]
    return np.array([shelf, highpass], dtype=np.float64)


def channel_weights(channels: int) -> F64:
    """Channel weights ``G_i`` of ITU-R BS.1770-4 Table 3.

    1.0 for left, right and centre (and for mono or any other layout); 1.41 (+1.5 dB) for the
    surround channels of a 5-channel ``L R C Ls Rs`` or 5.1 ``L R C LFE Ls Rs`` layout; 0 for
    the LFE channel (index 3 of 5.1), which the standard excludes.

    Parameters
    ----------
    channels : int
        Channel count (1 or more).
    """
    if channels < 1:
        raise AudioStyleError(ErrorCode.CHANNEL_MISMATCH, reason=f"{channels} channels")
    w = np.ones(channels, dtype=np.float64)
    if channels == 5:
        w[3:5] = SURROUND_WEIGHT
    elif channels == 6:
        w[3] = 0.0
        w[4:6] = SURROUND_WEIGHT
    return w


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(
            max_workers=max(1, min(8, os.cpu_count() or 1)), thread_name_prefix="kweight"
        )
    return _POOL


def parallel_map(fn: Callable[[_T], _R], items: Iterable[_T], parallel: bool) -> list[_R]:
    """``[fn(i) for i in items]``, on a shared thread pool when ``parallel``."""
    if parallel:
        return list(_pool().map(fn, items))
    return [fn(i) for i in items]


class KWeightedEnergy:
    """Streaming per-hop K-weighted energies (ITU-R BS.1770-4 §2.1-2.4).

    For every complete hop of ``hop_frames`` frames, stores ``sum_i G_i * mean(y_i**2)``
    where ``y_i`` is channel ``i`` K-weighted (:func:`k_weighting_sos`, zero initial state) and
    ``G_i`` its :func:`channel_weights`. Filter state and the samples of a partial hop carry
    over between :meth:`push` calls, so any split of a signal into blocks gives the same
    energies as pushing it at once. A final partial hop is dropped (BS.1770-4 gating), unless
    :meth:`energies` is asked for it (``partial=True``: the render's gain computer needs a
    value for every frame).

    This is the one K-weighted meter of the engine: the analysis (100 ms hops) and the
    render's gain computer (``hop`` of about 0.7 ms, :func:`engine.render.hop_frames`).

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Channel count of the pushed blocks.
    hop_s : float, default 0.1
        Hop length in seconds (rounded to whole frames). The gating and window functions of
        this module expect 100 ms hops.
    hop : int, optional
        Hop length in frames; overrides ``hop_s``.

    Notes
    -----
    One instance must not be pushed from several threads at once.
    """

    def __init__(
        self, sample_rate: int, channels: int, hop_s: float = HOP_S, *, hop: int | None = None
    ) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        self.weights = channel_weights(channels)
        self.channels = channels
        self.hop_frames = hop_frames(self.sample_rate, hop_s) if hop is None else int(hop)
        if self.hop_frames < 1:
            raise AudioStyleError(ErrorCode.BAD_OPTION, name="hop", reason=f"{hop!r} frames")
        self.frames = 0
        self._sos = k_weighting_sos(self.sample_rate)
        self._filters = [BiquadStream(self._sos) for _ in range(channels)]
        self._rest: list[F64] = [np.zeros(0, dtype=np.float64) for _ in range(channels)]
        self._parts: list[F64] = []

    def push(self, block: ArrayLike) -> None:
        """Filter a ``(frames, channels)`` block (any length) and store its complete hops."""
        x = as_frames(block, self.channels)
        if x.shape[0] == 0:
            return
        self.frames += x.shape[0]
        parallel = self.channels > 1 and x.shape[0] >= _THREADED_MIN_FRAMES
        sums = parallel_map(
            lambda c: self._channel_sums(c, x[:, c]), range(self.channels), parallel
        )
        if sums[0].size == 0:
            return
        energy = self.weights[0] * sums[0]
        for w, s in zip(self.weights[1:], sums[1:], strict=True):
            energy = energy + w * s
        self._parts.append(energy / self.hop_frames)

    def _channel_sums(self, c: int, xc: NDArray[np.floating]) -> F64:
        """Filter channel ``c`` and return the sums of squares of its newly complete hops."""
        y = self._filters[c].process(xc.astype(np.float64, copy=False))
        if self._rest[c].size:
            y = np.concatenate((self._rest[c], y))
        n = y.size // self.hop_frames
        self._rest[c] = y[n * self.hop_frames :].copy()
        hops = y[: n * self.hop_frames].reshape(n, self.hop_frames)
        return np.asarray(np.einsum("ij,ij->i", hops, hops), dtype=np.float64)

    def energies(self, partial: bool = False) -> F64:
        """Per-hop channel-weighted mean squares of all complete hops so far.

        Parameters
        ----------
        partial : bool, default False
            Also return the energy of a final partial hop, as if the signal went on with
            zeros to the end of that hop (the filter's ringing into them included; divided by
            the full hop length). The meter's state is left as it was.
        """
        parts = list(self._parts)
        rest = self._rest[0].size
        if partial and rest:
            pad = np.zeros(self.hop_frames - rest, dtype=np.float64)
            energy = np.zeros(1, dtype=np.float64)
            for c in range(self.channels):
                y = self._filters[c].peek(pad)
                tail = np.concatenate((self._rest[c], y))
                energy = energy + self.weights[c] * np.einsum("i,i->", tail, tail)
            parts.append(energy / self.hop_frames)
        if not parts:
            return np.zeros(0, dtype=np.float64)
        return np.concatenate(parts)


def hop_energies(x: ArrayLike, sample_rate: int, hop_s: float = HOP_S) -> F64:
    """Per-hop K-weighted energies of a whole ``(frames, channels)`` signal.

    One-shot form of :class:`KWeightedEnergy` (ITU-R BS.1770-4); a final partial hop is
    dropped.
    """
    a = as_frames(x)
    meter = KWeightedEnergy(sample_rate, a.shape[1], hop_s)
    meter.push(a)
    return meter.energies()


def energy_to_lufs(energy: ArrayLike) -> F64:
    """``-0.691 + 10 log10(energy)`` (BS.1770-4 eq. 2); ``-inf`` where the energy is 0."""
    e = np.asarray(energy, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.asarray(LOUDNESS_OFFSET_DB + 10.0 * np.log10(e), dtype=np.float64)


def lufs_to_energy(lufs: float) -> float:
    """Inverse of :func:`energy_to_lufs`."""
    return float(10.0 ** ((lufs - LOUDNESS_OFFSET_DB) / 10.0))


def window_energies(energies: ArrayLike, hops: int) -> F64:
    """Mean energy of every window of ``hops`` consecutive hops, advancing one hop at a time.

    Returns ``len(energies) - hops + 1`` values (none when the signal is shorter than one
    window); value ``k`` covers hops ``k .. k + hops - 1``.
    """
    e = np.asarray(energies, dtype=np.float64).ravel()
    if e.size < hops:
        return np.zeros(0, dtype=np.float64)
    return np.asarray(sliding_window_view(e, hops).mean(axis=-1), dtype=np.float64)


def gated_blocks(block_energies: ArrayLike, relative_gate_lu: float) -> F64:
    """Energies of the blocks passing the absolute (-70 LUFS) and relative gates.

    The relative threshold is ``relative_gate_lu`` below the loudness of the mean of the blocks
    above the absolute gate (-10 LU in BS.1770-4 §2.8, -20 LU in EBU Tech 3342). Both gates are
    strict (a block exactly at a threshold is dropped).
    """
    z: F64 = np.asarray(block_energies, dtype=np.float64).ravel()
    z = z[z > lufs_to_energy(ABSOLUTE_GATE_LUFS)]
    if z.size == 0:
        return z
    kept: F64 = z[z > float(np.mean(z)) * 10.0 ** (relative_gate_lu / 10.0)]
    return kept


def integrated_loudness(energies_100ms: ArrayLike) -> float:
    """Gated integrated loudness (LUFS) of ITU-R BS.1770-4 §2.8 from 100 ms hop energies.

    Gating blocks are 400 ms long (4 hops) with 75 % overlap; blocks at or below -70 LUFS are
    dropped, then those at or below (loudness of the remaining mean) - 10 LU.

    Parameters
    ----------
    energies_100ms : array_like
        Output of :class:`KWeightedEnergy` / :func:`hop_energies` with 100 ms hops.

    Returns
    -------
    float
        Integrated loudness in LUFS; ``-inf`` for silence or signals shorter than 400 ms.
    """
    gated = gated_blocks(window_energies(energies_100ms, BLOCK_HOPS), RELATIVE_GATE_LU)
    if gated.size == 0:
        return float("-inf")
    return float(energy_to_lufs(np.mean(gated)))


def momentary_loudness(energies: ArrayLike) -> F64:
    """Momentary loudness (LUFS, EBU Tech 3341): 400 ms windows every 100 ms.

    Value ``k`` ends at ``(k + 4) * 100 ms``; ``-inf`` where silent; empty below 400 ms.
    """
    return energy_to_lufs(window_energies(energies, BLOCK_HOPS))


def short_term_loudness(energies: ArrayLike) -> F64:
    """Short-term loudness (LUFS, EBU Tech 3341): 3 s windows every 100 ms.

    Value ``k`` ends at ``(k + 30) * 100 ms``; ``-inf`` where silent; empty below 3 s.
    """
    return energy_to_lufs(window_energies(energies, SHORT_TERM_HOPS))


def loudness_range(energies: ArrayLike) -> float:
    """Loudness range (LU) of EBU Tech 3342 from 100 ms hop energies.

    Short-term loudness (3 s windows, 10 Hz) gated at -70 LUFS absolute and -20 LU relative;
    LRA is the difference of the 95th and 10th percentiles (linear interpolation) of the
    gated values. Returns 0.0 when nothing passes the gates or the signal is shorter than 3 s.
    """
    gated = energy_to_lufs(
        gated_blocks(window_energies(energies, SHORT_TERM_HOPS), LRA_RELATIVE_GATE_LU)
    )
    if gated.size == 0:
        return 0.0
    low, high = np.percentile(gated, [LRA_LOW_PERCENTILE, LRA_HIGH_PERCENTILE])
    return float(high - low)


def integrated_lufs(x: ArrayLike, sample_rate: int) -> float:
    """Integrated loudness (LUFS, ITU-R BS.1770-4) of a whole ``(frames, channels)`` signal."""
    return integrated_loudness(hop_energies(x, sample_rate))


__all__ = [
    "KWeightedEnergy",
    "as_frames",
    "channel_weights",
    "check_sample_rate",
    "energy_to_lufs",
    "gated_blocks",
    "hop_energies",
    "hop_frames",
    "integrated_loudness",
    "integrated_lufs",
    "k_weighting_sos",
    "loudness_range",
    "lufs_to_energy",
    "momentary_loudness",
    "parallel_map",
    "short_term_loudness",
    "window_energies",
]
