"""The engine facade: what the CLI, the desktop app and the server worker call.

Long work is a generator yielding :class:`Progress` and returning its result; cancel it with
a :class:`CancelToken`. :func:`drive` runs one to completion.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soxr
from numpy.typing import NDArray

from engine import io
from engine.album import AlbumOptions
from engine.analysis import Analysis, AnalysisAccumulator, analyze_array
from engine.atomic import replace_durably
from engine.backends import Backend, get_backend
from engine.estimator import preload as preload_estimator
from engine.matching import build_preset
from engine.presets import save_preset
from engine.progress import Beside, CancelToken, Progress, check, drive, read_ahead, scaled
from engine.render import (
    BLOCK_FRAMES,
    RenderStats,
    clip_stage_db,
    loudness_shortfall_lu,
    render,
    render_array_stats,
)
from engine.report import build_report, save_report
from engine.schema.delivery import DeliveryReport
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.options import MatchOptions
from engine.schema.preset import Preset

F64 = NDArray[np.float64]
SILENCE_DBFS = -100.0
# a target up to this size (decoded, float32) is kept in memory between analysis and render
# (about 12 minutes of 44.1 kHz stereo); longer ones are decoded twice to keep memory bounded
KEEP_DECODED_BYTES = 256 * 1024 * 1024
# files are read (and analysed, and rendered) in blocks of this many frames (~6 s at 44.1 kHz):
# large enough that per-block overhead and thread hand-offs vanish, small enough for memory
READ_BLOCK_FRAMES = 4 * BLOCK_FRAMES
# codec-safe ceiling: renders after the first one, and the extra margin each one takes
CODEC_SAFE_TRIES = 4
CODEC_SAFE_MARGIN_DB = 0.1
CODEC_SAFE_CLOSE_DB = 0.3  # a safe result this close under the ceiling ends the search

__all__ = [
    "Analysis",
    "CancelToken",
    "MatchResult",
    "Progress",
    "RenderOutput",
    "RenderResult",
    "analyze_array",
    "analyze_file",
    "build_preset",
    "FileSink",
    "Plan",
    "plan_files",
    "plan_match",
    "codec_safe_render",
    "delivery_of",
    "drive",
    "clip_stage_db",
    "loudness_shortfall_lu",
    "match_files",
    "render_array",
    "render_file",
]


@dataclass
class RenderOutput:
    """An in-memory render."""

    audio: F64
    gain_db: float
    stats: RenderStats


@dataclass
class RenderResult:
    """A render written to ``path``."""

    path: Path
    stats: RenderStats
    sample_rate: int
    channels: int


@dataclass
class MatchResult:
    """Everything one target's match produced."""

    target: Path
    output: Path
    preset: Preset
    render: RenderResult
    target_analysis: Analysis
    reference_analyses: list[Analysis]
    report: dict[str, Any] | None = None
    preset_path: Path | None = None
    report_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def analyze_file(
    path: str | Path,
    *,
    sample_rate: int | None = None,
    cancel: CancelToken | None = None,
    require_signal: bool = True,
    true_peak: bool = True,
    device: str | Backend = "auto",
    keep: list[NDArray[np.float32]] | None = None,
) -> Generator[Progress, None, Analysis]:
    """Analyse a file in blocks, resampled to ``sample_rate`` when given (soxr, HQ).

    Raises ``AudioStyleError(SILENT)`` for a silent file when ``require_signal``. With
    ``true_peak=False`` the (costly) oversampled peak is skipped and the summary carries the
    sample peak instead (``true_peak_measured`` False). ``device`` (``auto``, ``cpu``, ``gpu``
    or a resolved backend) runs the spectrum's FFTs (:mod:`engine.backends`). ``keep``, when
    given, receives the decoded blocks (as read, before any resampling) so a render can reuse
    them instead of decoding the file again.
    """
    info = io.probe(path)
    rate = sample_rate or info.sample_rate
    backend = _backend(device)
    acc = AnalysisAccumulator(rate, info.channels, true_peak=true_peak, backend=backend)
    stream = None
    if rate != info.sample_rate:
        stream = soxr.ResampleStream(info.sample_rate, rate, info.channels, dtype="float32")
    done = 0
    with contextlib.closing(read_ahead(io.iter_blocks(path, READ_BLOCK_FRAMES, info=info))) as bs:
        for block in bs:
            check(cancel)
            done += len(block)
            if keep is not None:
                keep.append(block)
            last = done >= info.frames
            b = stream.resample_chunk(block, last=last) if stream is not None else block
            if len(b):
                acc.push(b)
            yield Progress("analyze", done / max(1, info.frames), str(path))
    analysis = acc.finish()
    if require_signal and _is_silent(analysis):
        raise AudioStyleError(ErrorCode.SILENT, path=str(path))
    return analysis


