"""ffmpeg export: the preset as an ``-af`` filter chain made of ffmpeg's own filters.

The chain mirrors the render (:mod:`engine.render`): mid/side split (``pan``), one
``firequalizer`` per signal (a linear-phase FIR, Blackman window, the preset's curve in dB
sampled every 1/9 octave and interpolated linearly in frequency, zero-phase timestamps: the
engine's EQ up to the window length), back to left/right, ``acompressor`` when the plan compresses, ``volume`` and
``alimiter``. The side curve already holds the width change, so no ``stereotools`` is needed.
What differs from the engine is written into the file as ``#`` comments.

:func:`run_chain` runs a chain in-process through PyAV's filter graph (the FFmpeg libraries in
its wheel), which ``verify`` and the tests use; :func:`parse_filtergraph` reads the subset of
the filtergraph syntax the export writes (chains ``;``, filters ``,``, pad labels ``[x]``,
quoting ``'...'`` and ``\\`` as in ``av_get_token``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.preset import Preset

F64 = NDArray[np.float64]
# firequalizer: half length (s) >= the engine's FIR at 44.1 kHz (2048 / 44100 = 46 ms)
FIR_DELAY_S = 0.05
# The curve is sampled every 1/9 octave, 20 Hz-20.48 kHz (ends held, as the engine does): the
# engine's curves are smoothed over at least 1/3 octave, and firequalizer refuses (ENOMEM) a
# gain_entry of more than 100 entries (measured with FFmpeg 8.1: 100 pass, 101 fail).
ENTRIES_PER_OCTAVE = 9
ENTRY_RANGE_HZ = (20.0, 20480.0)
# alimiter limits sample peaks; inter-sample peaks of music rarely exceed them by this much
TRUE_PEAK_MARGIN_DB = 0.5
_SPECIAL = "[],;"


def _entries(freqs_hz: list[float], gain_db: list[float]) -> str:
    """``entry(f,g);...`` on the 1/9-octave grid (log-log interpolation of the curve)."""
    lo, hi = ENTRY_RANGE_HZ
    n = int(np.ceil(np.log2(hi / lo) * ENTRIES_PER_OCTAVE)) + 1
    f = lo * 2.0 ** (np.arange(n) / ENTRIES_PER_OCTAVE)
    g = np.interp(np.log(f), np.log(freqs_hz), gain_db)
    return ";".join(f"entry({fi:.5g},{gi:.2f})" for fi, gi in zip(f, g, strict=True))


def _firequalizer(freqs_hz: list[float], gain_db: list[float]) -> str:
    return (
        f"firequalizer=gain_entry='{_entries(freqs_hz, gain_db)}'"
        f":delay={FIR_DELAY_S}:accuracy=1:wfunc=blackman:zero_phase=on"
    )


def ffmpeg_eq(preset: Preset) -> str:
    """The EQ part of the chain (mid/side when the preset has a side curve)."""
    eq = preset.eq
    if not eq.enabled:
        return "anull"
    mid = _firequalizer(eq.mid.curve.freqs_hz, eq.mid.curve.gain_db)
    if eq.side is None:
        return mid
    side = _firequalizer(eq.side.curve.freqs_hz, eq.side.curve.gain_db)
    return (
        "pan=stereo|c0=0.5*c0+0.5*c1|c1=0.5*c0-0.5*c1,channelsplit=channel_layout=stereo[mid][side];"
        f"[mid]{mid}[m];[side]{side}[s];[m][s]amerge=inputs=2,pan=stereo|c0=c0+c1|c1=c0-c1"
    )


def ffmpeg_chain(preset: Preset, input_lufs: float | None = None) -> tuple[str, list[str]]:
    """The ``-af`` chain and the comment lines saying what differs from the engine.

    ``input_lufs`` (the track's integrated loudness, ITU-R BS.1770-4, e.g. from ``audio-style
    analyze``) sets the ``volume`` gain and the compressor threshold; without it the gain is
    0 dB."""
    notes = [
        "EQ: firequalizer, linear phase like the engine, Blackman window of "
        f"{2 * FIR_DELAY_S * 1000:.0f} ms; the curve sampled every 1/{ENTRIES_PER_OCTAVE} octave.",
    ]
    parts = [ffmpeg_eq(preset)]
    if preset.eq.enabled and preset.eq.side is not None:
        notes.append("Width: the side firequalizer holds the width change (as in the engine).")
    level = None if input_lufs is None else float(input_lufs)
    d = preset.dynamics
    if d.enabled and d.ratio > 1.0 + 1e-6:
        thr_db = (level if level is not None else -20.0) + d.threshold_lu
        parts.append(
            f"acompressor=threshold={10 ** (thr_db / 20):.6f}:ratio={d.ratio:.3f}"
            f":attack={d.attack_ms:g}:release={d.release_ms:g}"
            f":knee={10 ** (d.knee_db / 20):.4f}:detection=rms"
        )
        notes.append(
            "Dynamics: acompressor on RMS level; the engine compresses the K-weighted "
            "loudness envelope relative to the programme loudness: the threshold is "
            + ("estimated from --input-lufs." if level is not None else "a guess (-20 LUFS).")
        )
    elif d.enabled and d.ratio < 1.0 - 1e-6:
        notes.append("Dynamics: the engine's expansion (ratio < 1) has no ffmpeg equivalent.")
    gain = 0.0
    if preset.loudness.enabled and level is not None:
        gain = preset.loudness.target_lufs - level
    parts.append(f"volume={gain:.2f}dB")
    if preset.loudness.enabled:
        notes.append(
            f"Loudness: the engine solves its gain per track to reach "
            f"{preset.loudness.target_lufs:.1f} LUFS after limiting; here volume is "
            + (
                f"target - input loudness ({gain:+.2f} dB)."
                if level is not None
                else "0 dB: pass --input-lufs X (audio-style analyze TRACK) to set it."
            )
        )
    lim = preset.limiter
    if lim.enabled:
        limit_db = lim.ceiling_dbtp - TRUE_PEAK_MARGIN_DB
        parts.append(
            f"alimiter=limit={10 ** (limit_db / 20):.6f}:attack={lim.lookahead_ms:g}"
            f":release={lim.release_ms:g}:level=disabled:latency=1"
        )
        notes.append(
            f"Limiter: alimiter limits sample peaks at {limit_db:.1f} dBFS (the engine: true "
            f"peaks at {lim.ceiling_dbtp:.1f} dBTP, BS.1770-4 Annex 2)."
        )
    return ",".join(parts), notes


def export_ffmpeg(preset: Preset, input_lufs: float | None = None) -> str:
    """The export file: ``#`` comments, then the chain on one line."""
    chain, notes = ffmpeg_chain(preset, input_lufs)
    head = [
        f"# audio-style preset {preset.name} as an ffmpeg audio filter chain",
        "# use: ffmpeg -i IN.wav -af \"$(grep -v '^#' THIS_FILE)\" OUT.wav",
        "# differs from the engine:",
        *[f"#  - {n}" for n in notes],
    ]
    return "\n".join(head) + "\n" + chain + "\n"


