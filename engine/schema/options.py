"""Match options: what the user asks for (amounts, limits, targets)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

AUDIO_FORMATS = ("wav16", "wav24", "wav32f", "flac")
AudioFormat = Literal["wav16", "wav24", "wav32f", "flac"]
FORMAT_EXT = {"wav16": "wav", "wav24": "wav", "wav32f": "wav", "flac": "flac"}


def output_extension(fmt: str | None, target_name: str) -> str:
    """File extension of a job's output: the format's, else the target's (wav or flac)."""
    if fmt:
        return FORMAT_EXT[fmt]
    ext = target_name.rsplit(".", 1)[-1].lower() if "." in target_name else ""
    return ext if ext in ("wav", "flac") else "wav"


Estimator = Literal["rules", "blend", "learned"]
Device = Literal["auto", "cpu", "gpu"]
CodecName = Literal[
    "aac-128",
    "aac-160",
    "aac-256",
    "aac-320",
    "opus-128",
    "opus-160",
    "vorbis-320",
    "mp3-128",
    "mp3-320",
]  # engine.codecs.CODECS
CODEC_NAMES: tuple[str, ...] = get_args(CodecName)
ReferenceMode = Literal["range", "average"]
ReferenceWeight = Annotated[float, Field(gt=0, le=1)]
# chosen on the three benchmark case sets (references at -5..-16 LUFS): see docs/architecture.md
DEFAULT_MAX_LIMITING_DB = 24.0


class MatchOptions(BaseModel):
    """Options for building a match plan. Amounts are percentages (0-100)."""

    model_config = ConfigDict(extra="forbid")

    amount: float = Field(100.0, ge=0, le=100, description="master amount, scales every aspect")
    eq_enabled: bool = True
    eq_amount: float = Field(100.0, ge=0, le=100)
    dynamics_enabled: bool = True
    dynamics_amount: float = Field(100.0, ge=0, le=100)
    width_enabled: bool = True
    width_amount: float = Field(100.0, ge=0, le=100)
    loudness_enabled: bool = True
    loudness_amount: float = Field(100.0, ge=0, le=100)
    limiter_enabled: bool = True

    smoothing_octaves: float | None = Field(
        None, gt=0, le=4, description="EQ smoothing width; None = chosen from the reference trust"
    )
    max_boost_db: float = Field(12.0, ge=0, le=24)
    max_cut_db: float = Field(12.0, ge=0, le=24)
    low_hz: float = Field(20.0, ge=5, le=1000, description="EQ is flat below this frequency")
    high_hz: float = Field(20000.0, ge=1000, le=96000, description="EQ is flat above this")
    target_lufs: float | None = Field(None, ge=-70, le=0, description="None = the reference's")
    ceiling_dbtp: float = Field(-1.0, ge=-20, le=0)
    max_limiting_db: float = Field(
        DEFAULT_MAX_LIMITING_DB,
        ge=0,
        le=24,
        description="most the limiter may take to reach the loudness target (dB of gain "
        "reduction beyond the level where it starts working); past it the output stays quieter",
    )
    codec_safe: CodecName | None = Field(
        None, description="lower the ceiling so the result stays under it after this codec"
    )
    mono_bass_hz: float = Field(
        120.0, ge=0, le=500, description="keep the bass below this mono when the reference does"
    )
    estimator: Estimator = "blend"
    device: Device = "auto"
    # several references (engine.ranges): correct only outside their spread, or average them
    reference_mode: ReferenceMode = "range"
    reference_weights: list[ReferenceWeight] | None = Field(
        None, description="one weight per reference (0 < w <= 1); None = all 1"
    )

    def scaled(self, aspect_amount: float, enabled: bool) -> float:
        """Effective 0..1 factor for one aspect (master amount x aspect amount)."""
        return (self.amount / 100.0) * (aspect_amount / 100.0) if enabled else 0.0
