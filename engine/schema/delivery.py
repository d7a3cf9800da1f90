"""Wire types of the delivery check (``audio-style qc``, the report, the app's Delivery panel)
and of the reference suitability verdict."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServiceResult(BaseModel):
    """One streaming service: its normalisation gain and the true peak after its codec."""

    model_config = ConfigDict(extra="forbid")
    key: str
    label: str
    target_lufs: float | None
    gain_db: float
    playback_lufs: float
    codec: str
    codec_true_peak_dbtp: float
    passed: bool


class MonoFold(BaseModel):
    """Mono fold-down: loudness change (dB) and per-octave-band change."""

    model_config = ConfigDict(extra="forbid")
    loss_db: float
    band_centres_hz: list[float] = Field(default_factory=list)
    band_loss_db: list[float] = Field(default_factory=list)
    cancelling_hz: list[float] = Field(default_factory=list)


class DeliveryReport(BaseModel):
    """Every delivery figure of one master, with a verdict per check."""

    model_config = ConfigDict(extra="forbid")
    integrated_lufs: float
    true_peak_dbtp: float
    inter_sample_overs: int
    services: list[ServiceResult]
    mono: MonoFold
    min_correlation: float
    clipped_samples: int
    dc_offset_dbfs: float
    checks: dict[str, bool]
    source: str = ""

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(self.checks.values())


class AspectTrust(BaseModel):
    """How much of one aspect of the reference was used, and why."""

    model_config = ConfigDict(extra="forbid")
    aspect: str  # "eq", "dynamics", "width"
    trust: float = Field(ge=0, le=1)
    reason: str  # a stable key: "ok", "band_limited", "clipped", "over_limited", "near_mono"
    value: float | None = None  # the measured figure behind the reason (Hz, %, dB)


class ReferenceSuitability(BaseModel):
    """What the reference is missing, and what the plan therefore did not copy."""

    model_config = ConfigDict(extra="forbid")
    band_limit_hz: float | None = None  # detected codec low-pass
    clipped_fraction: float = 0.0  # share of samples in full-scale runs
    plr_db: float | None = None  # peak-to-loudness ratio (over-limited when small)
    side_to_mid_db: float | None = None  # broadband side level relative to mid
    aspects: list[AspectTrust] = Field(default_factory=list)
