"""The worker's only door to the DSP engine (runs inside the sandbox subprocess).

Single-pass jobs call the engine facade (``engine.pipeline.match_files``) exactly as the CLI
does, so a server result equals the local engine's output for the same inputs and options.

Chunked rendering of a long target splits the render's two passes at hop boundaries:

1. ``region_stats``: each chunk worker EQs its region (with pre-roll/post-roll covering the FIR
   and the K-weighting filter's memory) and measures the per-hop K-weighted energy and true
   peak of its own frames only;
2. ``region_gains``: the per-hop statistics are concatenated — equal to the single pass's — and
   the engine's gain planner solves dynamics, loudness and limiter gains for the whole file;
3. ``render_region``: each chunk worker EQs its region again and applies its slice of the
   whole-file gain curve;
4. ``join``: the chunks are concatenated, metered and written like the single pass writes.

Until ``engine.pipeline`` exists this module falls back to a stand-in (a broadband loudness
match) with the same chunking contract, so the server can be built and tested; the switch to
the real engine is this one file.
"""

from __future__ import annotations

import importlib
import json
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.options import MatchOptions

F64 = NDArray[np.float64]
ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]
MAX_CHANNELS = 8
MIN_RATE, MAX_RATE = 8000, 192000
FORMAT_EXT = {"wav16": "wav", "wav24": "wav", "wav32f": "wav", "flac": "flac"}
FORMAT_SUBTYPE = {"wav16": "PCM_16", "wav24": "PCM_24", "wav32f": "FLOAT", "flac": "PCM_24"}


def _try_import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


_pipeline = _try_import("engine.pipeline")
_io = _try_import("engine.io")
ENGINE_READY = _pipeline is not None and hasattr(_pipeline, "match_files")


@dataclass(frozen=True)
class AudioInfo:
    frames: int
    sample_rate: int
    channels: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


# --- probing ------------------------------------------------------------------------------


def _wav_declared(path: Path) -> tuple[int, int, int, int] | None:
    """(channels, rate, block_align, declared data bytes) from a RIFF/WAVE header."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        fmt: tuple[int, int, int] | None = None
        while True:
            hdr = f.read(8)
            if len(hdr) < 8:
                return None
            cid, size = hdr[:4], struct.unpack("<I", hdr[4:])[0]
            if cid == b"fmt ":
                body = f.read(min(size, 64))
                if len(body) < 16:
                    return None
                _tag, ch, rate, _bps, align = struct.unpack("<HHIIH", body[:14])
                fmt = (ch, rate, align)
                f.seek(size - len(body) + (size & 1), 1)
            elif cid == b"data":
                if fmt is None:
                    return None
                return fmt[0], fmt[1], fmt[2], size
            else:
                f.seek(size + (size & 1), 1)


def probe(path: Path, max_duration_s: float) -> AudioInfo:
    """Validate a file before decoding: format, channels, rate, declared length (bombs)."""
    name = path.name
    if _io is not None and hasattr(_io, "probe"):
        info = _io.probe(path)
        frames = int(getattr(info, "frames", 0))
        rate = int(getattr(info, "sample_rate", getattr(info, "samplerate", 0)))
        ch = int(getattr(info, "channels", 0))
        out = AudioInfo(frames, rate, ch)
    else:
        if not path.exists():
            raise AudioStyleError(ErrorCode.FILE_NOT_FOUND, path=name)
        size = path.stat().st_size
        if size == 0:
            raise AudioStyleError(ErrorCode.FILE_EMPTY, path=name)
        declared = _wav_declared(path)
        if declared is not None:
            ch, rate, align, data_bytes = declared
            if ch < 1 or ch > MAX_CHANNELS:
                raise AudioStyleError(
                    ErrorCode.TOO_MANY_CHANNELS, channels=ch, limit=MAX_CHANNELS, path=name
                )
            if not MIN_RATE <= rate <= MAX_RATE:
                raise AudioStyleError(ErrorCode.BAD_SAMPLE_RATE, sample_rate=rate, path=name)
            if align > 0:
                length_s = data_bytes / align / rate
                if length_s > max_duration_s:
                    raise AudioStyleError(
                        ErrorCode.TOO_LONG,
                        length_s=round(length_s, 1),
                        limit_s=round(max_duration_s),
                        path=name,
                    )
            if data_bytes > size:
                raise AudioStyleError(ErrorCode.TRUNCATED, path=name)
        try:
            i = sf.info(str(path))
        except Exception as e:
            raise AudioStyleError(ErrorCode.UNSUPPORTED_FORMAT, path=name) from e
        out = AudioInfo(int(i.frames), int(i.samplerate), int(i.channels))
    if out.channels < 1 or out.channels > MAX_CHANNELS:
        raise AudioStyleError(
            ErrorCode.TOO_MANY_CHANNELS, channels=out.channels, limit=MAX_CHANNELS, path=name
        )
    if not MIN_RATE <= out.sample_rate <= MAX_RATE:
        raise AudioStyleError(ErrorCode.BAD_SAMPLE_RATE, sample_rate=out.sample_rate, path=name)
    if out.duration_s > max_duration_s:
        raise AudioStyleError(
            ErrorCode.TOO_LONG,
            length_s=round(out.duration_s, 1),
            limit_s=round(max_duration_s),
            path=name,
        )
    if out.frames <= 0:
        raise AudioStyleError(ErrorCode.TOO_SHORT, length_s=0, limit_s=0.1, path=name)
    return out


def output_extension(fmt: str | None, target: Path) -> str:
    """File extension of the output: the format's, else the target's."""
    if fmt:
        return FORMAT_EXT[fmt]
    ext = target.suffix.lower().lstrip(".")
    return ext if ext in ("wav", "flac") else "wav"


def read_region(path: Path, start: int, stop: int) -> F64:
    """Frames ``[start, stop)`` as float64 ``(frames, channels)``."""
    with sf.SoundFile(str(path)) as f:
        f.seek(max(0, start))
        x = f.read(max(0, stop - start), dtype="float64", always_2d=True)
    return np.asarray(x, dtype=np.float64)


# --- the facade: single pass ----------------------------------------------------------------


class _Cancel:
    """Adapter from a poll function to the engine's CancelToken."""

    def __init__(self, poll: CancelFn) -> None:
        self.poll = poll