def chain_of_file(text: str) -> str:
    """The chain in an export file (its non-comment lines)."""
    lines = [ln.strip() for ln in text.splitlines()]
    return "".join(ln for ln in lines if ln and not ln.startswith("#"))


# -- running a chain through PyAV ---------------------------------------------------------------


@dataclass
class FilterSpec:
    """One filter of a parsed filtergraph with its pad labels."""

    name: str
    args: str | None
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    chained: bool = False  # its first free input takes the previous filter's output


def _token(text: str, pos: int, stop: str) -> tuple[str, int]:
    """Read up to one of ``stop`` outside quotes; quotes and backslashes are removed and
    surrounding white space trimmed (FFmpeg's ``av_get_token``)."""
    out: list[str] = []
    quoted = False
    while pos < len(text):
        c = text[pos]
        if c == "\\" and pos + 1 < len(text):
            out.append(text[pos + 1])
            pos += 2
            continue
        if c == "'":
            quoted = not quoted
        elif not quoted and c in stop:
            break
        else:
            out.append(c)
        pos += 1
    return "".join(out).strip(), pos


def _labels(text: str, pos: int) -> tuple[list[str], int]:
    labels: list[str] = []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text) or text[pos] != "[":
            return labels, pos
        end = text.find("]", pos)
        if end < 0:
            raise ValueError("unterminated [label]")
        labels.append(text[pos + 1 : end])
        pos = end + 1