def _backend(device: str | Backend) -> Backend:
    return get_backend(device) if isinstance(device, str) else device


def _is_silent(a: Analysis) -> bool:
    s = a.summary
    return s.sample_peak_dbfs < SILENCE_DBFS or s.integrated_lufs <= -70.0


def render_array(
    preset: Preset,
    x: F64,
    sample_rate: int,
    *,
    gain_db: float | None = None,
    fast_stage_db: float | None = None,
    device: str | Backend = "auto",
) -> RenderOutput:
    """Render an in-memory ``(frames, channels)`` array (e.g. a preview loop region, with
    ``gain_db`` and ``fast_stage_db`` taken from the full render so its loudness and limiting
    match)."""
    audio, stats = render_array_stats(
        preset,
        np.asarray(x, dtype=np.float64),
        sample_rate,
        gain_db,
        _backend(device),
        fast_stage_db,
    )
    return RenderOutput(audio, stats.gain_db, stats)


class FileSink:
    """A render's :class:`~engine.render.Sink` into a file through :class:`engine.io.AudioWriter`
    (atomic: ``commit`` renames it into place, ``abort`` drops it); ``reset`` starts over."""

    def __init__(self, path: Path, sample_rate: int, channels: int, fmt: str | None, force: bool):
        self.args = (path, sample_rate, channels, fmt)
        self.force = force
        self.writer = self._open()

    def _open(self) -> io.AudioWriter:
        path, sr, ch, fmt = self.args
        w = io.AudioWriter(path, sr, ch, fmt, force=self.force)
        w.__enter__()
        return w

    def write(self, block: F64) -> None:
        self.writer.write(block)

    def reset(self) -> None:
        self.abort()
        self.writer = self._open()

    def commit(self) -> None:
        self.writer.__exit__(None, None, None)

    def abort(self) -> None:
        err = AudioStyleError(ErrorCode.CANCELED)
        self.writer.__exit__(type(err), err, None)


def render_file(
    preset: Preset,
    target: str | Path,
    out: str | Path,
    *,
    fmt: str | None = None,
    force: bool = False,
    cancel: CancelToken | None = None,
    gain_db: float | None = None,
    device: str | Backend = "auto",
    decoded: Sequence[NDArray[np.float32]] | None = None,
) -> Generator[Progress, None, RenderResult]:
    """Render ``target`` through ``preset`` into ``out`` (atomically: temp file + rename);
    ``device`` runs the EQ's convolution (:mod:`engine.backends`). ``decoded``: the target's
    blocks already decoded by :func:`analyze_file` (``keep``), used instead of the file."""
    info = io.probe(target)
    out_path = Path(out)
    io.check_output_path(out_path, force)
    if Path(target).resolve() == out_path.resolve():
        raise AudioStyleError(ErrorCode.OUTPUT_EXISTS, path=str(out_path))
    backend = _backend(device)
    sink = FileSink(out_path, info.sample_rate, info.channels, fmt, force)
    try:
        stats = yield from render(
            preset,
            (
                np.asarray(b, dtype=np.float64)
                for b in (
                    decoded
                    if decoded is not None
                    else io.iter_blocks(target, READ_BLOCK_FRAMES, info=info)
                )
            ),
            info.sample_rate,
            info.channels,
            info.frames,
            sink,
            gain_db=gain_db,
            cancel=cancel,
            backend=backend,
        )
    except BaseException:
        sink.abort()
        raise
    sink.commit()
    return RenderResult(out_path, stats, info.sample_rate, info.channels)