def match(
    target: Path,
    references: Sequence[Path],
    out_audio: Path,
    out_preset: Path,
    options: MatchOptions,
    fmt: str | None,
    progress: ProgressFn,
    cancelled: CancelFn,
) -> dict[str, float]:
    """Match one target to the references, write the audio and the preset; return metrics."""
    if ENGINE_READY:
        token = _pipeline.CancelToken()

        def on_progress(p: Any) -> None:
            if cancelled():
                token.cancel()
            progress(float(p.fraction), str(p.stage))

        gen = _pipeline.match_files(
            [target],
            list(references),
            [out_audio],
            options,
            fmt=fmt,
            force=True,
            preset_out=out_preset,
            cancel=token,
        )
        results = _pipeline.drive(gen, on_progress)
        return _metrics_from_result(results[0] if results else None)
    return _standin_match(target, references, out_audio, out_preset, options, fmt, progress)


def build_preset_file(
    target: Path,
    references: Sequence[Path],
    options: MatchOptions,
    out_preset: Path,
    progress: ProgressFn,
    cancelled: CancelFn,
) -> None:
    """Analyse target and references and write the match plan (first phase of chunking)."""
    if ENGINE_READY:
        token = _pipeline.CancelToken()

        def on_progress(p: Any) -> None:
            if cancelled():
                token.cancel()

        t = _pipeline.drive(_pipeline.analyze_file(target, cancel=token), on_progress)
        refs = []
        for i, r in enumerate(references):
            progress(0.5 * (i + 1) / (len(references) + 1), "analyze")
            refs.append(_pipeline.drive(_pipeline.analyze_file(r, cancel=token), on_progress))
        preset = _pipeline.build_preset(t, refs, options)
        out_preset.write_text(preset.model_dump_json(indent=1), encoding="utf-8")
        return
    x = read_region(target, 0, sf.info(str(target)).frames)
    ref_db = _mean_db([read_region(r, 0, sf.info(str(r)).frames) for r in references])
    gain = (ref_db - _db(_power(x))) * options.scaled(options.loudness_amount, True)
    out_preset.write_text(json.dumps({"standin": True, "gain_db": gain}), encoding="utf-8")


