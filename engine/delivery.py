"""Delivery check (``audio-style qc``): how a master fares where it is played.

For every streaming service of :data:`engine.services.SERVICES`: the normalisation gain it
applies and the resulting playback loudness, and the true peak after its delivery codec
(encode + decode through FFmpeg, :func:`engine.codecs.round_trip`). For the file itself:
true peak and inter-sample overs (ITU-R BS.1770-4 Annex 2), mono fold-down (the loudness
change of ``(L + R) / 2`` on both channels, BS.1770-4, and the octave bands that cancel),
the minimum short-term (3 s, EBU Tech 3341 window) L/R correlation, clipped samples and DC
offset. Every figure has a pass/fail verdict; ``--strict`` turns a failure into exit 1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from engine import codecs
from engine.analysis.loudness import integrated_lufs
from engine.analysis.peaks import (
    TruePeakMeter,
    amplitude_db,
    true_peak_dbtp,
    true_peak_envelope,
)
from engine.schema.delivery import DeliveryReport, MonoFold, ServiceResult
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.services import SERVICES, TABLE_SOURCE, Service, service_gain_db

__all__ = [
    "CEILING_DBTP",
    "codec_true_peak_dbtp",
    "codec_true_peak_dbtp_stream",
    "delivery_report",
    "mono_fold",
    "next_ceiling",
    "select_services",
]

F64 = NDArray[np.float64]
CEILING_DBTP: Final = -1.0
"""Highest true peak a delivered file should have, before and after the codec (AES TD1008)."""
MONO_LOSS_LIMIT_DB: Final = -4.5
"""Mono fold-down loudness change below which the fold fails (uncorrelated L/R: -3 dB)."""
CANCEL_BAND_DB: Final = -6.0
"""A band whose fold-down loses more than this cancels (3 dB worse than uncorrelated)."""
CORRELATION_LIMIT: Final = -0.2
"""Minimum short-term correlation below which the file fails (out-of-phase content; wide
but unrelated channels sit near 0)."""
CLIP_LEVEL: Final = 10.0 ** (-0.01 / 20.0)
CLIP_RUN: Final = 3
"""Samples at full scale (>= -0.01 dBFS) in runs of at least this many count as clipped."""
DC_LIMIT_DBFS: Final = -50.0
"""DC offset (per channel mean) above which the file fails."""
OCTAVE_CENTRES_HZ: Final = tuple(1000.0 * 2.0**k for k in range(-5, 5))  # 31.25 Hz .. 16 kHz
_SHORT_TERM_S: Final = 3.0
_OVER_HOP_S: Final = 0.01


def next_ceiling(
    unsafe: tuple[float, float],
    safe: tuple[float, float] | None,
    wanted_dbtp: float,
    margin_db: float,
) -> float | None:
    """The next limiter ceiling to try for a codec-safe result (``None``: bracket closed).

    Parameters
    ----------
    unsafe : (float, float)
        The lowest ceiling tried whose codec true peak was over ``wanted_dbtp``, and that peak.
    safe : (float, float) or None
        The highest ceiling tried that stayed under, and its codec true peak.
    wanted_dbtp : float
        The ceiling the result must keep after the codec.
    margin_db : float
        Aim this far under ``wanted_dbtp``.

    Returns
    -------
    float or None
        Without a safe point: ``unsafe`` lowered by its codec overshoot (as if the overshoot
        were constant); with one: the secant between both points aiming at
        ``wanted - margin / 2``, kept 0.02 dB inside the bracket.
    """
    c_hi, tp_hi = unsafe
    if safe is None:
        return c_hi - (tp_hi - wanted_dbtp) - margin_db
    c_lo, tp_lo = safe
    if c_hi - c_lo < 0.05:
        return None
    slope = (tp_hi - tp_lo) / (c_hi - c_lo)
    aim = wanted_dbtp - margin_db / 2
    c = c_lo + (aim - tp_lo) / slope if slope > 0 else (c_lo + c_hi) / 2
    return float(min(max(c, c_lo + 0.02), c_hi - 0.02))


def select_services(names: Sequence[str]) -> list[Service]:
    """The services named (``--platform``), all of them for none; ``BAD_OPTION`` otherwise."""
    if not names:
        return list(SERVICES)
    by_key = {s.key: s for s in SERVICES}
    chosen = []
    for n in names:
        key = re.sub(r"[\s_-]|music", "", n.lower()) or n
        if key not in by_key:
            raise AudioStyleError(
                ErrorCode.BAD_OPTION, name="--platform", reason=f"one of {', '.join(by_key)}"
            )
        chosen.append(by_key[key])
    return chosen


def codec_true_peak_dbtp(x: NDArray[np.floating[Any]], sample_rate: int, codec: str) -> float:
    """True peak (dBTP, BS.1770-4 Annex 2) of ``x`` after ``codec``'s encode and decode.

    Parameters
    ----------
    x : ndarray, shape (frames, channels)
        The master, full scale [-1, 1].
    sample_rate : int
        Its rate in Hz.
    codec : str
        A key of :data:`engine.codecs.CODECS`.

    Returns
    -------
    float
        The decoded signal's true peak (the codec may resample, e.g. Opus to 48 kHz).
    """
    return codec_true_peak_dbtp_stream([x], sample_rate, x.shape[1], codec)


def codec_true_peak_dbtp_stream(
    blocks: Iterable[NDArray[np.floating[Any]]], sample_rate: int, channels: int, codec: str
) -> float:
    """:func:`codec_true_peak_dbtp` of a signal given as consecutive ``(n, channels)`` blocks
    (a file streamed by :func:`engine.io.iter_blocks`): memory holds the encoded stream, not
    the audio (:func:`engine.codecs.round_trip_stream`), so an hour-long master is measured
    in a few hundred MB. Equal to :func:`codec_true_peak_dbtp` of the joined blocks where the
    codec takes the input rate (Opus resamples to 48 kHz block by block: within the last
    bits)."""
    kept = min(channels, 2)
    parts, rate = codecs.round_trip_stream(
        (_stereo_or_mono(b) for b in blocks), sample_rate, kept, codec
    )
    meter = TruePeakMeter(rate, kept)
    for p in parts:
        meter.push(p)
    return meter.dbtp


def _stereo_or_mono(x: NDArray[np.floating[Any]]) -> NDArray[np.floating[Any]]:
    """Delivery codecs take 1 or 2 channels: more are folded to stereo (front pair)."""
    return x if x.shape[1] <= 2 else x[:, :2]


def mono_fold(x: NDArray[np.floating[Any]], sample_rate: int) -> MonoFold:
    """Mono fold-down: loudness change and the octave bands that cancel.

    The fold is ``m = (L + R) / 2`` played on both channels; its loudness change is
    ``LUFS([m, m]) - LUFS([L, R])`` (ITU-R BS.1770-4), 0 dB for identical channels, -3 dB for
    uncorrelated ones and -inf for opposite ones. Per octave band the change is
    ``10 log10(2 P_m / (P_L + P_R))`` from long-term power spectra (Hann, 8192 points); bands
    within 40 dB of the loudest that lose more than :data:`CANCEL_BAND_DB` cancel.

    Parameters
    ----------
    x : ndarray, shape (frames, channels)
        The master; a mono file folds to itself.
    sample_rate : int
        Its rate in Hz.

    Returns
    -------
    MonoFold
    """
    if x.shape[1] < 2:
        return MonoFold(loss_db=0.0, band_centres_hz=[], band_loss_db=[], cancelling_hz=[])
    left, right = x[:, 0].astype(np.float64), x[:, 1].astype(np.float64)
    m = 0.5 * (left + right)
    stereo = integrated_lufs(np.stack([left, right], 1), sample_rate)
    mono = integrated_lufs(np.stack([m, m], 1), sample_rate)
    loss = mono - stereo if math.isfinite(stereo) else 0.0
    pl, pr, pm, f = _power_spectra(left, right, m, sample_rate)
    centres, losses, levels = [], [], []
    for c in OCTAVE_CENTRES_HZ:
        sel = (f >= c / math.sqrt(2)) & (f < c * math.sqrt(2))
        if c * math.sqrt(2) > sample_rate / 2 or not sel.any():
            continue
        lr = float(pl[sel].sum() + pr[sel].sum())
        centres.append(c)
        levels.append(10 * math.log10(max(lr, 1e-30)))
        losses.append(10 * math.log10(max(2 * float(pm[sel].sum()), 1e-30) / max(lr, 1e-30)))
    top = max(levels, default=0.0)
    cancelling = [
        c
        for c, lo, lv in zip(centres, losses, levels, strict=True)
        if lv > top - 40 and lo < CANCEL_BAND_DB
    ]
    return MonoFold(
        loss_db=float(max(loss, -120.0)),
        band_centres_hz=centres,
        band_loss_db=[round(v, 2) for v in losses],
        cancelling_hz=cancelling,
    )


def _power_spectra(*signals_and_rate: Any) -> tuple[F64, F64, F64, F64]:
    *signals, sample_rate = signals_and_rate
    n = 8192
    win = np.hanning(n)
    frames = max(1, (len(signals[0]) - n) // (n // 2) + 1)
    out = []
    for s in signals:
        if len(s) < n:
            s = np.pad(s, (0, n - len(s)))
        acc = np.zeros(n // 2 + 1)
        for k in range(frames):
            seg = s[k * (n // 2) : k * (n // 2) + n]
            acc += np.abs(np.fft.rfft(seg * win)) ** 2
        out.append(acc)
    return out[0], out[1], out[2], np.fft.rfftfreq(n, 1.0 / sample_rate)


def min_short_term_correlation(x: NDArray[np.floating[Any]], sample_rate: int) -> float:
    """Smallest Pearson correlation of L and R over 3 s windows (1 s hop); 1.0 for mono.

    Windows quieter than 60 dB below the loudest are skipped (silence has no correlation).
    """
    if x.shape[1] < 2:
        return 1.0
    w, hop = int(_SHORT_TERM_S * sample_rate), sample_rate
    left, right = x[:, 0].astype(np.float64), x[:, 1].astype(np.float64)
    stats = []
    for start in range(0, max(1, len(x) - w + 1), hop):
        a, b = left[start : start + w], right[start : start + w]
        a, b = a - a.mean(), b - b.mean()
        ea, eb = float(a @ a), float(b @ b)
        stats.append((ea + eb, float(a @ b) / math.sqrt(ea * eb) if ea > 0 and eb > 0 else 1.0))
    loudest = max(e for e, _ in stats)
    kept = [c for e, c in stats if e > loudest * 1e-6]
    return float(min(kept, default=1.0))


def clipped_samples(x: NDArray[np.floating[Any]]) -> int:
    """Samples at full scale (>= -0.01 dBFS) in runs of :data:`CLIP_RUN` or more, all channels."""
    total = 0
    for c in range(x.shape[1]):
        hot = np.abs(x[:, c]) >= CLIP_LEVEL
        if not hot.any():
            continue
        edges = np.diff(np.concatenate([[0], hot.astype(np.int8), [0]]))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        runs = stops - starts
        total += int(runs[runs >= CLIP_RUN].sum())
    return total


def dc_offset_dbfs(x: NDArray[np.floating[Any]]) -> float:
    """Largest per-channel mean, in dBFS."""
    return amplitude_db(float(np.max(np.abs(np.mean(x, axis=0, dtype=np.float64)))))


def inter_sample_overs(x: NDArray[np.floating[Any]], sample_rate: int) -> int:
    """Number of 10 ms windows whose true peak exceeds 0 dBFS (BS.1770-4 Annex 2)."""
    env = true_peak_envelope(x, sample_rate, max(1, int(_OVER_HOP_S * sample_rate)))
    return int(np.count_nonzero(env.max(axis=1) > 1.0))


def delivery_report(
    x: NDArray[np.floating[Any]], sample_rate: int, services: Sequence[Service] = SERVICES
) -> DeliveryReport:
    """Every delivery figure of a master (see the module docstring).

    Parameters
    ----------
    x : ndarray, shape (frames, channels)
        The master, full scale.
    sample_rate : int
        Its rate in Hz.
    services : sequence of Service
        Which services to check (default: all of :data:`engine.services.SERVICES`).

    Returns
    -------
    DeliveryReport
    """
    lufs = integrated_lufs(x, sample_rate)
    tp = true_peak_dbtp(x, sample_rate)
    # one codec at a time: each round trip holds the decoded file, and parallel ones held
    # several copies of a long master at once (2.9 GB peak for 10 minutes in the app)
    peaks = {
        c: codec_true_peak_dbtp(x, sample_rate, c) for c in sorted({s.codec for s in services})
    }
    rows = []
    for s in services:
        gain = service_gain_db(s, lufs, tp)
        rows.append(
            ServiceResult(
                key=s.key,
                label=s.label,
                target_lufs=s.target_lufs,
                gain_db=round(gain, 2),
                playback_lufs=round(lufs + gain, 2),
                codec=s.codec,
                codec_true_peak_dbtp=round(peaks[s.codec], 2),
                passed=peaks[s.codec] <= CEILING_DBTP,
            )
        )
    fold = mono_fold(x, sample_rate)
    corr = min_short_term_correlation(x, sample_rate)
    clips = clipped_samples(x)
    dc = dc_offset_dbfs(x)
    overs = inter_sample_overs(x, sample_rate)
    return DeliveryReport(
        integrated_lufs=round(lufs, 2),
        true_peak_dbtp=round(tp, 2),
        inter_sample_overs=overs,
        services=rows,
        mono=fold,
        min_correlation=round(corr, 3),
        clipped_samples=clips,
        dc_offset_dbfs=round(max(dc, -200.0), 1),
        checks={
            "true_peak": tp <= CEILING_DBTP,
            "codec_true_peak": all(r.passed for r in rows),
            "inter_sample_overs": overs == 0,
            "mono_fold": fold.loss_db >= MONO_LOSS_LIMIT_DB and not fold.cancelling_hz,
            "correlation": corr >= CORRELATION_LIMIT,
            "clipping": clips == 0,
            "dc_offset": dc <= DC_LIMIT_DBFS,
        },
        source=TABLE_SOURCE,
    )
