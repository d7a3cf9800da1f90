"""The gain computer between the render's two passes, at hop rate (about 0.7 ms).

From pass-1 statistics alone (per-hop K-weighted energy and true peak of the EQ'd signal,
:class:`engine.render.BlockStats`) :func:`plan_gains` computes the dynamics gain, the loudness
gain and the limiter gain, the loudness gain solved so the *limited* output meets the target;
:func:`final_check` judges a finished pass 2 (its metered loudness and per-hop true peak) and
corrects the plan when it missed. The render (:func:`engine.render.render`) and the worker's
chunked jobs (:mod:`engine.facade`) both use these, so their gains are the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from engine.analysis.loudness import LOUDNESS_OFFSET_DB, integrated_loudness
from engine.dsp.dynamics import (
    compressor_gain_db,
    level_envelope_db,
    limiter_gain_db,
    maximum_filter1d,
)
from engine.schema.preset import Preset

F64 = NDArray[np.float64]
LUFS_TOLERANCE = 0.05
# True-peak meters differ (interpolation filters): the limiter aims this far below the ceiling
TP_SAFETY_DB = 0.25
# ...and the output's true peak (metered at 8x on the gained signal, where the interpolated
# peak has converged) must stay this far below it: a 4x polyphase resampler with a short filter
# (scipy's resample_poly, the benchmark's meter) reads up to ~0.15 dB above the converged peak
# on heavily limited, bright programme (measured on generated drums, tests/engine/test_render)
TP_CHECK_MARGIN_DB = 0.2
# a hop of the output above the ceiling gets a gain dip this much deeper than its excess,
# over this many hops around it (the interpolator's span: 48 taps at 4x)
TP_FIX_EXTRA_DB = 0.02
TP_FIX_HOPS = 5
# The limiter may cost at most this much loudness unless the preset says otherwise
# (``LimiterSettings.max_limiting_db``, the user's ``--max-limiting-db``): past it a loudness
# target is given up (the output stays quieter) rather than crushing the programme. Measured on
# the benchmark: unbounded, the solver found gains of +150 dB with 143 dB of limiting.
MAX_LIMITER_PUSH_DB = 6.0
# ...but the final loudness check still tops up a near miss of at most this much past it
CAPPED_TOP_UP_LU = 1.0


def hop_frames(sample_rate: int) -> int:
    """Frames per gain-computer hop (~0.7 ms)."""
    return max(8, int(round(32 * sample_rate / 48000)))


def _blocks_100ms(kw: F64, hop: int, sample_rate: int) -> F64:
    """Re-bin per-hop energies into 100 ms hops (exact boundaries, linear in the cumsum)."""
    csum = np.concatenate([[0.0], np.cumsum(kw * hop)])
    total = len(kw) * hop
    edges = np.arange(0, total + 1, sample_rate * 0.1)
    pos = edges / hop
    i = np.clip(np.floor(pos).astype(int), 0, len(kw) - 1)
    val = csum[i] + (pos - i) * (csum[np.minimum(i + 1, len(kw))] - csum[i])
    return np.asarray(np.diff(val) / (sample_rate * 0.1), dtype=np.float64)


@dataclass
class GainPlan:
    """Hop-rate gains computed from pass-1 statistics."""

    hop: int
    gain_db: float
    dyn_db: F64
    lim_db: F64
    eq_lufs: float
    predicted_lufs: float = float("nan")
    extra: dict[str, float] = field(default_factory=dict)
    # extra gain reduction (dB, <= 0) where the rendered output's true peak came out above the
    # ceiling (the final check, :func:`final_check`): kept across re-solved limiter gains
    tp_fix_db: F64 | None = None
    # the limiter's fast stage this plan was solved with (the preset's, or its rescue value
    # when the target was out of reach without it)
    fast_stage_db: float = 0.0

    def arrays(self) -> dict[str, F64]:
        """The plan as named float arrays (for ``numpy.savez``; :meth:`from_arrays`)."""
        out = {
            "hop": np.array([float(self.hop)]),
            "scalars": np.array([self.gain_db, self.eq_lufs, self.predicted_lufs]),
            "dyn_db": self.dyn_db,
            "lim_db": self.lim_db,
            "capped": np.array([self.extra.get("loudness_capped", 0.0)]),
            "fast_stage_db": np.array([self.fast_stage_db]),
        }
        if self.tp_fix_db is not None:
            out["tp_fix_db"] = self.tp_fix_db
        return out

    @classmethod
    def from_arrays(cls, a: Mapping[str, NDArray[np.floating]]) -> GainPlan:
        """The plan that :meth:`arrays` wrote."""
        gain_db, eq_lufs, predicted = (float(v) for v in a["scalars"])
        capped = float(a["capped"][0])
        return cls(
            int(a["hop"][0]),
            gain_db,
            np.asarray(a["dyn_db"], dtype=np.float64),
            np.asarray(a["lim_db"], dtype=np.float64),
            eq_lufs,
            predicted,
            {"loudness_capped": capped} if capped else {},
            np.asarray(a["tp_fix_db"], dtype=np.float64) if "tp_fix_db" in a else None,
            float(a["fast_stage_db"][0]) if "fast_stage_db" in a else 0.0,
        )

    def total_db(self) -> F64:
        total = self.gain_db + self.dyn_db + self.lim_db
        if self.tp_fix_db is not None:
            total = total + self.tp_fix_db
        return np.asarray(total, dtype=np.float64)


def _lufs_of(kw: F64, total_db: F64, hop: int, sample_rate: int) -> float:
    e = _blocks_100ms(kw * 10.0 ** (total_db / 10.0), hop, sample_rate)
    return float(integrated_loudness(e))


def plan_gains(
    preset: Preset,
    kw: F64,
    peak: F64,
    sample_rate: int,
    gain_db: float | None = None,
    tp_fix_db: F64 | None = None,
    fast_stage_db: float | None = None,
    aim_lufs: float | None = None,
) -> GainPlan:
    """Solve the dynamics, loudness and limiter gains from per-hop statistics; ``tp_fix_db``
    (the final check's true-peak dips) is part of the limiting the loudness is solved with.
    ``aim_lufs`` (default the preset's target) is the loudness the statistics should predict:
    the final check aims past the target by what a rendered pass fell short of it.

    The limiter's fast stage is ``fast_stage_db`` when given (a plan being corrected keeps
    its own), else the preset's; when the loudness target is out of reach within
    ``max_limiting_db`` with it, the gain is solved again with the rescue stages
    (:func:`rescue_fast_stages` of the preset's ``rescue_fast_stage_db`` and
    ``rescue_fast_stage_max_db``) and the first that reaches the target is kept; when none
    does, the largest when the preset has a ``rescue_fast_stage_max_db`` (it comes closest),
    else none."""
    hop = hop_frames(sample_rate)
    hops_per_ms = sample_rate / hop / 1000.0
    eq_lufs = float(integrated_loudness(_blocks_100ms(kw, hop, sample_rate)))
    dyn = np.zeros_like(kw)
    d = preset.dynamics
    if d.enabled and abs(d.ratio - 1.0) > 1e-6 and np.isfinite(eq_lufs):
        level = LOUDNESS_OFFSET_DB + level_envelope_db(kw, int(round(d.detector_ms * hops_per_ms)))
        dyn = compressor_gain_db(
            level,
            eq_lufs + d.threshold_lu,
            d.ratio,
            d.knee_db,
            int(round(d.attack_ms * hops_per_ms)),
            d.release_ms * hops_per_ms,
        )
    # samples of hop k are scaled by gains interpolated from hops k-1..k+1, so each hop's gain
    # must respect its neighbours' peaks too
    peak_db = maximum_filter1d(20.0 * np.log10(np.maximum(peak, 1e-12)), 3)
    lim_cfg = preset.limiter
    ceiling = lim_cfg.ceiling_dbtp - TP_SAFETY_DB
    fast = lim_cfg.fast_stage_db if fast_stage_db is None else fast_stage_db

    def limiter(g: float, fast: float) -> F64:
        if not lim_cfg.enabled:
            return np.zeros_like(kw)
        lim = limiter_gain_db(
            peak_db + g + dyn,
            ceiling,
            max(1, int(round(lim_cfg.lookahead_ms * hops_per_ms))),
            lim_cfg.release_ms * hops_per_ms,
            fast,
            int(round(lim_cfg.program_release_window_ms * hops_per_ms)),
        )
        return lim if tp_fix_db is None else lim + tp_fix_db

    extra: dict[str, float] = {}
    if gain_db is None:
        gain_db = 0.0
        if preset.loudness.enabled and np.isfinite(eq_lufs):
            target = preset.loudness.target_lufs
            dyn_lufs = _lufs_of(kw, dyn, hop, sample_rate)

            def solve(fast: float) -> tuple[float, bool]:
                return _solve_gain(
                    kw,
                    dyn,
                    lambda g: limiter(g, fast),
                    target if aim_lufs is None else aim_lufs,
                    target - dyn_lufs,
                    hop,
                    sample_rate,
                    lim_cfg.max_limiting_db,
                )

            gain_db, reachable = solve(fast)
            if not reachable and lim_cfg.enabled and fast_stage_db is None:
                stages = rescue_fast_stages(
                    lim_cfg.rescue_fast_stage_db, lim_cfg.rescue_fast_stage_max_db, fast
                )
                for rescue in stages:
                    rescued, reachable = solve(rescue)
                    if reachable:
                        break
                if reachable or (stages and lim_cfg.rescue_fast_stage_max_db > 0):
                    gain_db, fast = rescued, rescue  # the first that got there, or the closest
            if not reachable:
                extra["loudness_capped"] = 1.0
    lim = limiter(gain_db, fast)
    if tp_fix_db is not None:  # kept apart in the plan
        lim = lim - tp_fix_db
    plan = GainPlan(hop, gain_db, dyn, lim, eq_lufs, extra=extra, tp_fix_db=tp_fix_db)
    plan.fast_stage_db = fast
    plan.predicted_lufs = _lufs_of(kw, plan.total_db(), hop, sample_rate)
    return plan


def rescue_fast_stages(step_db: float, max_db: float, fast_db: float) -> list[float]:
    """The fast stages a loudness target out of the limiter's reach is tried with, in order:
    ``step_db``, then further steps of it up to ``max_db`` (only those above the plan's own
    ``fast_db``)."""
    if step_db <= 0.0:
        return []
    n = max(1, int(np.floor(max_db / step_db + 1e-9)))
    return [k * step_db for k in range(1, n + 1) if k * step_db > fast_db]


def _solve_gain(
    kw: F64,
    dyn: F64,
    limiter: Callable[[float], F64],
    target: float,
    g0: float,
    hop: int,
    sample_rate: int,
    max_push_db: float = MAX_LIMITER_PUSH_DB,
) -> tuple[float, bool]:
    """The smallest gain that puts the limited output at ``target`` LUFS, searched upwards
    from ``g0`` (the gain without limiting) and at most ``max_push_db`` above it.

    Loudness grows monotonically but ever more slowly with gain once the limiter works, so
    the root is bracketed from below and refined by regula falsi (Illinois). Returns the gain
    and whether the target was reachable."""

    def err(g: float) -> float:
        lim = limiter(g)
        return _lufs_of(kw, g + dyn + lim, hop, sample_rate) - target

    lo, e_lo = g0, err(g0)
    if not np.isfinite(e_lo) or abs(e_lo) < 0.01:
        return lo, True
    if e_lo > 0:  # already too loud (limiting only lowers loudness): step down
        hi, e_hi = lo, e_lo
        for _ in range(8):
            lo -= max(e_lo, 1.0)
            e_lo = err(lo)
            if not e_lo > 0:
                break
        if not e_lo < 0:
            return lo, True
    else:
        cap = g0 + max_push_db
        step = max(-e_lo, 0.25)
        hi = min(lo + step, cap)
        e_hi = err(hi)
        while e_hi < 0:
            if hi >= cap - 1e-9:
                return cap, False
            lo, e_lo = hi, e_hi
            step *= 2.0
            hi = min(lo + step, cap)
            e_hi = err(hi)
    g = hi
    for _ in range(30):
        g = hi - e_hi * (hi - lo) / (e_hi - e_lo) if e_hi != e_lo else 0.5 * (lo + hi)
        e = err(g)
        if abs(e) < 0.01:
            break
        if e < 0:
            lo, e_lo = g, e
            e_hi *= 0.5
        else:
            hi, e_hi = g, e
            e_lo *= 0.5
    return g, True


def loudness_shortfall_lu(preset: Preset, output_lufs: float) -> float:
    """How far (LU) the output stayed below its loudness target because reaching it needed
    more limiting than ``preset.limiter.max_limiting_db``; 0 when the target was met (within
    half a LU) or loudness matching is off. The CLI, the app and the report say so."""
    target = preset.loudness.target_lufs
    if not preset.loudness.enabled or not np.isfinite(output_lufs):
        return 0.0
    short = float(target - output_lufs)
    return short if short > max(0.5, 10 * LUFS_TOLERANCE) else 0.0


def clip_stage_db(preset: Preset, fast_stage_db: float | None) -> float:
    """The rescue clip stage (dB) a render used to reach its loudness target
    (``fast_stage_db`` from its stats, beyond the preset's own fast stage); 0 when it did not
    need one or it is not known. The CLI, the app and the report say so when > 0."""
    if fast_stage_db is None or fast_stage_db <= preset.limiter.fast_stage_db:
        return 0.0
    return float(fast_stage_db)


def tp_check_dbtp(preset: Preset) -> float:
    """The true peak no hop of the output may exceed (:func:`final_check`): the limiter's
    ceiling less :data:`TP_CHECK_MARGIN_DB`; ``inf`` without the limiter."""
    if not preset.limiter.enabled:
        return float("inf")
    return preset.limiter.ceiling_dbtp - TP_CHECK_MARGIN_DB


def final_check(
    preset: Preset,
    plan: GainPlan,
    out_lufs: float,
    out_peak: F64,
    kw: F64,
    peak: F64,
    sample_rate: int,
    gain_db: float | None = None,
) -> bool:
    """The check after a pass 2: the output's metered loudness and its measured per-hop true
    peak (BS.1770-4 Annex 2, on the gained signal itself). Updates ``plan`` in place (or
    re-solves its limiter) and returns True when the pass must be repeated.

    - loudness off target by more than ``LUFS_TOLERANCE`` (and not given up by the limiting
      budget): the loudness gain is corrected (a louder gain re-solves the limiter);
    - a hop whose true peak came out above ``ceiling - TP_CHECK_MARGIN_DB``: the gain gets a
      local dip of that excess over the surrounding hops (the pass-1 bound assumes the gain is
      constant across the interpolator's span; fast limiting breaks that by a few tenths of a
      dB). The loudness barely moves, and the dip is kept if the limiter is re-solved.
    ``gain_db`` given (an excerpt rendered with a full render's gain): only the peak fix."""
    correction = 0.0
    capped = bool(plan.extra.get("loudness_capped"))
    target = preset.loudness.target_lufs
    if (
        gain_db is None
        and preset.loudness.enabled
        and np.isfinite(out_lufs)
        and abs(out_lufs - target) > LUFS_TOLERANCE
        # a target well past the limiter's budget is not chased upwards
        and not (capped and out_lufs < target - CAPPED_TOP_UP_LU)
    ):
        correction = target - out_lufs
    over = np.zeros(0)
    if preset.limiter.enabled and len(out_peak):
        with np.errstate(divide="ignore"):
            over = 20.0 * np.log10(out_peak) - tp_check_dbtp(preset)
    fix = np.zeros(0)
    if len(over) and float(over.max()) > 0.0:
        n = len(plan.lim_db)
        spread = maximum_filter1d(np.maximum(over[:n], 0.0) + TP_FIX_EXTRA_DB, TP_FIX_HOPS)
        fix = np.where(spread > TP_FIX_EXTRA_DB, -spread, 0.0)
        fix = np.pad(fix, (0, n - len(fix)))
    if correction == 0.0 and not len(fix):
        return False
    if len(fix):
        plan.tp_fix_db = fix if plan.tp_fix_db is None else plan.tp_fix_db + fix
        if gain_db is None:  # the loudness gain re-solved with the dips in place
            new = plan_gains(preset, kw, peak, sample_rate, tp_fix_db=plan.tp_fix_db)
            plan.gain_db, plan.lim_db = new.gain_db, new.lim_db
            plan.predicted_lufs, plan.extra = new.predicted_lufs, new.extra
            plan.fast_stage_db = new.fast_stage_db
    elif correction > 0:  # louder: the limiter must be re-solved (the peak fixes are kept)
        # the gain solved for a prediction past the target by the miss: under heavy limiting
        # a dB of gain adds far less than a LU, so the miss is not simply added as gain; a
        # target given up tops up a near miss with gain past the limiting budget
        new = plan_gains(
            preset,
            kw,
            peak,
            sample_rate,
            plan.gain_db + correction if capped else None,
            plan.tp_fix_db,
            plan.fast_stage_db,
            aim_lufs=None if capped else plan.predicted_lufs + correction,
        )
        plan.gain_db, plan.lim_db = new.gain_db, new.lim_db
        plan.predicted_lufs = new.predicted_lufs
        if not capped:
            plan.extra = new.extra
    else:  # quieter: peaks only fall, the limiter gain stays valid
        plan.gain_db += correction
    return True
