"""Audio preview: the A/B/C player and the audio outputs it plays through."""

from app.audio.output import AudioOutput, FakeAudioOutput, NullOutput, create_output
from app.audio.player import Player, matched_gains

__all__ = [
    "AudioOutput",
    "FakeAudioOutput",
    "NullOutput",
    "Player",
    "create_output",
    "matched_gains",
]
