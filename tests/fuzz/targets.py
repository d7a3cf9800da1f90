"""What the fuzzers check, one generated input at a time (also replayed by test_fuzz.py): the
only acceptable failure of reading a user's file is a coded ``AudioStyleError``."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from engine import io as audio_io
from engine import presets
from engine.schema.errors import AudioStyleError

MAX_DECODE_SAMPLES = 4_000_000  # decode only what a fuzzed header can really hold
SUFFIXES = (".wav", ".flac", ".aiff", ".ogg", ".mp3")
_tmp = Path(tempfile.mkdtemp(prefix="fuzz-"))


def check_audio(data: bytes) -> None:
    """Probe and decode ``data`` as an audio file; the first byte picks the file's extension
    (the probe must not trust it)."""
    suffix = SUFFIXES[data[0] % len(SUFFIXES)] if data else ".wav"
    path = _tmp / f"input{suffix}"
    path.write_bytes(data[1:])
    try:
        info = audio_io.probe(path)
        if info.frames * info.channels <= MAX_DECODE_SAMPLES:
            audio_io.read_audio(path, info=info)
    except AudioStyleError:
        pass


def check_preset(data: bytes) -> None:
    """Load ``data`` as a preset file."""
    path = _tmp / "preset.json"
    path.write_bytes(data)
    with contextlib.suppress(AudioStyleError):
        presets.load_preset(path)
