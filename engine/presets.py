"""Preset files: native JSON (versioned), Equalizer APO, GraphicEQ and CSV exports.

Equalizer APO ``Filter:`` lines and ``GraphicEQ:`` follow the formats AutoEq writes; the
parametric bands are the RBJ cookbook shapes Equalizer APO implements. Equalizer APO has no
mid/side, so the exports carry the mid curve (what both channels share).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from engine import io
from engine.eqfit import bands_response_db
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.preset import PRESET_SCHEMA_VERSION, Preset

EXPORT_FORMATS = ("eqapo", "graphiceq", "csv")
_APO_TYPES = {"peak": "PK", "low_shelf": "LSC", "high_shelf": "HSC"}


def preset_to_json(preset: Preset) -> str:
    """Serialise with full float precision (round-trips exactly)."""
    return json.dumps(preset.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n"


def save_preset(preset: Preset, path: str | Path, *, force: bool = False) -> None:
    """Write ``preset`` as JSON atomically."""
    io.atomic_write_text(path, preset_to_json(preset), force=force)


def load_preset(path: str | Path) -> Preset:
    """Read and validate a preset file."""
    p = Path(path)
    if not p.exists():
        raise AudioStyleError(ErrorCode.FILE_NOT_FOUND, path=str(p))
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AudioStyleError(ErrorCode.BAD_PRESET, path=str(p), reason=str(exc)[:120]) from None
    if not isinstance(data, dict):
        raise AudioStyleError(ErrorCode.BAD_PRESET, path=str(p), reason="not a JSON object")
    version = data.get("schema_version")
    if isinstance(version, int) and version > PRESET_SCHEMA_VERSION:
        raise AudioStyleError(
            ErrorCode.PRESET_VERSION, version=version, supported=PRESET_SCHEMA_VERSION
        )
    try:
        return Preset.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise AudioStyleError(
            ErrorCode.BAD_PRESET, path=str(p), reason=f"{where}: {first['msg']}"
        ) from None


def export_eqapo(preset: Preset) -> str:
    """Equalizer APO parametric configuration (``Preamp:`` + ``Filter N:`` lines)."""
    bands = preset.eq.mid.bands
    f = np.geomspace(20, 20000, 400)
    peak = float(np.max(bands_response_db(bands, f, 48000))) if bands else 0.0
    lines = [
        f"# audio-style preset {preset.name!s} (mid curve, fit error "
        f"{preset.eq.mid.fit_error_db:.2f} dB)",
        f"Preamp: {-max(peak, 0.0):.1f} dB",
    ]
    for i, b in enumerate(bands, start=1):
        lines.append(
            f"Filter {i}: ON {_APO_TYPES[b.type]} Fc {b.freq_hz:.0f} Hz "
            f"Gain {b.gain_db:.1f} dB Q {b.q:.2f}"
        )
    return "\n".join(lines) + "\n"


def export_graphiceq(preset: Preset) -> str:
    """Equalizer APO / Wavelet ``GraphicEQ:`` line (about 127 points, max at -0.2 dB)."""
    freqs = sorted({int(20 * 1.0563**k) for k in range(128) if 20 * 1.0563**k <= 20000})
    curve = preset.eq.mid.curve
    g = np.interp(np.log(freqs), np.log(curve.freqs_hz), curve.gain_db)
    g = g - max(float(g.max()), 0.0) - 0.2
    pts = "; ".join(f"{f} {v:.1f}" for f, v in zip(freqs, g, strict=True))
    return f"GraphicEQ: {pts}\n"


def export_csv(preset: Preset) -> str:
    """CSV of the full-resolution curves: ``frequency_hz,mid_db[,side_db]``."""
    mid = preset.eq.mid.curve
    side = preset.eq.side.curve if preset.eq.side is not None else None
    rows = ["frequency_hz,mid_db" + (",side_db" if side else "")]
    for i, f in enumerate(mid.freqs_hz):
        row = f"{f:.3f},{mid.gain_db[i]:.4f}"
        if side is not None:
            row += f",{side.gain_db[i]:.4f}"
        rows.append(row)
    return "\n".join(rows) + "\n"


def export_preset(preset: Preset, fmt: str) -> str:
    """Export in one of :data:`EXPORT_FORMATS`."""
    if fmt == "eqapo":
        return export_eqapo(preset)
    if fmt == "graphiceq":
        return export_graphiceq(preset)
    if fmt == "csv":
        return export_csv(preset)
    raise AudioStyleError(ErrorCode.BAD_FORMAT_OPTION, value=fmt, choices=", ".join(EXPORT_FORMATS))
