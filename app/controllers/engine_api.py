"""What the controllers call of the engine, gathered so it can be swapped in tests.

The app reaches the engine through ``engine.facade`` (and ``engine.presets``) only, as the
worker does (an import-linter contract). Each part is typed by a :class:`~typing.Protocol` listing what the app calls of it (the
engine's own signatures, narrowed to the arguments the app passes); mypy checks the real
modules against them in :func:`default_engine`. The engine types named here are imported for
type checking only: the app starts before the numpy-heavy engine imports.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from engine.facade import AlbumOptions as _AlbumOptions
    from engine.facade import (
        Analysis,
        AudioInfo,
        ImpulseResponses,
        MatchResult,
        RenderOutput,
        RenderResult,
        RenderStats,
    )
    from engine.facade import CancelToken as _CancelToken
    from engine.facade import Progress as _Progress
    from engine.schema.delivery import DeliveryReport
    from engine.schema.options import MatchOptions
    from engine.schema.preset import ParametricBand, Preset

F64 = NDArray[np.float64]
AudioArray = NDArray[np.floating[Any]]
SpectrumRange = tuple[F64, F64, F64]  # freqs_hz, lo_db, hi_db
T = TypeVar("T")
Steps = Generator["_Progress", None, T]  # long work: yields progress, returns its result


class PipelineApi(Protocol):
    """``engine.facade``: analysis, the plan, rendering, delivery checks."""

    @property
    def CancelToken(self) -> type[_CancelToken]: ...  # noqa: N802 - the module's class

    @property
    def Progress(self) -> type[_Progress]: ...  # noqa: N802 - the module's class

    def analyze_file(
        self,
        path: str | Path,
        *,
        sample_rate: int | None = None,
        cancel: _CancelToken | None = None,
        require_signal: bool = True,
        device: str = "auto",
    ) -> Steps[Analysis]: ...

    def analyze_array(self, x: NDArray[np.floating], sample_rate: int) -> Analysis: ...

    def plan_match(
        self,
        target: Analysis,
        references: Sequence[Analysis],
        options: MatchOptions,
        reference_names: Sequence[str | Path],
    ) -> Preset: ...

    def render_array(
        self,
        preset: Preset,
        x: F64,
        sample_rate: int,
        *,
        gain_db: float | None = None,
        fast_stage_db: float | None = None,
        device: str = "auto",
    ) -> RenderOutput: ...

    def render_file(
        self,
        preset: Preset,
        target: str | Path,
        out: str | Path,
        *,
        fmt: str | None = None,
        force: bool = False,
        cancel: _CancelToken | None = None,
        device: str = "auto",
    ) -> Steps[RenderResult]: ...

    def codec_safe_render(
        self,
        preset: Preset,
        target: str | Path,
        out: str | Path,
        rendered: RenderResult,
        *,
        fmt: str | None = None,
        cancel: _CancelToken | None = None,
        device: str = "auto",
    ) -> Steps[tuple[Preset, RenderResult, dict[str, Any]]]: ...

    def match_files(
        self,
        targets: Sequence[str | Path],
        references: Sequence[str | Path],
        outputs: Sequence[str | Path],
        options: MatchOptions | None = None,
        *,
        fmt: str | None = None,
        force: bool = False,
        report_out: str | Path | None = None,
        cancel: _CancelToken | None = None,
        album: _AlbumOptions | None = None,
    ) -> Steps[list[MatchResult]]: ...

    def loudness_shortfall_lu(self, preset: Preset, output_lufs: float) -> float: ...

    def clip_stage_db(self, preset: Preset, fast_stage_db: float | None) -> float: ...

    def delivery_of(self, path: str | Path) -> DeliveryReport: ...


class IoApi(Protocol):
    """``engine.facade`` (from ``engine.io``): probing, block decoding, resampling, atomic text files."""

    def probe(self, path: str | Path) -> AudioInfo: ...

    def iter_blocks(
        self, path: str | Path, block_frames: int, *, info: AudioInfo | None = None
    ) -> Iterator[AudioArray]: ...

    def resample(self, x: AudioArray, from_rate: int, to_rate: int) -> AudioArray: ...

    def atomic_write_text(self, path: str | Path, text: str, *, force: bool = True) -> None: ...


class PresetsApi(Protocol):
    """``engine.presets``: the native JSON and the text exports."""

    def save_preset(self, preset: Preset, path: str | Path, *, force: bool = False) -> None: ...

    def load_preset(self, path: str | Path) -> Preset: ...

    def export_preset(self, preset: Preset, fmt: str) -> str: ...


class EqfitApi(Protocol):
    """``engine.facade`` (from ``engine.eqfit``): the response of one parametric band."""

    def band_response_db(self, band: ParametricBand, freqs_hz: F64, sample_rate: int) -> F64: ...


class ReportApi(Protocol):
    """``engine.facade`` (from ``engine.report``): the before/after report JSON."""

    def build_report(
        self,
        target: Analysis,
        references: Sequence[Analysis],
        output: Analysis,
        preset: Preset,
        stats: RenderStats,
        target_path: str,
        output_path: str,
    ) -> dict[str, Any]: ...

    def save_report(self, report: dict[str, Any], path: str | Path) -> None: ...


class RangesApi(Protocol):
    """``engine.facade`` (from ``engine.ranges``): several references as a range."""

    def spectrum_range(
        self, analyses: Sequence[Analysis], weights: Sequence[float] | None = None
    ) -> SpectrumRange: ...


class AlbumApi(Protocol):
    """``engine.facade`` (from ``engine.album``): album mode of the batch."""

    @property
    def AlbumOptions(self) -> type[_AlbumOptions]: ...  # noqa: N802 - the module's class


class IrApi(Protocol):
    """``engine.facade`` (from ``engine.exports.ir``): impulse responses of the plan's EQ."""

    @property
    def IR_SAMPLE_RATES(self) -> tuple[int, ...]: ...  # noqa: N802 - the module's constant

    def write_impulse_responses(
        self, preset: Preset, path: str | Path, *, sample_rate: int = 48000, force: bool = False
    ) -> tuple[ImpulseResponses, list[Path]]: ...


