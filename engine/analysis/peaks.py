"""Peak meters: sample peak, true peak (ITU-R BS.1770-4 Annex 2, EBU Tech 3341 §2.4), crest
factor and peak-to-loudness ratio.

The true-peak meter oversamples to at least 176.4 kHz (4x at 44.1/48 kHz, 2x at 88.2/96 kHz,
none from 176.4 kHz up) with a linear-phase polyphase FIR interpolator of 48 taps per phase
(Kaiser-windowed sinc, cut off at the input Nyquist frequency). The filter is a Nyquist filter,
so phase 0 is the input itself and only the ``factor - 1`` in-between phases are computed, by
FFT overlap-save in float32 (one channel per thread).

The interpolated signal is evaluated at ``n + p / factor`` for every input frame ``n`` and
phase ``p``, with zeros before the first and after the last frame.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

from engine.analysis.loudness import as_frames, check_sample_rate, parallel_map
from engine.dsp import fft as sp_fft
from engine.schema.errors import AudioStyleError, ErrorCode

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

#: BS.1770-4 Annex 2: oversample to at least 4 x 44.1 kHz.
TRUE_PEAK_MIN_RATE_HZ = 176_400
#: the renderer's output check: 8x at 44.1 kHz, where the interpolated peak has converged to
#: within ~0.01 dB of the continuous one (16x reads the same)
FINE_TRUE_PEAK_RATE_HZ = 352_800
TAPS_PER_PHASE = 48
KAISER_BETA = 8.0
_HALF = TAPS_PER_PHASE // 2
#: FFT overlap-save: every transform of 8192 input frames gives 8145 interpolated frames; the
#: stream is cut into chunks of 16 transforms counted from its start, so any split of a signal
#: into blocks does exactly the same arithmetic as one block.
_FFT_SIZE = 8192
_FFT_HOP = _FFT_SIZE - TAPS_PER_PHASE + 1
_FFTS_PER_CHUNK = 16
_CHUNK = _FFTS_PER_CHUNK * _FFT_HOP
#: a meter with ``exact_above`` computes the fine phases of a transform whose coarse peak is
#: within this of the level that needs them (:func:`_frame_peaks`)
REFINE_MARGIN_DB = 1.5
_REFINE_RATIO = 10.0 ** (-REFINE_MARGIN_DB / 20.0)
# ...which bounds a coarse grid of at least 4x (8x at 44.1/48 kHz): near a peak its points
# read at most ~0.85 dB under the interpolated one (Bernstein's inequality for content up to
# 0.55 fs); a 2x grid can read ~4 dB under, so at 88.2 kHz and above every phase is computed
_MIN_COARSE_FACTOR = 4


def oversampling_factor(sample_rate: int, min_rate_hz: int = TRUE_PEAK_MIN_RATE_HZ) -> int:
    """Smallest integer factor bringing ``sample_rate`` (Hz) to at least ``min_rate_hz``
    (176.4 kHz: BS.1770-4 Annex 2)."""
    sr = check_sample_rate(sample_rate)
    return max(1, -(-min_rate_hz // sr))


def interpolation_phases(factor: int) -> F64:
    """Taps of the in-between phases of the true-peak interpolator.

    Parameters
    ----------
    factor : int
        Oversampling factor (2 or more).

    Returns
    -------
    ndarray, shape (factor - 1, 48)
        Row ``p - 1`` gives the value at ``n + p / factor`` as
        ``sum_i taps[p - 1, i] * x[n - 23 + i]``; every row sums to 1 (unit gain at DC).
    """
    length = factor * TAPS_PER_PHASE + 1
    centre = factor * _HALF
    t = np.arange(length) - centre
    h = np.sinc(t / factor) * np.kaiser(length, KAISER_BETA)
    i = np.arange(TAPS_PER_PHASE)
    p = np.arange(1, factor)
    taps = h[centre + (_HALF - 1 - i)[None, :] * factor + p[:, None]]
    return np.asarray(taps / taps.sum(axis=1, keepdims=True), dtype=np.float64)


@lru_cache(maxsize=16)
def _phase_spectra(factor: int) -> NDArray[np.complex64]:
    """Spectra (``rfft`` of size 8192) of the time-reversed phase taps, ``(factor - 1, 4097)``."""
    taps = interpolation_phases(factor)[:, ::-1]
    spectra = np.asarray(sp_fft.rfft(taps, n=_FFT_SIZE, axis=-1), dtype=np.complex64)
    spectra.flags.writeable = False
    return spectra


def _frame_peaks(
    seg: F32, count: int, factor: int, exact_above: float | None = None, running: float = 0.0
) -> F32:
    """Per-frame abs max of the interpolated signal over ``count`` transforms of 8192 frames.

    ``seg[k]`` is frame ``k - 23`` of the segment, which holds at least
    ``(count - 1) * 8145 + 8192`` samples. Returns ``max(|x[n]|, max_p |x(n + p / factor)|)``
    for the first ``count * 8145`` frames ``n``.

    ``exact_above`` (an even ``factor`` of 8 or more): the even phases ``p`` (rows 1, 3, ...
    of the phase spectra), which are the ``factor / 2`` interpolator's (the same taps), are
    computed for every transform, the odd ones only for a transform whose coarse peak reaches
    ``min(exact_above, max(running, the chunk's coarse peak))`` less :data:`REFINE_MARGIN_DB`; elsewhere the frames read the coarse peak. Near a
    peak the 4x grid reads at most ~0.4 dB under the 8x one (measured on sines and noise near
    Nyquist; 0.85 dB by Bernstein's inequality), so every frame whose fine peak is above
    ``exact_above`` or is the stream's highest (``running``: the highest so far) is exact.
    """
    windows = sliding_window_view(seg[: (count - 1) * _FFT_HOP + _FFT_SIZE], _FFT_SIZE)
    spec = sp_fft.rfft(windows[::_FFT_HOP], axis=-1)
    phases = _phase_spectra(factor)
    samples = np.abs(seg[_HALF - 1 : _HALF - 1 + count * _FFT_HOP]).reshape(count, _FFT_HOP)
    if exact_above is None or factor % 2 or factor < 2 * _MIN_COARSE_FACTOR:
        y = np.maximum(_phase_peaks(spec, phases), samples)
    else:
        y = np.maximum(_phase_peaks(spec, phases[1::2]), samples)  # even p: the coarse grid
        coarse = y.max(axis=1)
        limit = min(exact_above, max(running, float(coarse.max()))) * _REFINE_RATIO
        fine = np.flatnonzero(coarse >= limit)
        if len(fine):
            y[fine] = np.maximum(y[fine], _phase_peaks(spec[fine], phases[0::2]))
    return np.asarray(y.reshape(-1), dtype=np.float32)


def _phase_peaks(spec: NDArray[np.complex64], phases: NDArray[np.complex64]) -> F32:
    """``(transforms, 8145)``: per frame, the abs max over ``phases`` of one transform each."""
    y = sp_fft.irfft(spec[:, None, :] * phases[None], n=_FFT_SIZE, axis=-1)
    np.abs(y, out=y)
    return np.asarray(y[:, :, TAPS_PER_PHASE - 1 :].max(axis=1), dtype=np.float32)


def _span(head: F32, x: NDArray[np.floating], start: int, stop: int, c: int) -> F32:
    """Frames ``[start, stop)`` of channel ``c`` of ``head`` followed by ``x``, as float32."""
    k = head.shape[0]
    out = np.empty(stop - start, dtype=np.float32)
    m = min(max(k - start, 0), stop - start)
    out[:m] = head[start : start + m, c]
    out[m:] = x[max(start - k, 0) : max(stop - k, 0), c]
    return out


class TruePeakMeter:
    """Streaming true-peak meter (ITU-R BS.1770-4 Annex 2).

    Push ``(frames, channels)`` blocks of any length; the result does not depend on how the
    signal is split (the stream is processed in fixed chunks counted from its start, and the
    last 47 frames are kept as context). :attr:`dbtp` flushes the end of the stream (zero
    padded) without changing the state, so it may be read at any time.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz.
    channels : int
        Channel count of the pushed blocks.
    envelope_hop : int, optional
        When given, also keep the true peak of every ``envelope_hop`` input frames
        (:meth:`envelope`).
    min_rate_hz : int, optional
        Oversample to at least this rate (default 176.4 kHz, the standard's). The standard's
        4x reads up to ~0.7 dB low between its points on content near Nyquist; the renderer's
        final check meters at 8x (:data:`FINE_TRUE_PEAK_RATE_HZ`).
    exact_above : float, optional
        Linear level from which the per-frame peaks must be at the full factor (8 or more):
        a transform (8145 frames) more than :data:`REFINE_MARGIN_DB` below both this and the
        highest peak so far is read at half the factor, which costs less than half. The
        frames above ``exact_above`` and the highest peak (:attr:`peak`, :attr:`dbtp`) are
        exact; the :meth:`envelope` of quieter hops may read lower (the 4x grid's reading).
        The render's output check (which looks only above the ceiling less its margin) uses
        it.
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        envelope_hop: int | None = None,
        min_rate_hz: int = TRUE_PEAK_MIN_RATE_HZ,
        exact_above: float | None = None,
    ) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        self.exact_above = exact_above
        if channels < 1:
            raise AudioStyleError(ErrorCode.CHANNEL_MISMATCH, reason=f"{channels} channels")
        if envelope_hop is not None and envelope_hop < 1:
            raise AudioStyleError(
                ErrorCode.BAD_OPTION, name="hop", reason=f"{envelope_hop} frames is not positive"
            )
        self.channels = channels
        self.factor = oversampling_factor(self.sample_rate, min_rate_hz)
        self.envelope_hop = envelope_hop
        self.frames = 0
        self._peak = np.zeros(channels, dtype=np.float64)
        # float32 (frames, channels) input from frame ``measured - 23`` on, not yet measured
        self._pending: list[F32] = [np.zeros((_HALF - 1, channels), dtype=np.float32)]
        self._pending_frames = _HALF - 1
        self._env_parts: list[F32] = []
        self._env_rest = np.zeros((channels, 0), dtype=np.float32)

    def push(self, block: ArrayLike) -> None:
        """Measure a ``(frames, channels)`` block (any length)."""
        x = as_frames(block, self.channels)
        n = x.shape[0]
        if n == 0:
            return
        self.frames += n
        if self.factor == 1:
            self._add(np.abs(x.T).astype(np.float32))
            return
        total = self._pending_frames + n
        if total < _CHUNK + TAPS_PER_PHASE - 1:
            self._pending.append(np.array(x, dtype=np.float32))
            self._pending_frames = total
            return
        head = np.concatenate(self._pending)
        chunks = (total - TAPS_PER_PHASE + 1) // _CHUNK
        for k in range(chunks):
            self._add(self._chunk_peaks(head, x, k * _CHUNK))
        start = chunks * _CHUNK
        rest = [_span(head, x, start, total, c) for c in range(self.channels)]
        self._pending = [np.stack(rest, axis=1)]
        self._pending_frames = total - start

    def _chunk_peaks(self, head: F32, x: NDArray[np.floating], start: int) -> F32:
        """Per-frame peaks ``(channels, frames)`` of the chunk at ``start`` of ``head + x``."""
        stop = start + _CHUNK + TAPS_PER_PHASE - 1

        def one(c: int) -> F32:
            seg = _span(head, x, start, stop, c)
            return _frame_peaks(
                seg, _FFTS_PER_CHUNK, self.factor, self.exact_above, float(self._peak[c])
            )

        return np.stack(parallel_map(one, range(self.channels), self.channels > 1))

    def _add(self, peaks: F32) -> None:
        """Fold per-frame peaks ``(channels, frames)`` into the totals and the envelope."""
        self._peak = np.maximum(self._peak, peaks.max(axis=1))
        if self.envelope_hop is not None:
            done, self._env_rest = self._fold(peaks)
            self._env_parts.append(done)

    def _fold(self, peaks: F32) -> tuple[F32, F32]:
        """Envelope hops completed by ``peaks`` after the carried frames, and the new carry."""
        hop = self.envelope_hop or 1
        cur = np.concatenate((self._env_rest, peaks), axis=1)
        n = cur.shape[1] // hop * hop
        if n == 0:
            return np.zeros((self.channels, 0), dtype=np.float32), cur.copy()
        # reduceat: ~3x faster than a max over a short last axis of a (channels, -1, hop) view
        done = np.maximum.reduceat(cur[:, :n], np.arange(0, n, hop), axis=1)
        return np.asarray(done, dtype=np.float32), cur[:, n:].copy()

    def _tail(self) -> F32:
        """Per-frame peaks of the frames not measured yet, zero padded after the end."""
        pending = self._pending_frames - (_HALF - 1)
        if self.factor == 1 or pending <= 0:
            return np.zeros((self.channels, 0), dtype=np.float32)
        head = np.concatenate(self._pending)
        count = -(-pending // _FFT_HOP)

        def one(c: int) -> F32:
            seg = np.zeros((count - 1) * _FFT_HOP + _FFT_SIZE, dtype=np.float32)
            seg[: head.shape[0]] = head[:, c]
            peaks = _frame_peaks(seg, count, self.factor, self.exact_above, float(self._peak[c]))
            return peaks[:pending]

        return np.stack(parallel_map(one, range(self.channels), self.channels > 1))

    @property
    def channel_peaks(self) -> F64:
        """Linear true peak of every channel so far (0.0 for silence)."""
        tail = self._tail()
        if tail.shape[1] == 0:
            return self._peak.copy()
        peaks: F64 = np.maximum(self._peak, tail.max(axis=1).astype(np.float64))
        return peaks

    @property
    def peak(self) -> float:
        """Linear true peak over all channels so far."""
        return float(self.channel_peaks.max())

    @property
    def dbtp(self) -> float:
        """True peak over all channels so far in dBTP (``-inf`` for silence)."""
        return amplitude_db(self.peak)

    def envelope(self) -> F64:
        """True peak of every ``envelope_hop`` input frames so far, ``(hops, channels)``.

        The last hop may be partial; it holds the peak of the frames it has.
        """
        if self.envelope_hop is None:
            raise AudioStyleError(
                ErrorCode.BAD_OPTION, name="envelope_hop", reason="not set on this meter"
            )
        done, rest = self._fold(self._tail())
        parts = [*self._env_parts, done]
        if rest.shape[1]:
            parts.append(rest.max(axis=1, keepdims=True))
        env = np.concatenate(parts, axis=1)
        return np.ascontiguousarray(env.T, dtype=np.float64)


def amplitude_db(amplitude: float) -> float:
    """``20 log10(amplitude)``; ``-inf`` for 0."""
    return float(20.0 * np.log10(amplitude)) if amplitude > 0.0 else float("-inf")


def sample_peak_dbfs(x: ArrayLike) -> float:
    """Largest absolute sample over all channels in dBFS (``-inf`` for silence or no frames)."""
    a = as_frames(x)
    return amplitude_db(float(np.max(np.abs(a)))) if a.size else float("-inf")


def true_peak_dbtp(x: ArrayLike, sample_rate: int) -> float:
    """True peak (dBTP, ITU-R BS.1770-4 Annex 2) of a ``(frames, channels)`` signal.

    Maximum over channels of the absolute value of the signal oversampled to at least
    176.4 kHz (see :class:`TruePeakMeter`); ``-inf`` for silence.
    """
    a = as_frames(x)
    meter = TruePeakMeter(sample_rate, a.shape[1])
    meter.push(a)
    return meter.dbtp


def true_peak_envelope(x: ArrayLike, sample_rate: int, hop: int) -> F64:
    """True peak (linear) of every ``hop`` input frames, per channel.

    Parameters
    ----------
    x : array_like
        ``(frames, channels)`` signal.
    sample_rate : int
        Sample rate in Hz.
    hop : int
        Frames per hop.

    Returns
    -------
    ndarray, shape (ceil(frames / hop), channels)
        Abs max of the oversampled signal (BS.1770-4 Annex 2) at the points
        ``n + p / factor`` for the frames ``n`` of each hop; the last hop may be partial.
    """
    a = as_frames(x)
    meter = TruePeakMeter(sample_rate, a.shape[1], envelope_hop=hop)
    meter.push(a)
    return meter.envelope()


def crest_factor_db(x: ArrayLike) -> float:
    """Sample peak over RMS of all samples of all channels, in dB (0.0 for silence)."""
    a = as_frames(x)
    if a.size == 0:
        return 0.0
    peak = float(np.max(np.abs(a)))
    rms = float(np.sqrt(np.mean(np.square(a, dtype=np.float64))))
    return amplitude_db(peak) - amplitude_db(rms) if rms > 0.0 else 0.0


def plr_db(true_peak_dbtp: float, integrated_lufs: float) -> float:
    """Peak-to-loudness ratio (dB): true peak minus integrated loudness (EBU R 128 s1).

    0.0 when either value is not finite (silence).
    """
    if not (np.isfinite(true_peak_dbtp) and np.isfinite(integrated_lufs)):
        return 0.0
    return float(true_peak_dbtp - integrated_lufs)


__all__ = [
    "TruePeakMeter",
    "amplitude_db",
    "crest_factor_db",
    "interpolation_phases",
    "oversampling_factor",
    "plr_db",
    "sample_peak_dbfs",
    "true_peak_dbtp",
    "true_peak_envelope",
]
