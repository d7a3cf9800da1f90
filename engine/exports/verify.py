"""Null test of an export: render the engine's EQ stage and the export's on the same target
and measure how far apart they are.

Figures (all in dB):

- ``residual_db``: energy of the difference relative to the engine's output, after the best
  integer alignment (an impulse response's latency); a linear-phase impulse response nulls
  to float precision, a minimum-phase one does not (its phase differs by design);
- ``magnitude_error_db`` (impulse responses): largest deviation of the file's mid and side
  magnitude responses from the engine's FIRs, 20 Hz to 20 kHz (or 0.45 x the rate);
- ``band_error_db``: largest per-band level difference of the two outputs over the
  1/3-octave bands 31.5 Hz-16 kHz (IEC 61260-1 base-2 centres).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from engine import io
from engine.dsp.fir import next_fast_len, response_db
from engine.exports.ffmpeg import FilterSpec, chain_of_file, parse_filtergraph, run_chain
from engine.exports.ir import convolve_true_stereo
from engine.render import eq_filters, eq_stage
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.preset import Preset

F64 = NDArray[np.float64]
MAX_IR_SECONDS = 10.0
DEFAULT_SECONDS = 60.0  # verify nulls the first minute of the target (memory stays modest)
BAND_CENTRES_HZ = 1000.0 * 2.0 ** (np.arange(-15, 13) / 3.0)  # 31.5 Hz .. 16 kHz
# filters after the EQ in an ffmpeg export: dynamics, gain and limiter (not nulled)
NOT_EQ_FILTERS = frozenset({"acompressor", "volume", "alimiter"})
# notes (keys the CLI words in the user's language)
NOTE_PLAIN_STEREO = "plain_stereo"  # a plain stereo response has no mid/side (width) change
NOTE_EQ_PART = "eq_part"  # only the chain's EQ part is nulled


@dataclass
class VerifyResult:
    """What :func:`verify_export` measured."""

    kind: str  # "ir" or "ffmpeg"
    residual_db: float
    band_error_db: float
    magnitude_error_db: float | None = None
    lag: int = 0
    channels: int = 0
    notes: list[str] = field(default_factory=list)  # NOTE_* keys


def residual_db(reference: F64, y: F64) -> float:
    """``10 log10(sum((y - reference)^2) / sum(reference^2))``."""
    num = float(np.sum((y - reference) ** 2))
    den = float(np.sum(reference**2))
    return float(10.0 * np.log10(max(num, 1e-300) / max(den, 1e-300)))


def best_lag(reference: F64, y: F64, max_lag: int) -> int:
    """The delay ``0..max_lag`` of ``y`` that best matches ``reference`` (cross-correlation
    of the channel sums)."""
    a = reference.sum(axis=1)
    b = y.sum(axis=1)
    n = next_fast_len(len(a) + len(b))
    xc = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)
    return int(np.argmax(xc[: max_lag + 1]))


def band_levels_db(x: F64, sample_rate: int) -> F64:
    """Energy (dB) of ``x`` in each 1/3-octave band of :data:`BAND_CENTRES_HZ` (NaN above
    0.45 x the rate)."""
    spec = np.sum(np.abs(np.fft.rfft(x, axis=0)) ** 2, axis=1)
    f = np.fft.rfftfreq(len(x), 1.0 / sample_rate)
    out = np.full(len(BAND_CENTRES_HZ), np.nan)
    for k, c in enumerate(BAND_CENTRES_HZ):
        if c * 2 ** (1 / 6) > 0.45 * sample_rate:
            continue
        sel = (f >= c * 2 ** (-1 / 6)) & (f < c * 2 ** (1 / 6))
        out[k] = 10.0 * np.log10(float(spec[sel].sum()) + 1e-30)
    return out


def band_error_db(reference: F64, y: F64, sample_rate: int) -> float:
    """Largest |level difference| over the 1/3-octave bands that hold signal (within 80 dB
    of the loudest band)."""
    a = band_levels_db(reference, sample_rate)
    b = band_levels_db(y, sample_rate)
    ok = np.isfinite(a) & (a > np.nanmax(a) - 80.0)
    return float(np.max(np.abs(b[ok] - a[ok]))) if ok.any() else 0.0


def read_impulse_response(path: str | Path) -> tuple[F64, int]:
    """An impulse-response WAV (1, 2 or 4 channels, at most 10 s), sizes checked first."""
    p = Path(path)
    try:
        info = sf.info(str(p))
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioStyleError(ErrorCode.BAD_EXPORT, path=str(p), reason=str(exc)[:120]) from None
    if info.channels not in (1, 2, 4):
        raise AudioStyleError(
            ErrorCode.BAD_EXPORT, path=str(p), reason=f"{info.channels} channels (1, 2 or 4)"
        )
    if info.frames > MAX_IR_SECONDS * info.samplerate or info.frames == 0:
        raise AudioStyleError(ErrorCode.BAD_EXPORT, path=str(p), reason="length")
    data, rate = sf.read(str(p), dtype="float64", always_2d=True)
    return np.asarray(data, dtype=np.float64), int(rate)


def ir_magnitude_error_db(preset: Preset, ir: F64, sample_rate: int) -> float:
    """Largest deviation (dB) of the file's mid/side magnitude responses from the engine's
    FIRs at this rate, 20 Hz to min(20 kHz, 0.45 x rate)."""
    filters = eq_filters(preset, sample_rate, 2)
    f = np.geomspace(20.0, min(20000.0, 0.45 * sample_rate), 600)
    if filters is None:
        want = [np.zeros_like(f), np.zeros_like(f)]
    else:
        want = [response_db(h, f, sample_rate) for h in filters]
    if ir.shape[1] == 4:
        ll, lr = ir[:, 0], ir[:, 1]
        got = [response_db(ll + lr, f, sample_rate), response_db(ll - lr, f, sample_rate)]
        pairs = list(zip(got, want, strict=True))
    else:  # plain: each channel carries the mid curve
        pairs = [(response_db(ir[:, c], f, sample_rate), want[0]) for c in range(ir.shape[1])]
    return float(max(np.max(np.abs(g - w)) for g, w in pairs))


def verify_export(preset: Preset, x: F64, sample_rate: int, exported: str | Path) -> VerifyResult:
    """Null ``exported`` (an impulse-response WAV or an ffmpeg chain file) against the
    engine's EQ stage on ``x`` (``(frames, channels)``)."""
    p = Path(exported)
    if not p.is_file():
        raise AudioStyleError(ErrorCode.FILE_NOT_FOUND, path=str(p))
    engine_y = eq_stage(preset, x, sample_rate)
    if p.suffix.lower() == ".wav":
        return _verify_ir(preset, x, sample_rate, engine_y, p)
    return _verify_ffmpeg(x, sample_rate, engine_y, p)