@dataclass
class Plan:
    """What a match is: the named preset and the analyses it was planned from."""

    preset: Preset
    target: Analysis
    references: list[Analysis]


def plan_match(
    target: Analysis,
    references: Sequence[Analysis],
    options: MatchOptions,
    reference_names: Sequence[str | Path],
) -> Preset:
    """The plan of a match: :func:`~engine.matching.build_preset`, named after the references.

    Parameters
    ----------
    target, references : Analysis
        The target's analysis and the references' (at the target's sample rate).
    options : MatchOptions
        The match options.
    reference_names : sequence of str or Path
        The references' files (their names go into the preset).

    Returns
    -------
    Preset
        Named after the first reference, with the references' file names and, for a single
        reference, its summary.
    """
    return named_preset(
        build_preset(target, list(references), options), reference_names, references
    )


def plan_files(
    target: str | Path,
    references: Sequence[str | Path],
    options: MatchOptions,
    *,
    cancel: CancelToken | None = None,
    device: str | Backend | None = None,
    keep: list[NDArray[np.float32]] | None = None,
    target_true_peak: bool = False,
    reference_analyses: Sequence[Analysis] | None = None,
) -> Generator[Progress, None, Plan]:
    """Analyse target and references and plan the match (:func:`plan_match`): the one way
    the CLI (:func:`match_files`), the worker and the app build a preset, so the same files
    and options give the same preset JSON everywhere.

    The references are analysed at the target's rate, with their true peak (it goes into the
    preset), on a helper thread beside the target. ``device``: default ``options.device``.
    ``keep``: receives the target's decoded blocks (:func:`analyze_file`).
    ``target_true_peak``: also measure the target's true peak (only reports need it).
    ``reference_analyses``: the references already analysed at the target's rate.
    """
    backend = _backend(options.device if device is None else device)
    rate = io.probe(target).sample_rate
    target_an = analyze_file(
        target, cancel=cancel, true_peak=target_true_peak, device=backend, keep=keep
    )
    if reference_analyses is not None:
        refs = list(reference_analyses)
        t_an = yield from scaled(target_an, 0.625, 1.0)
    else:
        # the references and the target are analysed side by side (decoding, filters and
        # FFTs release the GIL): the references on a helper thread
        side = Beside(analyze_references(references, rate, cancel, True, backend), cancel)
        try:
            while True:
                try:
                    p = next(target_an)
                except StopIteration as done:
                    t_an = done.value
                    break
                yield Progress(p.stage, 0.625 * side.fraction + 0.375 * p.fraction, p.message)
            if options.estimator != "rules" and not side.done():
                preload_estimator()  # while this thread would wait for the references anyway
            refs = yield from side.join("analyze", 0.375, 1.0)
        finally:
            target_an.close()
            side.stop()
    return Plan(plan_match(t_an, refs, options, references), t_an, refs)


