"""The staged render of the facade: one K-weighted meter for analysis and render, chunks of a
long target measured and joined through the same stages as the single pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine import facade as fa
from engine.analysis.loudness import KWeightedEnergy, channel_weights, k_weighting_sos
from engine.dsp.iir import sosfilt
from engine.matching import build_preset
from engine.pipeline import analyze_file, render_file
from engine.render import hop_frames
from engine.schema.options import MatchOptions

SR = 44100


def test_one_meter_partial_hop_is_the_zero_padded_hop() -> None:
    rng = np.random.default_rng(1)
    hop = hop_frames(SR)
    x = rng.standard_normal((10 * hop + 7, 2)) * 0.3
    meter = KWeightedEnergy(SR, 2, hop=hop)
    for i in range(0, len(x), 1000):  # any split gives the same energies
        meter.push(x[i : i + 1000])
    full = meter.energies(partial=True)
    assert len(meter.energies()) == 10 and len(full) == 11
    assert np.array_equal(full[:10], meter.energies())
    assert np.array_equal(meter.energies(partial=True), full)  # the state is left alone
    # known answer: the K-weighted signal padded with zeros to a whole hop
    padded = np.concatenate([x, np.zeros((hop - 7, 2))])
    y = sosfilt(k_weighting_sos(SR), padded, axis=0)
    want = (channel_weights(2) * np.square(y)).sum(axis=1).reshape(-1, hop).mean(axis=1)
    np.testing.assert_allclose(full, want, rtol=1e-12)
    # the analysis' 100 ms meter is the same class
    assert KWeightedEnergy(SR, 2).hop_frames == round(0.1 * SR)


@pytest.fixture(scope="module")
def long_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("stages")
    rng = np.random.default_rng(7)
    n = 10 * SR + 123
    t = np.arange(n) / SR
    env = 0.5 + 0.5 * np.sin(2 * np.pi * t / 3.0) ** 2
    x = (np.sin(2 * np.pi * 220 * t)[:, None] * 0.3 + rng.standard_normal((n, 2)) * 0.1) * env[
        :, None
    ]
    ref = rng.standard_normal((4 * SR, 2)) * 0.3
    target, reference = d / "long.wav", d / "ref.wav"
    sf.write(target, x, SR, subtype="FLOAT")
    sf.write(reference, ref, SR, subtype="PCM_24")
    return target, reference


@pytest.mark.parametrize(
    "options",
    [MatchOptions(target_lufs=-10.0), MatchOptions(target_lufs=-5.0, max_limiting_db=18.0)],
    ids=["default", "loud"],
)
def test_chunks_through_the_stages_equal_the_single_pass(
    tmp_path: Path, long_pair: tuple[Path, Path], options: MatchOptions
) -> None:
    target, reference = long_pair
    preset = build_preset(
        fa.drive(analyze_file(target)),
        [fa.drive(analyze_file(reference))],
        options,
    )
    info = fa.probe(target)
    chunks = fa.plan_chunks(info.frames, SR, 3.0)
    assert len(chunks) == 3
    parts, files = [], []
    for k, (a, b) in enumerate(chunks):
        files.append(tmp_path / f"{k}.f32")
        parts.append(fa.chunk_stats(preset, target, a, b, files[-1]))
    stats = fa.BlockStats.concatenate(parts)
    hop = hop_frames(SR)
    assert len(stats.kw) == -(-info.frames // hop)
    # the whole file's statistics, as the single pass gathers them
    whole: list[np.ndarray] = []
    blocks = (b.astype(np.float64) for b in [sf.read(target, dtype="float32")[0]])
    single, done = fa.drive(fa.eq_pass(preset, blocks, SR, 2, whole.append))
    assert done == info.frames
    # the FIR runs in single precision: chunk and whole agree to float32 rounding
    np.testing.assert_allclose(stats.kw, single.kw, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(stats.peak, single.peak, rtol=1e-5)

    plan = fa.plan_gains(preset, stats.kw, stats.peak, SR)
    plan = fa.GainPlan.from_arrays(plan.arrays())  # as the worker stores it between tasks
    got = fa.join_chunks(
        preset, plan, stats, files, SR, 2, tmp_path / "joined.wav", "wav32f", reference
    )
    want = fa.drive(render_file(preset, target, tmp_path / "single.wav", fmt="wav32f"))
    a, _ = sf.read(tmp_path / "joined.wav")
    b, _ = sf.read(tmp_path / "single.wav")
    assert a.shape == b.shape
    diff = 20 * np.log10(max(float(np.abs(a - b).max()), 1e-12))
    assert diff < -120.0, diff
    assert got.stats.passes == want.stats.passes
    assert got.stats.output_lufs == pytest.approx(want.stats.output_lufs, abs=1e-6)
    assert got.stats.gain_db == pytest.approx(want.stats.gain_db, abs=1e-6)
    # the EQ'd chunks are stored as float32 (-120 dB): the peaks agree to 1e-4 dB
    assert got.stats.output_true_peak_dbtp == pytest.approx(
        want.stats.output_true_peak_dbtp, abs=1e-4
    )
    assert {"stft_distance_db", "mel_distance_db"} <= set(got.distances)


def test_a_plan_keeps_its_clip_stage_between_worker_tasks() -> None:
    plan = fa.GainPlan(32, 3.0, np.zeros(4), np.full(4, -2.0), -20.0, fast_stage_db=4.0)
    stored = plan.arrays()
    assert fa.GainPlan.from_arrays(stored).fast_stage_db == 4.0
    older = {k: v for k, v in stored.items() if k != "fast_stage_db"}  # a plan stored before
    assert fa.GainPlan.from_arrays(older).fast_stage_db == 0.0