def _verify_ir(preset: Preset, x: F64, sample_rate: int, engine_y: F64, path: Path) -> VerifyResult:
    ir, rate = read_impulse_response(path)
    if rate != sample_rate:
        raise AudioStyleError(ErrorCode.EXPORT_RATE_MISMATCH, ir_rate=rate, rate=sample_rate)
    if ir.shape[1] == 4 and x.shape[1] != 2:
        raise AudioStyleError(
            ErrorCode.CHANNEL_MISMATCH, reason="a true-stereo response needs a stereo target"
        )
    y_full = convolve_true_stereo(x, ir)
    lag = best_lag(engine_y, y_full, len(ir) - 1)
    y = y_full[lag : lag + len(x)]
    notes = []
    if ir.shape[1] != 4 and preset.eq.side is not None and x.shape[1] == 2:
        notes.append(NOTE_PLAIN_STEREO)
    return VerifyResult(
        kind="ir",
        residual_db=residual_db(engine_y, y),
        band_error_db=band_error_db(engine_y, y, sample_rate),
        magnitude_error_db=ir_magnitude_error_db(preset, ir, sample_rate),
        lag=lag,
        channels=ir.shape[1],
        notes=notes,
    )


def eq_specs(text: str) -> list[FilterSpec]:
    """The EQ part of an ffmpeg export: its chain without the trailing dynamics, gain and
    limiter filters."""
    try:
        specs = parse_filtergraph(chain_of_file(text))
    except ValueError as exc:
        raise AudioStyleError(ErrorCode.FFMPEG_FILTER, reason=str(exc)[:200]) from None
    while specs and specs[-1].name in NOT_EQ_FILTERS:
        specs.pop()
    if not specs:
        specs = [FilterSpec("anull", None)]
    return specs


def _verify_ffmpeg(x: F64, sample_rate: int, engine_y: F64, path: Path) -> VerifyResult:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AudioStyleError(ErrorCode.BAD_EXPORT, path=str(path), reason=str(exc)[:120]) from None
    y = run_chain(eq_specs(text), x, sample_rate)
    return VerifyResult(
        kind="ffmpeg",
        residual_db=residual_db(engine_y, y),
        band_error_db=band_error_db(engine_y, y, sample_rate),
        channels=x.shape[1],
        notes=[NOTE_EQ_PART],
    )


def verify_files(
    preset: Preset, target: str | Path, exported: str | Path, seconds: float = DEFAULT_SECONDS
) -> VerifyResult:
    """:func:`verify_export` on the first ``seconds`` of a target file (0: all of it; sizes
    checked before decoding)."""
    info = io.probe(target)
    limit = info.frames if seconds <= 0 else min(info.frames, int(seconds * info.sample_rate))
    blocks: list[NDArray[np.float64]] = []
    got = 0
    for b in io.iter_blocks(target, 1 << 16, dtype="float64", info=info):
        blocks.append(np.asarray(b[: limit - got], dtype=np.float64))
        got += len(blocks[-1])
        if got >= limit:
            break
    return verify_export(preset, np.concatenate(blocks, axis=0), info.sample_rate, exported)