def match_files(
    targets: Sequence[str | Path],
    references: Sequence[str | Path],
    outputs: Sequence[str | Path],
    options: MatchOptions | None = None,
    *,
    fmt: str | None = None,
    force: bool = False,
    preset_out: str | Path | None = None,
    report_out: str | Path | None = None,
    cancel: CancelToken | None = None,
    album: AlbumOptions | None = None,
) -> Generator[Progress, None, list[MatchResult]]:
    """Match every target to the reference(s) and write ``outputs`` (one per target).

    ``preset_out`` / ``report_out`` are written for the first target (or, with several
    targets, as ``<stem>.<target stem>.json`` next to the given path). ``album``: album mode
    (:mod:`engine.album`): the tracks are planned together; every result's
    ``extra["album"]`` holds the album table before and after, also written to
    ``report_out`` itself.
    """
    options = options or MatchOptions()
    if len(outputs) != len(targets):
        raise ValueError("one output per target")
    if not references:
        raise AudioStyleError(ErrorCode.BAD_OPTION, name="--reference", reason="required")
    # validate everything before any work
    infos = [io.probe(t) for t in targets]
    for r in references:
        io.probe(r)
    for o in outputs:
        io.check_output_path(o, force)
    for extra in (preset_out, report_out):
        if extra is not None:
            io.check_output_path(extra, True)
    backend = get_backend(options.device)
    if album is not None:
        from engine.album_run import match_album  # it builds on this module

        return (
            yield from match_album(
                targets,
                references,
                outputs,
                options,
                album,
                fmt,
                force,
                preset_out,
                report_out,
                cancel,
                backend,
            )
        )
    results: list[MatchResult] = []
    ref_cache: dict[int, list[Analysis]] = {}
    want_tp = report_out is not None  # the target's true peak only feeds the report
    n = len(targets)
    for i, (target, out, info) in enumerate(zip(targets, outputs, infos, strict=True)):
        lo, hi = i / n, (i + 1) / n
        step = hi - lo
        # a target that fits KEEP_DECODED_BYTES is decoded once, for analysis and render
        kept: list[NDArray[np.float32]] | None = None
        if info.frames * info.channels * 4 <= KEEP_DECODED_BYTES:
            kept = []
        planned = yield from scaled(
            plan_files(
                target,
                references,
                options,
                cancel=cancel,
                device=backend,
                keep=kept,
                target_true_peak=want_tp,
                reference_analyses=ref_cache.get(info.sample_rate),
            ),
            lo,
            lo + 0.4 * step,
        )
        preset, t_an, refs = planned.preset, planned.target, planned.references
        ref_cache[info.sample_rate] = refs
        rendered = yield from scaled(
            render_file(
                preset,
                target,
                out,
                fmt=fmt,
                force=force,
                cancel=cancel,
                device=backend,
                decoded=kept,
            ),
            lo + 0.4 * step,
            hi - (0.1 * step if report_out else 0.0),
        )
        safe: dict[str, Any] = {}
        if options.codec_safe and preset.limiter.enabled:
            safe_render = codec_safe_render(
                preset, target, out, rendered, fmt=fmt, cancel=cancel, device=backend, decoded=kept
            )
            preset, rendered, safe = yield from scaled(safe_render, hi - 0.1 * step, hi)
        kept = None
        result = MatchResult(Path(target), Path(out), preset, rendered, t_an, refs)
        if safe:
            result.extra["codec_safe"] = safe
        if preset_out is not None:
            result.preset_path = per_target(Path(preset_out), Path(target), n)
            save_preset(preset, result.preset_path, force=True)
        if report_out is not None:
            out_an = yield from scaled(
                analyze_file(out, cancel=cancel, require_signal=False, device=backend),
                hi - 0.1 * step,
                hi,
            )
            result.report = build_report(
                t_an,
                refs,
                out_an,
                preset,
                rendered.stats,
                str(target),
                str(out),
                delivery_of(out),
            )
            result.report_path = per_target(Path(report_out), Path(target), n)
            save_report(result.report, result.report_path)
        results.append(result)
    yield Progress("done", 1.0)
    return results


def delivery_of(path: str | Path) -> DeliveryReport:
    """The delivery check (:mod:`engine.delivery`) of a written file, all services."""
    from engine.delivery import delivery_report

    x, sr = io.read_audio(path)
    return delivery_report(x, sr)


