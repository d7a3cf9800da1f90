"""The engine modules the controllers call, gathered so they can be swapped in tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class EngineApi:
    """The facade (``pipeline``) plus the helpers the app needs around it."""

    pipeline: Any  # CancelToken, analyze_file, analyze_array, build_preset, render_*, match_files
    io: Any  # probe, iter_blocks, resample, atomic_write_text
    presets: Any  # save_preset, export_preset
    eqfit: Any  # band_response_db
    report: Any  # build_report, save_report
    ranges: Any = None  # spectrum_range (several references as a range)
    album: Any = None  # AlbumOptions (album mode of the batch)
    exports: Any = None  # ir.write_impulse_responses, ffmpeg.export_ffmpeg
    backends: Any = None  # cuda_status, reason_text: the device "Automatic" computes on


def default_engine() -> EngineApi:
    """The real engine (imported lazily: the app starts before numpy-heavy imports)."""
    from engine import album, backends, eqfit, io, pipeline, presets, ranges, report
    from engine.exports import ffmpeg, ir

    @dataclass
    class _Exports:
        ir: Any
        ffmpeg: Any

    return EngineApi(
        pipeline=pipeline,
        io=io,
        presets=presets,
        eqfit=eqfit,
        report=report,
        ranges=ranges,
        album=album,
        exports=_Exports(ir=ir, ffmpeg=ffmpeg),
        backends=backends,
    )
