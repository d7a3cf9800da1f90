"""The match plan, which is also the preset: versioned, JSON, full-resolution curves.

A preset holds everything the renderer needs; rendering a preset on the same target reproduces
the ``match`` output sample for sample.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.schema.delivery import ReferenceSuitability
from engine.schema.options import MatchOptions

PRESET_SCHEMA_VERSION = 1
FilterType = Literal["low_shelf", "high_shelf", "peak"]


class ParametricBand(BaseModel):
    """One parametric EQ band (RBJ Audio EQ Cookbook shapes)."""

    model_config = ConfigDict(extra="forbid")
    type: FilterType
    freq_hz: float
    gain_db: float
    q: float


class EqCurve(BaseModel):
    """A gain curve on a log-frequency grid (dB at each frequency in Hz)."""

    model_config = ConfigDict(extra="forbid")
    freqs_hz: list[float]
    gain_db: list[float]


class ChannelEq(BaseModel):
    """EQ for one of mid / side: the applied curve and its parametric approximation."""

    model_config = ConfigDict(extra="forbid")
    curve: EqCurve
    bands: list[ParametricBand] = Field(default_factory=list)
    fit_error_db: float = 0.0


class EqSettings(BaseModel):
    """Mid and side EQ. ``side`` already includes the per-band width change."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    mid: ChannelEq
    side: ChannelEq | None = None
    smoothing_octaves: float = 1.0
    reference_trust: float = Field(1.0, ge=0, le=1)


class WidthSettings(BaseModel):
    """Per-band side gain relative to mid (already folded into the side EQ for rendering)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    band_edges_hz: list[float] = Field(default_factory=list)
    side_gain_db: list[float] = Field(default_factory=list)


class DynamicsSettings(BaseModel):
    """Broadband feed-forward compressor (ratio > 1) or expander (ratio < 1) driven by the
    K-weighted level envelope. The threshold is relative to the programme's integrated
    loudness after EQ, so a preset carries over to other material."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    threshold_lu: float = 0.0
    ratio: float = Field(1.0, gt=0)
    knee_db: float = 6.0
    detector_ms: float = 50.0
    attack_ms: float = 10.0
    release_ms: float = 200.0


class LoudnessSettings(BaseModel):
    """Target integrated loudness (ITU-R BS.1770-4)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    target_lufs: float
    amount: float = Field(1.0, ge=0, le=1)


class LimiterSettings(BaseModel):
    """True-peak limiter with lookahead."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    ceiling_dbtp: float = -1.0
    lookahead_ms: float = 2.0
    release_ms: float = 100.0
    # the loudness target is given up past this much limiting (6 dB in presets made before
    # the setting existed, so they render as they did)
    max_limiting_db: float = 6.0
    # overshoots up to this many dB are taken by the fast stage (hop by hop, no release,
    # like a clipper); only the rest goes through the look-ahead limiter and its release
    fast_stage_db: float = 0.0
    # when the loudness target is out of reach within max_limiting_db, the fast stage may take
    # up to this many dB instead (what a mastering engineer's clipper is for: only when the
    # limiter alone cannot get there); 0 in presets made before the setting existed
    rescue_fast_stage_db: float = 0.0
    # above rescue_fast_stage_db: a target still out of reach tries the fast stage again in
    # steps of rescue_fast_stage_db up to this many dB (peaky material needs a harder clip
    # stage to get loud), and when none gets there the largest is kept (it comes closest);
    # 0 in presets made before the setting existed (one step, as they rendered)
    rescue_fast_stage_max_db: float = 0.0
    # > 0: programme-dependent release — reduction sustained over this window releases with
    # release_ms, an isolated peak's 10x faster (0 in presets made before the setting existed)
    program_release_window_ms: float = 0.0


class AnalysisSummary(BaseModel):
    """Headline measurements of a signal (for reports and the UI)."""

    model_config = ConfigDict(extra="forbid")
    integrated_lufs: float
    loudness_range_lu: float
    true_peak_dbtp: float  # the sample peak (a lower bound) when true_peak_measured is False
    sample_peak_dbfs: float
    plr_db: float
    crest_db: float
    width_db: float
    correlation: float
    length_s: float
    sample_rate: int
    channels: int
    true_peak_measured: bool = True


class Preset(BaseModel):
    """A versioned, editable match plan."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = PRESET_SCHEMA_VERSION
    kind: Literal["audio-style-preset"] = "audio-style-preset"
    name: str = ""
    created_by: str = ""
    options: MatchOptions = Field(default_factory=lambda: MatchOptions())
    eq: EqSettings
    width: WidthSettings = Field(default_factory=lambda: WidthSettings())
    dynamics: DynamicsSettings = Field(default_factory=lambda: DynamicsSettings())
    loudness: LoudnessSettings
    limiter: LimiterSettings = Field(default_factory=lambda: LimiterSettings())
    reference: AnalysisSummary | None = None
    references: list[str] = Field(default_factory=list)
    suitability: ReferenceSuitability | None = None
