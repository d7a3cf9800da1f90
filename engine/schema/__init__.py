"""Wire types shared by the engine, the desktop app, the cloud client and the server.

Pure pydantic, no numpy: every side can import this package cheaply.
"""

from engine.schema.errors import AudioStyleError, ErrorCode, error_message
from engine.schema.options import AUDIO_FORMATS, MatchOptions
from engine.schema.preset import PRESET_SCHEMA_VERSION, Preset

__all__ = [
    "AUDIO_FORMATS",
    "PRESET_SCHEMA_VERSION",
    "AudioStyleError",
    "ErrorCode",
    "MatchOptions",
    "Preset",
    "error_message",
]
