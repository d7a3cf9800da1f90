"""Operations run inside the sandbox child; every path is inside the task's work directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.options import MatchOptions
from server.worker import engine_adapter as eng
from server.worker.png import plot_curves

Progress = Callable[[float, str], None]


def dispatch(op: str, a: dict[str, Any], progress: Progress) -> dict[str, Any]:
    fn = OPS.get(op)
    if fn is None:
        raise AudioStyleError(ErrorCode.INTERNAL, reason=f"unknown sandbox op {op!r}")
    return fn(a, progress)


def _paths(xs: list[str]) -> list[Path]:
    return [Path(x) for x in xs]


def op_match(a: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Probe; a long target gets its plan built and is split, others are matched in one pass."""
    target, refs = Path(a["target"]), _paths(a["references"])
    max_s = float(a["max_duration_s"])
    info = eng.probe(target, max_s)
    for r in refs:
        eng.probe(r, max_s)
    options = MatchOptions.model_validate(a["options"])
    progress(0.01, "probe")
    out_preset = Path(a["out_preset"])
    if a.get("chunk_min_s") and info.duration_s >= float(a["chunk_min_s"]):
        loudness = eng.build_preset_file(
            target, refs, options, out_preset, lambda f, st: progress(0.3 * f, st), _never
        )
        chunks = eng.plan_chunks(info.frames, info.sample_rate, float(a["chunk_s"]))
        return {
            "split": True,
            "loudness": loudness,
            "frames": info.frames,
            "sample_rate": info.sample_rate,
            "channels": info.channels,
            "chunks": chunks,
        }
    metrics = eng.match(
        target,
        refs,
        Path(a["out_audio"]),
        out_preset,
        Path(a["out_report"]),
        options,
        a.get("format"),
        progress,
        _never,
    )
    Path(a["out_viz"]).write_bytes(plot_curves(eng.curves(out_preset)))
    eng.write_exports(out_preset, a.get("out_exports") or {})
    return {"split": False, "metrics": metrics}


def _never() -> bool:
    return False


def op_stats(a: dict[str, Any], progress: Progress) -> dict[str, Any]:
    eng.region_stats(
        Path(a["preset"]),
        Path(a["target"]),
        int(a["start"]),
        int(a["stop"]),
        Path(a["out"]),
        Path(a["out_eq"]),
    )
    return {}


def op_gains(a: dict[str, Any], progress: Progress) -> dict[str, Any]:
    m = eng.region_gains(
        Path(a["preset"]), _paths(a["stats"]), int(a["sample_rate"]), Path(a["out"])
    )
    return {"metrics": m}


def op_join(a: dict[str, Any], progress: Progress) -> dict[str, Any]:
    out_audio, preset = Path(a["out_audio"]), Path(a["preset"])
    metrics = eng.join(
        _paths(a["chunks"]),
        preset,
        Path(a["gains"]),
        int(a["sample_rate"]),
        int(a["channels"]),
        out_audio,
        a.get("format"),
        _paths(a["references"]),
    )
    Path(a["out_viz"]).write_bytes(plot_curves(eng.curves(preset)))
    eng.write_exports(preset, a.get("out_exports") or {})
    return {"metrics": metrics}


def op_selftest_alloc(a: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Tests: allocate ``mb`` megabytes (checks the memory limit turns into a failed task)."""
    blob = bytearray(int(a["mb"]) * 1024 * 1024)
    return {"allocated": len(blob)}


def op_selftest_sleep(a: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Tests: hang for ``s`` seconds (checks the wall-clock limit)."""
    import time

    time.sleep(float(a["s"]))
    return {}


OPS: dict[str, Callable[[dict[str, Any], Progress], dict[str, Any]]] = {
    "match": op_match,
    "stats": op_stats,
    "gains": op_gains,
    "join": op_join,
    "selftest_alloc": op_selftest_alloc,
    "selftest_sleep": op_selftest_sleep,
}