class FfmpegApi(Protocol):
    """``engine.facade`` (from ``engine.exports.ffmpeg``): the plan as an ffmpeg ``-af`` chain."""

    def export_ffmpeg(self, preset: Preset, input_lufs: float | None = None) -> str: ...


@dataclass
class ExportsApi:
    """``engine.exports``' modules the app writes presets with."""

    ir: IrApi
    ffmpeg: FfmpegApi


@dataclass
class BackendsApi:
    """``engine.facade`` (from ``engine.backends``): what the "Automatic" device computes on (``reason_text`` is not
    in that module's ``__all__``, so its functions are gathered here)."""

    cuda_status: Callable[[], tuple[bool, str, str]]
    reason_text: Callable[[str, str], str]


@dataclass
class EngineApi:
    """The facade (``pipeline``) plus the helpers the app needs around it."""

    pipeline: PipelineApi
    io: IoApi
    presets: PresetsApi
    eqfit: EqfitApi
    report: ReportApi
    ranges: RangesApi | None = None  # several references as a range
    album: AlbumApi | None = None  # album mode of the batch
    exports: ExportsApi | None = None  # impulse responses, the ffmpeg chain
    backends: BackendsApi | None = None  # the device "Automatic" computes on


def default_engine() -> EngineApi:
    """The real engine (imported lazily: the app starts before numpy-heavy imports)."""
    from engine import facade, presets

    return EngineApi(
        pipeline=facade,
        io=facade,
        presets=presets,
        eqfit=facade,
        report=facade,
        ranges=facade,
        album=facade,
        exports=ExportsApi(ir=facade, ffmpeg=facade),
        backends=BackendsApi(facade.cuda_status, facade.reason_text),
    )
