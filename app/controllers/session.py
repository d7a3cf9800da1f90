"""The state of a desktop session, without Qt: what the main controller shows and edits.

The reference and target lists (with range-mode weights and every checked file's length);
the *current* target and reference (the pair shown and played); the files decoded for
playback with their analyses at the target's sample rate (roles ``target``, ``reference``
and ``result``); the references' analyses by ``(path, rate)``; the preset (match plan,
editable); what the full render solved (its gain and EQ'd loudness); the loop region and
the preview's bookkeeping. :class:`~app.controllers.main_controller.MainController` owns one
and announces its changes with signals; nothing here emits, plays or calls the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

from app.models import Overview
from engine.schema.errors import AudioStyleError
from engine.schema.options import MatchOptions
from engine.schema.preset import Preset

if TYPE_CHECKING:
    from engine.facade import Analysis

F32 = NDArray[np.float32]
DEFAULT_LOOP_S = 10.0
ROLES_SHOWN = ("target", "reference")  # the pair of files the session keeps loaded


class GainStats(Protocol):
    """What the loop preview needs of the full render (``RenderStats`` has more)."""

    @property
    def gain_db(self) -> float: ...

    @property
    def eq_lufs(self) -> float: ...

    @property
    def fast_stage_db(self) -> float | None: ...


@dataclass
class ExternalStats:
    """:class:`GainStats` of a render done elsewhere (the cloud)."""

    gain_db: float
    eq_lufs: float
    fast_stage_db: float | None = None  # None: not reported, the preview plans its own


@dataclass
class ExternalResult:
    """A match rendered elsewhere (the cloud): the audio file and the plan that made it."""

    target: str
    references: list[str]
    audio_path: str
    preset: Preset
    gain_db: float  # the loudness gain the render applied (for the loop preview)
    fast_stage_db: float | None = None  # ...and its limiter's fast stage, when reported


@dataclass
class Loaded:
    """A file decoded for playback and analysed, at the session's sample rate."""

    path: str
    rate: int
    channels: int  # of the file (playback copies are always stereo)
    analysis: Analysis
    audio: F32
    overview: Overview


@dataclass
class MatchOutcome:
    """A finished match (local, or a result rendered elsewhere and opened here)."""

    preset: Preset
    stats: GainStats
    ref_analyses: list[Analysis]
    result: Loaded
    render_path: str
    output_lufs: float | None = None  # the local render's measured loudness


Probed = list[tuple[str, float | AudioStyleError]]  # path -> length (s) or why not


def loudest_window(short_term_lufs: NDArray[np.float64], length_s: float, window_s: float) -> float:
    """Start (s) of the ``window_s`` region centred on the loudest short-term moment."""
    if length_s <= window_s or len(short_term_lufs) == 0:
        return 0.0
    st = np.where(np.isfinite(short_term_lufs), short_term_lufs, -200.0)
    centre = (int(np.argmax(st)) + 1) * 0.1 - 1.5  # 3 s windows every 100 ms
    return float(min(max(0.0, centre - window_s / 2), length_s - window_s))


