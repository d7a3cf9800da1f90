"""Seed inputs of the fuzzers: small valid files of every container the probe knows."""

from __future__ import annotations

import io
import json

import numpy as np
import soundfile as sf


def audio_seeds() -> list[bytes]:
    """Short WAV (16/24-bit, float, mono/stereo), FLAC, AIFF and OGG files."""
    t = np.arange(2205) / 22050
    x = 0.3 * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], axis=1)
    out = []
    for fmt, subtype, ch in (
        ("WAV", "PCM_16", 2),
        ("WAV", "PCM_24", 1),
        ("WAV", "FLOAT", 2),
        ("WAV", "PCM_U8", 1),
        ("FLAC", "PCM_16", 2),
        ("AIFF", "PCM_16", 2),
        ("OGG", "VORBIS", 1),
    ):
        buf = io.BytesIO()
        sf.write(buf, x[:, :ch], 22050, format=fmt, subtype=subtype)
        out.append(buf.getvalue())
    return out


def preset_seeds() -> list[bytes]:
    """A preset the engine writes (from a real plan), and a few near-misses."""
    from engine.schema.preset import Preset

    schema = Preset.model_json_schema()
    example = {"schema_version": 1, "name": "seed"}
    return [
        json.dumps(example).encode(),
        json.dumps(schema)[:4000].encode(),
        b'{"schema_version": 99}',
        b"[]",
    ]
