"""Album mode of :func:`engine.pipeline.match_files`: every track planned together
(:func:`engine.album.album_presets`), rendered, lowered as one when a track fell short of its
loudness target, and measured for the album table."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from pathlib import Path

from engine.album import (
    MAX_ALBUM_LOWERING_LU,
    SHORTFALL_LU,
    AlbumOptions,
    album_presets,
    album_table,
)
from engine.analysis import Analysis
from engine.backends import Backend
from engine.pipeline import (
    MatchResult,
    RenderResult,
    analyze_file,
    analyze_references,
    named_preset,
    per_target,
    render_file,
)
from engine.presets import save_preset
from engine.progress import CancelToken, Progress, scaled
from engine.report import build_report, save_report
from engine.schema.options import MatchOptions

__all__ = ["match_album"]


def match_album(
    targets: Sequence[str | Path],
    references: Sequence[str | Path],
    outputs: Sequence[str | Path],
    options: MatchOptions,
    album: AlbumOptions,
    fmt: str | None,
    force: bool,
    preset_out: str | Path | None,
    report_out: str | Path | None,
    cancel: CancelToken | None,
    backend: Backend,
) -> Generator[Progress, None, list[MatchResult]]:
    """Album mode of :func:`match_files`: analyse every track, plan them together
    (:func:`engine.album.album_presets`), render, lower the album when a track fell short of
    its loudness target (the limiter's budget) so the spread holds, then measure the outputs
    for the album table."""
    n = len(targets)
    t_ans: list[Analysis] = []
    ref_cache: dict[int, list[Analysis]] = {}
    for i, target in enumerate(targets):
        lo, hi = 0.35 * i / n, 0.35 * (i + 1) / n
        t_an = yield from scaled(
            analyze_file(target, cancel=cancel, device=backend), lo, (lo + hi) / 2
        )
        rate = t_an.sample_rate
        if rate not in ref_cache:
            ref_cache[rate] = yield from scaled(
                analyze_references(references, rate, cancel, True, backend), (lo + hi) / 2, hi
            )
        t_ans.append(t_an)
    refs = [ref_cache[a.sample_rate] for a in t_ans]
    presets = [
        named_preset(p, references, r)
        for p, r in zip(album_presets(t_ans, refs, options, album), refs, strict=True)
    ]

    def render_all(
        which: list[int], lo: float, hi: float, replace: bool
    ) -> Generator[Progress, None, dict[int, RenderResult]]:
        done: dict[int, RenderResult] = {}
        for k, i in enumerate(which):
            a, b = lo + (hi - lo) * k / len(which), lo + (hi - lo) * (k + 1) / len(which)
            gen = render_file(
                presets[i],
                targets[i],
                outputs[i],
                fmt=fmt,
                force=replace,
                cancel=cancel,
                device=backend,
            )
            done[i] = yield from scaled(gen, a, b)
        return done

    rendered = yield from render_all(list(range(n)), 0.35, 0.75, force)
    shortfall = (
        max(
            (p.loudness.target_lufs - rendered[i].stats.output_lufs)
            for i, p in enumerate(presets)
            if p.loudness.enabled
        )
        if any(p.loudness.enabled for p in presets)
        else 0.0
    )
    if shortfall > SHORTFALL_LU:
        lowering = min(shortfall, MAX_ALBUM_LOWERING_LU)
        lower = [
            i
            for i, p in enumerate(presets)
            if p.loudness.enabled
            and p.loudness.target_lufs - rendered[i].stats.output_lufs < shortfall - SHORTFALL_LU
        ]
        for i in lower:
            loud = presets[i].loudness
            presets[i] = presets[i].model_copy(
                update={
                    "loudness": loud.model_copy(update={"target_lufs": loud.target_lufs - lowering})
                }
            )
        # the outputs are this run's own: replaced
        rendered.update((yield from render_all(lower, 0.75, 0.85, True)))
    out_ans: list[Analysis] = []
    for i, out in enumerate(outputs):
        a, b = 0.85 + 0.15 * i / n, 0.85 + 0.15 * (i + 1) / n
        gen = analyze_file(
            out, cancel=cancel, require_signal=False, true_peak=False, device=backend
        )
        out_ans.append((yield from scaled(gen, a, b)))
    names = [Path(t).name for t in targets]
    table = {
        "kind": "audio-style-album-report",
        "version": 1,
        "keep_spread": album.keep_spread,
        "consistency": album.consistency,
        "before": album_table(names, t_ans),
        "after": album_table(
            names, out_ans, [rendered[i].stats.output_true_peak_dbtp for i in range(n)]
        ),
    }
    results = []
    for i in range(n):
        r = MatchResult(
            Path(targets[i]), Path(outputs[i]), presets[i], rendered[i], t_ans[i], refs[i]
        )
        r.extra["album"] = table
        if preset_out is not None:
            r.preset_path = per_target(Path(preset_out), Path(targets[i]), n)
            save_preset(presets[i], r.preset_path, force=True)
        if report_out is not None:
            r.report = build_report(
                t_ans[i],
                refs[i],
                out_ans[i],
                presets[i],
                rendered[i].stats,
                str(targets[i]),
                str(outputs[i]),
            )
            r.report["album"] = table
            r.report_path = per_target(Path(report_out), Path(targets[i]), n)
            save_report(r.report, r.report_path)
        results.append(r)
    if report_out is not None and n > 1:
        save_report(table, report_out)
    yield Progress("done", 1.0)
    return results