class Session:
    """See the module docstring. Plain attributes; the methods keep them consistent."""

    def __init__(self, options: MatchOptions) -> None:
        self.references: list[str] = []
        self.reference_weights: dict[str, float] = {}  # range mode (engine.ranges); default 1
        self.targets: list[str] = []
        self.durations_s: dict[str, float] = {}  # length of every checked file
        self.current_target: str | None = None
        self.current_reference: str | None = None
        self.options = options
        self.loaded: dict[str, Loaded] = {}  # role -> loaded (target, reference, result)
        self.ref_analyses: dict[tuple[str, int], Analysis] = {}
        self.preset: Preset | None = None
        self.render_stats: GainStats | None = None
        self.full_preset: Preset | None = None  # the plan the full render used
        self.preview_baseline: dict[tuple[int, int], float] = {}
        self.result_stale = False  # the preset was edited after the full render
        self.loop_s = (0.0, 0.0)
        self.options_dirty = False  # options changed since the plan was built

    # -- read-only views ---------------------------------------------------------------------

    def total_target_length_s(self) -> float:
        """Summed length of the targets (those whose length is known)."""
        return float(sum(self.durations_s.get(t, 0.0) for t in self.targets))

    def _shown(self) -> Loaded | None:
        return self.loaded.get("target") or self.loaded.get("reference")

    @property
    def sample_rate(self) -> int:
        t = self._shown()
        return t.rate if t else 0

    def length_s(self) -> float:
        t = self._shown()
        return len(t.audio) / t.rate if t else 0.0

    def analysis(self, role: str) -> Analysis | None:
        loaded = self.loaded.get(role)
        return loaded.analysis if loaded else None

    def overview(self, role: str) -> Overview | None:
        loaded = self.loaded.get(role)
        return loaded.overview if loaded else None

    def audio(self, role: str) -> F32 | None:
        loaded = self.loaded.get(role)
        return loaded.audio if loaded else None

    def can_match(self) -> bool:
        return self.current_target is not None and bool(self.references)

    def has_result(self) -> bool:
        return self.preset is not None and "result" in self.loaded

    @property
    def result_path(self) -> str | None:
        result = self.loaded.get("result")
        return None if result is None else result.path

    def analyses_at(self, rate: int) -> list[Analysis | None]:
        """The references' analyses at ``rate`` in list order (None: not analysed yet)."""
        return [self.ref_analyses.get((r, rate)) for r in self.references]

    # -- files -------------------------------------------------------------------------------

    def files(self, role: str) -> list[str]:
        return self.references if role == "reference" else self.targets

    def add_checked(self, role: str, checked: Probed) -> tuple[list[str], list[str]]:
        """Add the files that passed the check; returns (good paths, error messages)."""
        lst = self.files(role)
        good: list[str] = []
        errors: list[str] = []
        for p, length in checked:
            if isinstance(length, AudioStyleError):
                errors.append(length.message())
                continue
            self.durations_s[p] = float(length)
            if p not in lst:
                lst.append(p)
            good.append(p)
        return good, errors

    def remove_file(self, role: str, path: str) -> bool:
        lst = self.files(role)
        if path not in lst:
            return False
        lst.remove(path)
        if role == "reference":
            self.reference_weights.pop(path, None)
        return True

    def remove_path(self, bad: str) -> None:
        """Drop ``bad`` from both lists (a file that failed to load)."""
        for lst in (self.targets, self.references):
            for p in list(lst):
                if bad and Path(p) == Path(bad):
                    lst.remove(p)

    def set_weight(self, path: str, weight: float) -> bool:
        if path not in self.references:
            return False
        if weight >= 1.0:
            self.reference_weights.pop(path, None)
        else:
            self.reference_weights[path] = float(weight)
        return True

    def weights(self) -> list[float] | None:
        """``options.reference_weights`` for the current references (None: all 1)."""
        weights = [self.reference_weights.get(r, 1.0) for r in self.references]
        return weights if any(w != 1.0 for w in weights) else None

    def set_current(self, role: str, path: str) -> None:
        if role == "target" and path in self.targets:
            self.current_target = path
        elif role == "reference" and path in self.references:
            self.current_reference = path

    def plan_loads(self) -> tuple[list[str], list[str]]:
        """Pick the current pair (the first file when the current one left its list); returns
        the roles to drop (nothing current any more) and the roles to (re)load."""
        if self.current_target not in self.targets:
            self.current_target = self.targets[0] if self.targets else None
        if self.current_reference not in self.references:
            self.current_reference = self.references[0] if self.references else None
        want = {"target": self.current_target, "reference": self.current_reference}
        have = {r: (self.loaded[r].path if r in self.loaded else None) for r in want}
        target_rate = self.loaded["target"].rate if "target" in self.loaded else None
        drop = [r for r in ROLES_SHOWN if want[r] is None and r in self.loaded]
        needs = [r for r in want if want[r] is not None and want[r] != have[r]]
        # the reference is played and analysed at the target's rate
        if (
            "reference" in self.loaded
            and want["reference"] is not None
            and "target" not in needs
            and target_rate is not None
            and self.loaded["reference"].rate != target_rate
        ):
            needs.append("reference")
        if "target" in needs and want["reference"] is not None and "reference" not in needs:
            needs.append("reference")  # a new target may have another rate
        return drop, needs

    def clear_result(self) -> None:
        self.loaded.pop("result", None)
        self.preset = None
        self.render_stats = None
        self.result_stale = False

    def take_loaded(self, loaded: dict[str, Loaded]) -> None:
        """Keep freshly loaded files; a new target sets the loop region (the controller has
        cleared the result first)."""
        if "target" in loaded:
            t = loaded["target"]
            length = len(t.audio) / t.rate
            win = min(DEFAULT_LOOP_S, length)
            start = loudest_window(t.analysis.short_term_lufs, length, win)
            self.loop_s = (start, start + win)
        self.loaded.update(loaded)
        if "reference" in loaded:
            r = loaded["reference"]
            self.ref_analyses[(r.path, r.rate)] = r.analysis
        if "target" not in self.loaded and "reference" in loaded:
            r = loaded["reference"]
            win = min(DEFAULT_LOOP_S, len(r.audio) / r.rate)
            self.loop_s = (0.0, win)

    def take_match(self, m: MatchOutcome, refs: list[str]) -> Loaded | None:
        """Keep a finished match as the result; returns the result it replaced, if any."""
        for r, a in zip(refs, m.ref_analyses, strict=True):
            self.ref_analyses[(r, m.result.rate)] = a
        old = self.loaded.get("result")
        self.loaded["result"] = m.result
        self.preset = m.preset
        self.render_stats = m.stats
        self.full_preset = m.preset
        self.preview_baseline = {}
        self.result_stale = False
        self.options_dirty = False
        return old

    def open_external(self, result: ExternalResult) -> None:
        """Make ``result``'s target current (added when missing) and add its references."""
        for r in result.references:
            if r not in self.references and Path(r).is_file():
                self.references.append(r)
        if result.target not in self.targets:
            self.targets.append(result.target)
        self.current_target = result.target

    def clear(self) -> None:
        """Let go of the decoded audio and the analyses (shutdown)."""
        self.loaded.clear()
        self.ref_analyses.clear()
