"""Analysis of a signal: loudness (ITU-R BS.1770-4), loudness range (EBU Tech 3342), true peak
(BS.1770-4 Annex 2), long-term mid/side spectra and per-band stereo width/correlation.

Statistics are accumulated block by block (:class:`AnalysisAccumulator`) and can be merged
across chunks; :meth:`AnalysisAccumulator.finish` turns them into an :class:`Analysis`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from engine.analysis.loudness import (
    KWeightedEnergy,
    integrated_loudness,
    loudness_range,
    short_term_loudness,
)
from engine.analysis.peaks import TruePeakMeter
from engine.analysis.spectrum import (
    SpectrumAccumulator,
    log_grid,
    power_db,
    smooth_octaves,
    to_log_grid,
)
from engine.backends import Backend
from engine.schema.preset import AnalysisSummary

F64 = NDArray[np.float64]
POINTS_PER_OCTAVE = 48
WIDTH_BAND_EDGES_HZ = (20.0, 120.0, 300.0, 800.0, 2000.0, 5000.0, 10000.0, 22000.0)
SPECTRUM_SMOOTHING_OCTAVES = 1 / 6
FULL_SCALE = 10.0 ** (-0.01 / 20.0)  # samples at least this large count as full scale


@dataclass
class Analysis:
    """Measurements of one signal at one sample rate."""

    summary: AnalysisSummary
    freqs_hz: F64
    mid_db: F64  # long-term power spectrum of mid (dB, 1/6-octave smoothed), log grid
    side_db: F64 | None  # same for side (None for mono / multichannel)
    mid_raw_db: F64  # unsmoothed (1/48-octave bands)
    side_raw_db: F64 | None
    short_term_lufs: F64  # 3 s windows every 100 ms
    momentary_energies: F64  # K-weighted 100 ms hop energies
    band_edges_hz: F64
    band_width_db: F64  # side/mid energy ratio per band (dB)
    band_correlation: F64  # L/R correlation per band (-1..1)
    full_scale_fraction: float = 0.0  # share of samples at full scale (>= -0.01 dBFS): clipping

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz of the analysed signal."""
        return self.summary.sample_rate