# --- chunked rendering ----------------------------------------------------------------------


def _render_mod() -> Any:
    return importlib.import_module("engine.render")


def _load_preset(path: Path) -> Any:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("standin"):
        return data
    from engine.schema.preset import Preset

    return Preset.model_validate(data)


def chunk_margins(sample_rate: int) -> tuple[int, int, int]:
    """(hop, pre-roll, post-roll) in frames: the pre-roll covers the FIR and >= 1 s of the
    K-weighting filter's memory, the post-roll the FIR and the true-peak context; both are
    whole hops so chunk hops line up with the single pass's."""
    if ENGINE_READY:
        r = _render_mod()
        from engine.dsp.fir import fir_length

        hop = int(r.hop_frames(sample_rate))
        taps = int(fir_length(sample_rate))
        ctx = int(getattr(r.HopStats, "CONTEXT", 16))
    else:
        hop, taps, ctx = 32, 0, 0
    pre = max(taps, sample_rate)
    post = taps + ctx + hop
    return hop, -(-pre // hop) * hop, -(-post // hop) * hop


def plan_chunks(frames: int, sample_rate: int, chunk_s: float) -> list[tuple[int, int]]:
    """Split ``frames`` into chunks of about ``chunk_s`` seconds on hop boundaries."""
    hop = chunk_margins(sample_rate)[0]
    size = max(hop, int(round(chunk_s * sample_rate / hop)) * hop)
    n = max(1, math.ceil(frames / size))
    size = -(-frames // n)
    size = -(-size // hop) * hop
    return [(a, min(frames, a + size)) for a in range(0, frames, size)]


def _eq_region(preset: Any, target: Path, start: int, stop: int, frames: int) -> tuple[F64, int]:
    """EQ'd frames ``[start - pre, stop + post)`` and the offset of ``start`` in them."""
    info = sf.info(str(target))
    hop, pre, post = chunk_margins(int(info.samplerate))
    a, b = max(0, start - pre), min(frames, stop + post)
    x = read_region(target, a, b)
    r = _render_mod()
    filters = r._ms_filters(preset, int(info.samplerate), x.shape[1])
    block = int(r.BLOCK_FRAMES)
    parts = [
        y
        for y, _n in r._eq_blocks(
            (x[i : i + block] for i in range(0, len(x), block)), filters, x.shape[1]
        )
    ]
    y = np.concatenate(parts, axis=0) if parts else np.zeros((0, x.shape[1]))
    return np.asarray(y[: len(x)], dtype=np.float64), start - a


def region_stats(preset_path: Path, target: Path, start: int, stop: int, out_npz: Path) -> None:
    """Per-hop statistics of the EQ'd region ``[start, stop)`` (hop-aligned)."""
    info = sf.info(str(target))
    frames, rate = int(info.frames), int(info.samplerate)
    preset = _load_preset(preset_path)
    if isinstance(preset, dict):  # stand-in: energy per region
        x = read_region(target, start, stop)
        np.savez(out_npz, sumsq=np.array([float(np.sum(x * x))]), n=np.array([x.size]))
        return
    r = _render_mod()
    y, off = _eq_region(preset, target, start, stop, frames)
    hop = int(r.hop_frames(rate))
    stats = r.HopStats(rate, y.shape[1])
    stats.push(y)
    kw, peak = stats.finish()
    first = off // hop
    n_hops = -(-(stop - start) // hop)
    np.savez(out_npz, kw=kw[first : first + n_hops], peak=peak[first : first + n_hops])


def region_gains(
    preset_path: Path, stats: Sequence[Path], sample_rate: int, out_npz: Path
) -> dict[str, float]:
    """Merge the chunks' statistics and solve the whole-file gains."""
    preset = _load_preset(preset_path)
    if isinstance(preset, dict):
        np.savez(out_npz, gain_db=np.array([float(preset["gain_db"])]))
        return {"gain_db": float(preset["gain_db"])}
    r = _render_mod()
    kw = np.concatenate([np.load(p)["kw"] for p in stats])
    peak = np.concatenate([np.load(p)["peak"] for p in stats])
    plan = r.plan_gains(preset, kw, peak, sample_rate)
    np.savez(out_npz, total_db=plan.total_db(), hop=np.array([plan.hop]))
    return {"gain_db": float(plan.gain_db), "predicted_lufs": float(plan.predicted_lufs)}


def render_region(
    preset_path: Path, target: Path, start: int, stop: int, gains_npz: Path, out_raw: Path
) -> None:
    """Render frames ``[start, stop)`` with the whole-file gains; float32 raw output."""
    info = sf.info(str(target))
    frames = int(info.frames)
    preset = _load_preset(preset_path)
    g = np.load(gains_npz)
    if isinstance(preset, dict):
        x = read_region(target, start, stop)
        y = x * 10.0 ** (float(g["gain_db"][0]) / 20.0)
    else:
        y_full, off = _eq_region(preset, target, start, stop, frames)
        y = y_full[off : off + (stop - start)]
        total, hop = g["total_db"], int(g["hop"][0])
        lin = 10.0 ** (total / 20.0)
        centres = (np.arange(len(lin)) + 0.5) * hop
        idx = np.arange(start, stop, dtype=np.float64)
        y = y * np.interp(idx, centres, lin)[:, None]
    np.ascontiguousarray(y, dtype=np.float32).tofile(out_raw)


def join(
    chunks: Sequence[Path],
    sample_rate: int,
    channels: int,
    out_audio: Path,
    fmt: str | None,
) -> dict[str, float]:
    """Concatenate rendered chunks and write the output like the single pass does."""
    y = np.concatenate(
        [np.fromfile(p, dtype=np.float32).reshape(-1, channels) for p in chunks], axis=0
    ).astype(np.float64)
    write_audio(out_audio, y, sample_rate, fmt)
    return measure(y, sample_rate)


def write_audio(path: Path, y: F64, sample_rate: int, fmt: str | None) -> None:
    """Write with the engine's writer (dither, atomic) when present."""
    if _io is not None and hasattr(_io, "write_audio"):
        _io.write_audio(path, y, sample_rate, fmt=fmt)
        return
    subtype = FORMAT_SUBTYPE.get(fmt or "", "FLOAT" if path.suffix == ".wav" else "PCM_24")
    sf.write(str(path), y, sample_rate, subtype=subtype)


# --- measurements ----------------------------------------------------------------------------


def measure(y: F64, sample_rate: int) -> dict[str, float]:
    """Loudness and peaks of an output."""
    try:
        loud = importlib.import_module("engine.analysis")
        a = loud.analyze_array(y, sample_rate)
        return {
            "output_lufs": float(a.summary.integrated_lufs),
            "output_true_peak_dbtp": float(a.summary.true_peak_dbtp),
        }
    except (ImportError, AttributeError):
        return {
            "output_lufs": _db(_power(y)) - 0.691,
            "output_true_peak_dbtp": _db(float(np.max(np.abs(y))) ** 2) if y.size else -120.0,
        }


def spectral_distances(y: F64, y_rate: int, refs: Sequence[F64], ref_rate: int) -> dict[str, float]:
    """Mean absolute difference (dB) of the long-term STFT and Mel spectra, level-normalised,
    between the output and the (pooled) references."""

    def spectrum(x: F64, rate: int) -> tuple[F64, F64]:
        mono = x.mean(axis=1)
        n = 4096
        if len(mono) < n:
            mono = np.pad(mono, (0, n - len(mono)))
        hops = range(0, len(mono) - n + 1, n // 2)
        win = np.hanning(n)
        acc = np.zeros(n // 2 + 1)
        step = max(1, len(hops) // 400)  # at most ~400 frames: cheap on long files
        count = 0
        for i in list(hops)[::step]:
            acc += np.abs(np.fft.rfft(mono[i : i + n] * win)) ** 2
            count += 1
        freqs = np.asarray(np.fft.rfftfreq(n, 1 / rate), dtype=np.float64)
        return freqs, acc / max(1, count)

    def mel_bands(f: F64, p: F64) -> F64:
        mel = 2595 * np.log10(1 + f / 700)
        edges = np.linspace(mel[1], 2595 * np.log10(1 + 16000 / 700), 41)
        idx = np.digitize(mel, edges)
        return np.array([p[idx == i].sum() + 1e-20 for i in range(1, 41)])

    f_out, p_out = spectrum(y, y_rate)
    pr = [spectrum(r, ref_rate) for r in refs]
    f_ref, p_ref = pr[0][0], np.mean([p for _, p in pr], axis=0)
    grid = np.geomspace(40, min(16000, y_rate / 2, ref_rate / 2), 200)
    a = 10 * np.log10(np.interp(grid, f_out, p_out) + 1e-20)
    b = 10 * np.log10(np.interp(grid, f_ref, p_ref) + 1e-20)
    stft = float(np.mean(np.abs((a - a.mean()) - (b - b.mean()))))
    ma = 10 * np.log10(mel_bands(f_out, p_out))
    mb = 10 * np.log10(mel_bands(f_ref, p_ref))
    mel = float(np.mean(np.abs((ma - ma.mean()) - (mb - mb.mean()))))
    return {"stft_distance_db": stft, "mel_distance_db": mel}


def quality(out_audio: Path, references: Sequence[Path], preset_path: Path) -> dict[str, float]:
    """Metrics of a finished output against the references and the plan."""
    y, rate = _read_all(out_audio)
    m = measure(y, rate)
    refs = [_read_all(r) for r in references]
    m.update(spectral_distances(y, rate, [r[0] for r in refs], refs[0][1]))
    preset = _load_preset(preset_path)
    if isinstance(preset, dict):
        target_lufs = _mean_db([r[0] for r in refs]) - 0.691
        ceiling = 0.0
    else:
        target_lufs = float(preset.loudness.target_lufs)
        ceiling = float(preset.limiter.ceiling_dbtp) if preset.limiter.enabled else 0.0
    m["lufs_error_lu"] = m["output_lufs"] - target_lufs
    m["true_peak_over_db"] = max(0.0, m["output_true_peak_dbtp"] - ceiling)
    m["duration_s"] = len(y) / rate
    return m


def curves(preset_path: Path) -> list[tuple[list[float], list[float]]]:
    """EQ curves (mid, side) of a preset, for the PNG."""
    preset = _load_preset(preset_path)
    if isinstance(preset, dict):
        g = float(preset.get("gain_db", 0.0))
        return [([20.0, 20000.0], [g, g])]
    out = [(list(preset.eq.mid.curve.freqs_hz), list(preset.eq.mid.curve.gain_db))]
    if preset.eq.side is not None:
        out.append((list(preset.eq.side.curve.freqs_hz), list(preset.eq.side.curve.gain_db)))
    return out


# --- helpers and the stand-in ----------------------------------------------------------------


def _read_all(path: Path) -> tuple[F64, int]:
    x, rate = sf.read(str(path), dtype="float64", always_2d=True)
    return np.asarray(x, dtype=np.float64), int(rate)


def _power(x: F64) -> float:
    return float(np.mean(x * x)) if x.size else 0.0


def _db(p: float) -> float:
    return 10.0 * math.log10(max(p, 1e-20))


def _mean_db(xs: Sequence[F64]) -> float:
    return _db(float(np.mean([_power(x) for x in xs])))


def _metrics_from_result(r: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    if r is None:
        return out
    for name in dir(r):
        if name.startswith("_"):
            continue
        v = getattr(r, name, None)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            out[name] = float(v)
    return out


def _standin_match(
    target: Path,
    references: Sequence[Path],
    out_audio: Path,
    out_preset: Path,
    options: MatchOptions,
    fmt: str | None,
    progress: ProgressFn,
) -> dict[str, float]:
    progress(0.1, "analyze")
    build_preset_file(target, references, options, out_preset, progress, lambda: False)
    gain = float(json.loads(out_preset.read_text())["gain_db"])
    x, rate = _read_all(target)
    progress(0.6, "render")
    y = x * 10.0 ** (gain / 20.0)
    write_audio(out_audio, y, rate, fmt)
    progress(1.0, "done")
    return {"gain_db": gain}