def codec_safe_render(
    preset: Preset,
    target: str | Path | None,
    out: str | Path,
    rendered: RenderResult,
    *,
    fmt: str | None = None,
    cancel: CancelToken | None = None,
    device: str | Backend = "auto",
    decoded: Sequence[NDArray[np.float32]] | None = None,
    render: Callable[[Preset, Path], Generator[Progress, None, RenderResult]] | None = None,
) -> Generator[Progress, None, tuple[Preset, RenderResult, dict[str, Any]]]:
    """Codec-safe ceiling: lower the limiter's ceiling until the result written to ``out``
    stays under ``preset.options.ceiling_dbtp`` after ``preset.options.codec_safe``'s
    encode/decode, measured each time (:func:`engine.delivery.next_ceiling` picks the next
    ceiling; at most :data:`CODEC_SAFE_TRIES` renders more, each into a temporary file that
    replaces ``out`` only when it is safe, or the least unsafe so far).

    A trial renders ``target`` with :func:`render_file`, or calls ``render(preset, path)``
    when given (the worker's join renders its EQ'd chunks again instead of the target).

    Returns the preset actually used (it keeps the lowered ceiling, so ``apply`` reproduces
    the file), its render, and ``{"codec", "ceiling", "tp"}`` (the codec's true peak)."""
    from engine.delivery import codec_true_peak_dbtp_stream, next_ceiling

    codec = preset.options.codec_safe
    assert codec is not None
    wanted = preset.options.ceiling_dbtp
    out_path = Path(out)

    def measure(path: Path) -> float:  # streamed: an hour-long file is not held in memory
        info = io.probe(path)
        blocks = io.iter_blocks(path, READ_BLOCK_FRAMES, info=info)
        return codec_true_peak_dbtp_stream(blocks, info.sample_rate, info.channels, codec)

    best_tp = measure(out_path)  # the file at ``out``
    unsafe = (preset.limiter.ceiling_dbtp, best_tp)
    safe: tuple[float, float] | None = None
    for attempt in range(CODEC_SAFE_TRIES):
        if best_tp <= wanted and wanted - best_tp <= CODEC_SAFE_CLOSE_DB:
            break
        ceiling = next_ceiling(unsafe, safe, wanted, CODEC_SAFE_MARGIN_DB)
        if ceiling is None:
            break
        check(cancel)
        trial = preset.model_copy(
            update={"limiter": preset.limiter.model_copy(update={"ceiling_dbtp": ceiling})}
        )
        tmp = out_path.with_name(f".{out_path.name}.codec-safe-{attempt}{out_path.suffix}")
        span = attempt / CODEC_SAFE_TRIES, (attempt + 1) / CODEC_SAFE_TRIES
        try:
            if render is not None:
                gen = render(trial, tmp)
            else:
                assert target is not None, "codec_safe_render needs a target or a render"
                gen = render_file(
                    trial,
                    target,
                    tmp,
                    fmt=fmt,
                    force=True,
                    cancel=cancel,
                    device=device,
                    decoded=decoded,
                )
            result = yield from scaled(gen, *span)
            tp = measure(tmp)
            if tp <= wanted or (safe is None and tp < best_tp):
                replace_durably(tmp, out_path)  # tmp: a complete file (both renders commit)
                preset, rendered, best_tp = trial, result, tp
        finally:
            tmp.unlink(missing_ok=True)
        if tp <= wanted:
            safe = (ceiling, tp)
        else:
            unsafe = (ceiling, tp)
    info = {"codec": codec, "ceiling": preset.limiter.ceiling_dbtp, "tp": round(best_tp, 2)}
    return (
        preset,
        RenderResult(out_path, rendered.stats, rendered.sample_rate, rendered.channels),
        info,
    )


def named_preset(
    preset: Preset, references: Sequence[str | Path], refs: Sequence[Analysis]
) -> Preset:
    return preset.model_copy(
        update={
            "name": Path(references[0]).stem,
            "references": [Path(r).name for r in references],
            "reference": refs[0].summary if len(refs) == 1 else None,
        }
    )


def analyze_references(
    references: Sequence[str | Path],
    rate: int,
    cancel: CancelToken | None,
    true_peak: bool,
    backend: Backend,
) -> Generator[Progress, None, list[Analysis]]:
    """Analyse every reference at the target's ``rate``, one after the other."""
    refs: list[Analysis] = []
    for j, r in enumerate(references):
        gen = analyze_file(r, sample_rate=rate, cancel=cancel, true_peak=true_peak, device=backend)
        refs.append((yield from scaled(gen, j / len(references), (j + 1) / len(references))))
    return refs


def per_target(path: Path, target: Path, n: int) -> Path:
    if n == 1:
        return path
    return path.with_name(f"{path.stem}.{target.stem}{path.suffix}")
