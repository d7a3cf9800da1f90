"""Impulse-response export: the preset's EQ stage as WAV files a convolution plugin loads.

The responses are the engine's own FIRs (:func:`engine.render.eq_filters`, designed by
:func:`engine.dsp.fir.design_fir`) at the chosen sample rate, so convolving with them *is* the
engine's EQ stage:

- linear phase: the FIR itself, ``n_taps`` long with a latency of ``n_taps // 2`` samples
  (the engine removes that delay; a DAW compensates it when the convolver reports it,
  otherwise shift the track);
- minimum phase: the same magnitude with zero latency, from the real cepstrum of the FIR's
  magnitude (homomorphic method, A. V. Oppenheim & R. W. Schafer, *Discrete-Time Signal
  Processing*, 3rd ed., 13.6): an FIR's minimum-phase twin is an FIR of the same length.

Files (for ``-o EQ.wav``):

- ``EQ.wav``: plain stereo, the mid curve on each channel (what both channels share; no
  width change), for any stereo convolver;
- ``EQ.true-stereo.wav`` (when the preset has a side curve): 4 channels in the order
  L->L, L->R, R->L, R->R (the "true stereo" layout of REAPER's ReaVerb, Logic's Space Designer
  and most 4-channel convolvers): the mid/side EQ written as ``L' = LL*L + RL*R`` and
  ``R' = LR*L + RR*R`` with ``LL = RR = (mid + side) / 2`` and ``LR = RL = (mid - side) / 2``.

Samples are 32-bit float and not normalised (a +6 dB boost stays +6 dB): turn off the
convolver's own IR normalisation / auto gain.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from engine import io
from engine.render import eq_filters
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.preset import Preset

F64 = NDArray[np.float64]
Phase = Literal["linear", "minimum"]
PHASES = ("linear", "minimum")
IR_SAMPLE_RATES = (44100, 48000, 96000)
TRUE_STEREO_SUFFIX = ".true-stereo"
# 4-channel true-stereo order: (input channel, output channel) per file channel
TRUE_STEREO_ORDER = ((0, 0), (0, 1), (1, 0), (1, 1))


@dataclass
class ImpulseResponses:
    """The EQ stage as impulse responses at ``sample_rate``.

    ``mid``/``side`` are the filters of the mid and side signals (``side`` is ``mid`` for a
    preset without a side curve); ``latency`` is the delay in samples the responses add.
    """

    mid: F64
    side: F64
    sample_rate: int
    phase: Phase
    latency: int
    has_side: bool

    def description(self) -> str:
        """What the file holds, for its INFO comment."""
        return (
            f"audio-style EQ, {self.phase} phase, latency {self.latency} samples at "
            f"{self.sample_rate} Hz; not normalised"
        )

    def plain_stereo(self) -> F64:
        """``(taps, 2)``: the mid filter on each channel."""
        return np.stack([self.mid, self.mid], axis=1)

    def true_stereo(self) -> F64:
        """``(taps, 4)``: L->L, L->R, R->L, R->R (see the module docstring)."""
        direct = 0.5 * (self.mid + self.side)
        cross = 0.5 * (self.mid - self.side)
        return np.stack([direct, cross, cross, direct], axis=1)


def minimum_phase(h: F64, oversample: int = 16) -> F64:
    """The minimum-phase FIR with the magnitude response of ``h`` and its length.

    Homomorphic method: fold the real cepstrum of ``log|H|`` onto positive quefrencies
    (Oppenheim & Schafer, 13.6.2); the FFT is ``oversample`` times longer than ``h`` so the
    cepstrum does not alias (measured: magnitude within 1e-11 dB of ``h`` for the engine's
    FIRs, the discarded tail below -300 dB).
    """
    n = len(h)
    n_fft = 1 << int(np.ceil(np.log2(oversample * n)))
    mag = np.abs(np.fft.rfft(h, n_fft))
    cep = np.fft.irfft(np.log(np.maximum(mag, 1e-12)), n_fft)
    fold = np.zeros(n_fft)
    fold[0] = 1.0
    fold[1 : n_fft // 2] = 2.0
    fold[n_fft // 2] = 1.0
    h_min = np.fft.irfft(np.exp(np.fft.rfft(cep * fold)), n_fft)[:n]
    return np.asarray(h_min, dtype=np.float64)


def impulse_responses(
    preset: Preset, sample_rate: int, phase: Phase = "linear"
) -> ImpulseResponses:
    """The preset's EQ stage as impulse responses (the engine's FIRs at ``sample_rate``)."""
    if phase not in PHASES:
        raise AudioStyleError(
            ErrorCode.BAD_OPTION, name="--phase", reason=f"one of {', '.join(PHASES)}"
        )
    filters = eq_filters(preset, sample_rate, 2)
    if filters is None:  # EQ off: a unit impulse (with the linear-phase latency)
        from engine.dsp.fir import fir_length

        n = fir_length(sample_rate)
        unit = np.zeros(n)
        unit[n // 2 if phase == "linear" else 0] = 1.0
        filters = [unit, unit]
    mid, side = filters
    if phase == "minimum":
        mid = minimum_phase(mid)
        side = mid if preset.eq.side is None else minimum_phase(side)
    latency = len(mid) // 2 if phase == "linear" else 0
    return ImpulseResponses(mid, side, sample_rate, phase, latency, preset.eq.side is not None)


def true_stereo_path(path: str | Path) -> Path:
    """``EQ.wav`` -> ``EQ.true-stereo.wav``."""
    p = Path(path)
    return p.with_name(p.stem + TRUE_STEREO_SUFFIX + p.suffix)


def write_impulse_responses(
    preset: Preset,
    path: str | Path,
    *,
    sample_rate: int = 48000,
    phase: Phase = "linear",
    force: bool = False,
) -> tuple[ImpulseResponses, list[Path]]:
    """Write ``path`` (plain stereo) and, with a side curve, its true-stereo sibling, each
    atomically; returns the responses and the paths written."""
    if sample_rate not in IR_SAMPLE_RATES:
        raise AudioStyleError(
            ErrorCode.BAD_OPTION,
            name="--sample-rate",
            reason=f"one of {', '.join(str(r) for r in IR_SAMPLE_RATES)}",
        )
    irs = impulse_responses(preset, sample_rate, phase)
    files = [(Path(path), irs.plain_stereo())]
    if irs.has_side:
        files.append((true_stereo_path(path), irs.true_stereo()))
    for p, _ in files:  # check every output before writing any
        io.check_output_path(p, force)
    for p, data in files:
        io.atomic_write_bytes(p, _wav_bytes(data, sample_rate, irs.description()), force=force)
    return irs, [p for p, _ in files]


def _wav_bytes(data: F64, sample_rate: int, comment: str) -> bytes:
    """32-bit float WAV with ``comment`` in its INFO chunk (the latency travels with it)."""
    buf = BytesIO()
    with sf.SoundFile(buf, "w", sample_rate, data.shape[1], "FLOAT", format="WAV") as f:
        f.comment = comment
        f.software = "audio-style"
        f.write(np.asarray(data, dtype=np.float32))
    return buf.getvalue()


def convolve_true_stereo(x: F64, ir: F64) -> F64:
    """Reference convolution of a stereo ``x`` with an impulse-response file's channels, as a
    convolver does it: 1 or 2 channels filter each channel on its own (a mono IR both);
    4 channels are the true-stereo layout. The output has ``len(x) + taps - 1`` frames."""
    from engine.dsp.fir import next_fast_len

    n = len(x) + len(ir) - 1
    n_fft = next_fast_len(n)
    xs = np.fft.rfft(x, n_fft, axis=0)
    hs = np.fft.rfft(ir, n_fft, axis=0)
    if ir.shape[1] == 4:
        out = np.zeros((xs.shape[0], 2), dtype=np.complex128)
        for c, (i, o) in enumerate(TRUE_STEREO_ORDER):
            out[:, o] += xs[:, i] * hs[:, c]
    else:
        out = xs * (hs if ir.shape[1] == x.shape[1] else hs[:, :1])
    y = np.fft.irfft(out, n_fft, axis=0)[:n]
    return np.asarray(y, dtype=np.float64)
