"""The export work of the main controller, without Qt: what an export writes, and the
progress generators that write it (the current target, or every target as a batch, in
album mode too), with the preset files in every format asked for.

The report's PNG (a picture of the window) is saved by the controller on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.controllers.engine_api import EngineApi, Steps
from app.controllers.match_work import scaled
from app.models import (
    ALBUM_REPORT,
    EXTENSIONS,
    IR_TRUE_STEREO_EXTENSION,
    PRESET_EXTENSIONS,
    ExportRequest,
)
from engine.schema.options import MatchOptions
from engine.schema.preset import Preset

if TYPE_CHECKING:
    from engine.facade import Analysis, CancelToken, MatchResult, Progress

IR_DEFAULT_RATE = 48000  # impulse responses of a target at another rate
AlbumTable = dict[str, Any]  # engine.album's table (JSON)


@dataclass
class ExportOutcome:
    paths: list[str] = field(default_factory=list)
    album: AlbumTable | None = None  # the album table of an album-mode batch


def output_stem(target: str) -> str:
    return f"{Path(target).stem}_matched"


def planned_outputs(req: ExportRequest, targets: Sequence[str], current: str | None) -> list[str]:
    """The files an export of ``current`` (or of every target, ``req.batch``) would write."""
    if current is None:
        return []
    folder = Path(req.folder)
    paths: list[str] = []
    for t in targets if req.batch else [current]:
        stem = output_stem(t)
        if req.audio:
            paths.append(str(folder / (stem + EXTENSIONS[req.audio_format])))
        for fmt in req.preset_formats:
            paths.append(str(folder / (stem + PRESET_EXTENSIONS[fmt])))
            if fmt == "ir":
                paths.append(str(folder / (stem + IR_TRUE_STEREO_EXTENSION)))
        if req.report:
            paths.append(str(folder / (stem + ".report.json")))
            if not req.batch or t == current:
                paths.append(str(folder / (stem + ".report.png")))
    if req.batch and req.album:
        paths.append(str(folder / ALBUM_REPORT))
    return paths


class ExportWork:
    """The generators; ``device`` reads the processing device when the work runs."""

    def __init__(
        self,
        engine: EngineApi,
        device: Callable[[], str],
        progress: Callable[[str, float, str], Progress],
    ) -> None:
        self.engine = engine
        self.device = device
        self.progress = progress

    def write_presets(
        self, preset: Preset, stem: Path, formats: Sequence[str], target: Analysis | None = None
    ) -> list[str]:
        """The preset files; ``target`` (its Analysis) sets the impulse responses' rate and
        the ffmpeg chain's gain."""
        presets, io, exports = self.engine.presets, self.engine.io, self.engine.exports
        written = []
        for fmt in formats:
            path = str(stem) + PRESET_EXTENSIONS[fmt]
            if fmt == "json":
                presets.save_preset(preset, path, force=True)
            elif fmt == "ir":
                assert exports is not None
                rate = getattr(target, "sample_rate", IR_DEFAULT_RATE)
                rates = exports.ir.IR_SAMPLE_RATES
                _, paths = exports.ir.write_impulse_responses(
                    preset, path, sample_rate=rate if rate in rates else IR_DEFAULT_RATE, force=True
                )
                written += [str(p) for p in paths[1:]]
            elif fmt == "ffmpeg":
                assert exports is not None
                lufs = target.summary.integrated_lufs if target is not None else None
                io.atomic_write_text(path, exports.ffmpeg.export_ffmpeg(preset, lufs), force=True)
            else:
                io.atomic_write_text(path, presets.export_preset(preset, fmt), force=True)
            written.append(path)
        return written

    def export(
        self,
        req: ExportRequest,
        preset: Preset,
        target: str,
        t_an: Analysis | None,
        ref_an: list[Analysis],
        tmp_dir: Path,
    ) -> Callable[[CancelToken], Steps[ExportOutcome]]:
        """Render ``target`` through ``preset`` (for the audio, or the report's measurements)
        and write what ``req`` asks for."""
        pipeline, report = self.engine.pipeline, self.engine.report
        stem = Path(req.folder) / output_stem(target)

        def run(token: CancelToken) -> Steps[ExportOutcome]:
            written: list[str] = []
            if req.audio or req.report:
                out = str(stem) + EXTENSIONS[req.audio_format] if req.audio else None
                dest = out or str(tmp_dir / "report-render.wav")
                fmt = req.audio_format if req.audio else "wav32f"
                gen = pipeline.render_file(
                    preset,
                    target,
                    dest,
                    fmt=fmt,
                    force=True,
                    cancel=token,
                    device=self.device(),
                )
                rendered = yield from scaled(gen, 0.0, 0.8, self.progress)
                if out:
                    written.append(out)
                if req.report:
                    gen_an = pipeline.analyze_file(
                        dest, cancel=token, require_signal=False, device=self.device()
                    )
                    out_an = yield from scaled(gen_an, 0.8, 0.95, self.progress)
                    assert t_an is not None
                    rep = report.build_report(
                        t_an, ref_an, out_an, preset, rendered.stats, target, out or ""
                    )
                    path = str(stem) + ".report.json"
                    report.save_report(rep, path)
                    written.append(path)
                if not out:
                    Path(dest).unlink(missing_ok=True)
            written += self.write_presets(preset, stem, req.preset_formats, t_an)
            yield self.progress("done", 1.0, "")
            return ExportOutcome(written)

        return run

    def batch(
        self,
        req: ExportRequest,
        targets: list[str],
        refs: list[str],
        options: MatchOptions,
        tmp_dir: Path,
    ) -> Callable[[CancelToken], Steps[ExportOutcome]]:
        """Match every target (one at a time, or together in album mode) into ``req.folder``."""
        pipeline = self.engine.pipeline
        folder = Path(req.folder)
        stems = [folder / output_stem(t) for t in targets]

        def run(token: CancelToken) -> Steps[ExportOutcome]:
            written: list[str] = []
            if req.audio:
                outs = [str(s) + EXTENSIONS[req.audio_format] for s in stems]
                fmt = req.audio_format
            else:
                outs = [str(tmp_dir / f"batch-{i}.wav") for i in range(len(targets))]
                fmt = "wav32f"
            if req.album:
                return (yield from album_run(token, outs, fmt))
            n = len(targets)
            results: list[MatchResult] = []
            for i, (t, out, stem) in enumerate(zip(targets, outs, stems, strict=True)):
                lo, hi = i / n, (i + 1) / n
                report_out = str(stem) + ".report.json" if req.report else None
                gen = pipeline.match_files(
                    [t],
                    refs,
                    [out],
                    options,
                    fmt=fmt,
                    force=True,
                    report_out=report_out,
                    cancel=token,
                )
                res = yield from scaled(gen, lo, hi, self.progress, f"{i + 1}/{n}")
                results.extend(res)
                if req.audio:
                    written.append(out)
                else:
                    Path(out).unlink(missing_ok=True)
                if report_out:
                    written.append(report_out)
                preset = res[0].preset
                written += self.write_presets(
                    preset, stem, req.preset_formats, res[0].target_analysis
                )
            return ExportOutcome(written)

        def album_run(token: CancelToken, outs: list[str], fmt: str) -> Steps[ExportOutcome]:
            """Album mode: every target in one plan; the album table as the report."""
            assert self.engine.album is not None
            gen = pipeline.match_files(
                targets,
                refs,
                outs,
                options,
                fmt=fmt,
                force=True,
                cancel=token,
                album=self.engine.album.AlbumOptions(),
            )
            results = yield from scaled(gen, 0.0, 1.0, self.progress)
            written = list(outs) if req.audio else []
            if not req.audio:
                for o in outs:
                    Path(o).unlink(missing_ok=True)
            table: AlbumTable = results[0].extra["album"]
            path = str(folder / ALBUM_REPORT)
            self.engine.report.save_report(table, path)
            written.append(path)
            for r, stem in zip(results, stems, strict=True):
                written += self.write_presets(r.preset, stem, req.preset_formats, r.target_analysis)
            return ExportOutcome(written, table)

        return run