def parse_filtergraph(text: str) -> list[FilterSpec]:
    """Filters of ``text`` in order, with their labels and chaining."""
    specs: list[FilterSpec] = []
    pos, chained = 0, False
    while pos < len(text):
        inputs, pos = _labels(text, pos)
        token, pos = _token(text, pos, _SPECIAL)
        if not token:
            raise ValueError(f"empty filter at {pos}")
        name, _, args = token.partition("=")
        outputs, pos = _labels(text, pos)
        specs.append(FilterSpec(name.strip(), args or None, inputs, outputs, chained))
        if pos < len(text) and text[pos] not in ",;":
            raise ValueError(f"unexpected {text[pos]!r} at {pos}")
        chained = pos < len(text) and text[pos] == ","
        pos += 1
    return specs


def run_chain(
    chain: str | list[FilterSpec], x: F64, sample_rate: int, block_frames: int = 8192
) -> F64:
    """Filter ``(frames, channels)`` audio through ``chain`` with PyAV's FFmpeg filter graph;
    the output is aligned by its timestamps (a zero-phase ``firequalizer`` starts early) and
    cut to the input's length."""
    import av
    from av.filter import Graph

    channels = x.shape[1]
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")
    try:
        specs = parse_filtergraph(chain) if isinstance(chain, str) else chain
        graph = Graph()
        src = graph.add_abuffer(
            sample_rate=sample_rate,
            format="fltp",
            layout=layout,
            time_base=Fraction(1, sample_rate),
        )
        sink = graph.add("abuffersink")
        _link(graph, specs, src, sink)
        graph.configure()
    except (ValueError, av.FFmpegError) as exc:
        raise AudioStyleError(ErrorCode.FFMPEG_FILTER, reason=str(exc)[:200]) from None
    out: list[tuple[int, NDArray[np.float32]]] = []

    def drain() -> None:
        while True:
            try:
                frame = graph.pull()
            except (BlockingIOError, EOFError, av.BlockingIOError, av.EOFError):
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            a = np.asarray(frame.to_ndarray(), dtype=np.float32)
            a = a.T if frame.format.is_planar else a.reshape(-1, len(frame.layout.channels))
            out.append((int(frame.pts or 0), a))

    xs = np.asarray(x, dtype=np.float32)
    for i in range(0, len(xs), block_frames):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(xs[i : i + block_frames].T), format="fltp", layout=layout
        )
        frame.sample_rate = sample_rate
        frame.pts = i
        frame.time_base = Fraction(1, sample_rate)
        graph.push(frame)
        drain()
    graph.push(None)
    drain()
    if not out:
        return np.zeros_like(x, dtype=np.float64)
    start = out[0][0]
    y = np.concatenate([a for _, a in out], axis=0).astype(np.float64)
    y = y[max(0, -start) :] if start < 0 else np.concatenate([np.zeros((start, y.shape[1])), y])
    if len(y) < len(x):
        y = np.concatenate([y, np.zeros((len(x) - len(y), y.shape[1]))])
    return np.asarray(y[: len(x)], dtype=np.float64)


def _link(graph: object, specs: list[FilterSpec], src: object, sink: object) -> None:
    """Create and connect the filters: labels pair outputs with inputs, ``,`` chains a filter
    to the previous one's free output, the first free input is the source and the last free
    output the sink."""
    ctxs = [graph.add(s.name, s.args) for s in specs]  # type: ignore[attr-defined]
    outs: dict[str, tuple[object, int]] = {}
    ins: dict[str, tuple[object, int]] = {}
    free_in: list[tuple[object, int]] = []
    prev: tuple[object, int] | None = None
    for spec, ctx in zip(specs, ctxs, strict=True):
        for k, label in enumerate(spec.inputs):
            ins[label] = (ctx, k)
        n_in = len(spec.inputs)
        if spec.chained and prev is not None:
            prev[0].link_to(ctx, prev[1], n_in)  # type: ignore[attr-defined]
        elif not spec.inputs:
            free_in.append((ctx, 0))
        for k, label in enumerate(spec.outputs):
            outs[label] = (ctx, k)
        prev = None if spec.outputs else (ctx, 0)
    for label, (octx, k) in outs.items():
        if label not in ins:
            raise ValueError(f"output [{label}] is not used")
        ictx, j = ins.pop(label)
        octx.link_to(ictx, k, j)  # type: ignore[attr-defined]
    if ins:
        raise ValueError(f"input [{next(iter(ins))}] has no source")
    if len(free_in) != 1 or prev is None:
        raise ValueError("the chain needs exactly one input and one output")
    src.link_to(free_in[0][0], 0, free_in[0][1])  # type: ignore[attr-defined]
    prev[0].link_to(sink, prev[1], 0)  # type: ignore[attr-defined]