@dataclass
class AnalysisAccumulator:
    """Streaming, mergeable analysis statistics."""

    sample_rate: int
    channels: int
    true_peak: bool = True
    backend: Backend | None = None  # compute backend of the spectrum (None: numpy)
    frames: int = 0
    sum_sq: float = 0.0
    sample_peak: float = 0.0
    nonzero: bool = False
    full_scale: int = 0
    loud: KWeightedEnergy = field(init=False)
    spec: SpectrumAccumulator = field(init=False)
    tp: TruePeakMeter = field(init=False)

    def __post_init__(self) -> None:
        self.loud = KWeightedEnergy(self.sample_rate, self.channels)
        self.spec = SpectrumAccumulator(self.sample_rate, self.channels, backend=self.backend)
        self.tp = TruePeakMeter(self.sample_rate, self.channels)

    def push(self, block: NDArray[np.floating]) -> None:
        """Add a ``(frames, channels)`` block."""
        b = np.asarray(block)
        self.frames += len(b)
        self.sum_sq += float(np.sum(np.square(b, dtype=np.float64)))
        mag = np.abs(b)
        peak = float(np.max(mag)) if b.size else 0.0
        self.sample_peak = max(self.sample_peak, peak)
        if peak >= FULL_SCALE:
            self.full_scale += int(np.count_nonzero(mag >= FULL_SCALE))
        self.loud.push(b)
        self.spec.push(b)
        if self.true_peak:
            self.tp.push(b)

    def finish(self) -> Analysis:
        """Turn the accumulated statistics into an :class:`Analysis`."""
        sr = self.sample_rate
        energies = self.loud.energies()
        lufs = float(integrated_loudness(energies))
        lra = float(loudness_range(energies))
        st = np.asarray(short_term_loudness(energies), dtype=np.float64)
        sp_db = _db(self.sample_peak)
        tp_db = float(self.tp.dbtp) if self.true_peak else sp_db
        rms = np.sqrt(self.sum_sq / max(1, self.frames * self.channels))
        crest = sp_db - _db(float(rms))
        freqs = log_grid(sr, POINTS_PER_OCTAVE)
        n_fft = self.spec.n_fft

        def grid(key: str) -> F64:
            return power_db(to_log_grid(self.spec.mean_power(key), sr, n_fft, freqs))

        mid_raw = grid("mid")
        side_raw = grid("side") if self.channels == 2 else None
        edges = np.array([e for e in WIDTH_BAND_EDGES_HZ if e < sr / 2] + [sr / 2], dtype=float)
        width_db, corr, total_width, total_corr = self._band_stereo(edges)
        summary = AnalysisSummary(
            integrated_lufs=_finite(lufs),
            loudness_range_lu=_finite(lra, 0.0),
            true_peak_dbtp=_finite(tp_db),
            sample_peak_dbfs=_finite(sp_db),
            plr_db=_finite(tp_db - lufs, 0.0),
            crest_db=_finite(crest, 0.0),
            width_db=_finite(total_width),
            correlation=_finite(total_corr, 1.0),
            length_s=self.frames / sr,
            sample_rate=sr,
            channels=self.channels,
            true_peak_measured=self.true_peak,
        )
        return Analysis(
            summary=summary,
            freqs_hz=freqs,
            mid_db=smooth_octaves(mid_raw, POINTS_PER_OCTAVE, SPECTRUM_SMOOTHING_OCTAVES),
            side_db=None
            if side_raw is None
            else smooth_octaves(side_raw, POINTS_PER_OCTAVE, SPECTRUM_SMOOTHING_OCTAVES),
            mid_raw_db=mid_raw,
            side_raw_db=side_raw,
            short_term_lufs=st,
            momentary_energies=np.asarray(energies, dtype=np.float64),
            band_edges_hz=edges,
            band_width_db=width_db,
            band_correlation=corr,
            full_scale_fraction=self.full_scale / max(1, self.frames * self.channels),
        )

    def _band_stereo(self, edges: F64) -> tuple[F64, F64, float, float]:
        nb = len(edges) - 1
        if self.channels != 2:
            return np.full(nb, -120.0), np.ones(nb), -120.0, 1.0
        bin_hz = self.sample_rate / self.spec.n_fft
        f = np.arange(self.spec.n_fft // 2 + 1) * bin_hz
        m, s = self.spec.mean_power("mid"), self.spec.mean_power("side")
        ll, rr, lr = (self.spec.mean_power(k) for k in ("left", "right", "cross"))
        width, corr = np.zeros(nb), np.zeros(nb)
        for i in range(nb):
            sel = (f >= edges[i]) & (f < edges[i + 1])
            width[i] = _db_pow(float(s[sel].sum()) / max(float(m[sel].sum()), 1e-30))
            den = np.sqrt(float(ll[sel].sum()) * float(rr[sel].sum()))
            corr[i] = float(lr[sel].sum()) / den if den > 0 else 1.0
        den = np.sqrt(float(ll.sum()) * float(rr.sum()))
        total_corr = float(lr.sum()) / den if den > 0 else 1.0
        total_width = _db_pow(float(s.sum()) / max(float(m.sum()), 1e-30))
        return width, corr, total_width, total_corr


def analyze_array(x: NDArray[np.floating], sample_rate: int) -> Analysis:
    """Analyse a whole ``(frames, channels)`` array sampled at ``sample_rate`` Hz."""
    acc = AnalysisAccumulator(sample_rate, x.shape[1])
    acc.push(x)
    return acc.finish()


def _db(v: float) -> float:
    return float(20.0 * np.log10(max(v, 1e-12)))


def _db_pow(v: float) -> float:
    return float(10.0 * np.log10(max(v, 1e-12)))


def _finite(v: float, default: float = -120.0) -> float:
    return float(v) if np.isfinite(v) else default


__all__ = ["Analysis", "AnalysisAccumulator", "analyze_array"]
