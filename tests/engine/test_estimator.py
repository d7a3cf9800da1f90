"""Learned style estimator: features, the shipped ONNX model, and its use in the matcher."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.analysis import analyze_array
from engine.estimator import estimate, model_card, model_path, predict_raw, preload
from engine.estimator.features import (
    BAND_CENTRES_HZ,
    N_BANDS,
    N_FEATURES,
    N_OUTPUTS,
    band_levels,
    curve_on_grid,
    pair_features,
    pair_similarity,
)
from engine.matching import build_preset, side_info
from engine.pipeline import render_array
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.options import MatchOptions
from tests.engine.conftest import SR, biquad, pinkish


def test_band_levels_of_a_flat_spectrum_are_flat() -> None:
    f = np.geomspace(20, 20000, 480)
    assert np.allclose(band_levels(f, np.full(len(f), -7.0)), -7.0)
    # a curve given per band comes back per band
    vals = np.linspace(-3, 3, N_BANDS)
    assert np.allclose(curve_on_grid(vals, BAND_CENTRES_HZ), vals)


def test_pair_features_shape_and_self_similarity() -> None:
    a = side_info(analyze_array(pinkish(SR * 6, seed=1), SR))
    b = side_info(analyze_array(pinkish(SR * 6, seed=2), SR))
    assert pair_features(a, b).shape == (N_FEATURES,)
    assert np.allclose(pair_similarity(a, a), 1.0)
    assert np.all(np.abs(pair_similarity(a, b)) < 0.5)  # two different noises


def test_shipped_model_and_card() -> None:
    assert model_path().is_file()
    assert model_path().stat().st_size < 20 * 1024 * 1024
    card = model_card()
    assert card["inputs"] == N_FEATURES and card["outputs"] == N_OUTPUTS
    # the model beats copying the reference on held-out music
    v = card["validation"]
    assert v["curve_rms_db_median"] < v["copy_reference_curve_rms_db_median"]


def test_inference_is_deterministic_and_batched() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 5, (3, N_FEATURES)).astype(np.float32)
    y1, y2 = predict_raw(x), predict_raw(x[:1])
    assert y1.shape == (3, N_OUTPUTS)
    assert np.allclose(y1[:1], y2, atol=1e-5)


def test_same_content_reference_transfers_its_eq() -> None:
    # reference = the target itself through a known EQ: the estimator sees one song and
    # must hand the EQ over (low shelf +6 dB at 150 Hz, cut -4 dB around 3 kHz)
    x = pinkish(SR * 12, seed=7)
    ref = biquad(biquad(x, "low_shelf", 150.0, 6.0, 0.707), "peak", 3000.0, -4.0, 1.0)
    est = estimate(side_info(analyze_array(x, SR)), [side_info(analyze_array(ref, SR))])
    c = est.mid_band_db - np.interp(1000.0, BAND_CENTRES_HZ, est.mid_band_db)

    def at(hz: float) -> float:
        return float(np.interp(np.log(hz), np.log(BAND_CENTRES_HZ), c))

    assert at(50.0) > 3.0
    assert at(3000.0) < -1.5
    assert abs(at(10000.0)) < 3.0


def test_learned_plan_renders(tmp_path: Path) -> None:
    x = pinkish(SR * 8, seed=11) * 0.3
    ref = biquad(pinkish(SR * 8, seed=12), "high_shelf", 4000.0, 5.0, 0.707)
    p = build_preset(
        analyze_array(x, SR), [analyze_array(ref, SR)], MatchOptions(estimator="learned")
    )
    assert p.options.estimator == "learned"
    out = render_array(p, x, SR)
    assert out.audio.shape == x.shape
    assert np.isfinite(out.audio).all()
    assert abs(out.stats.output_lufs - p.loudness.target_lufs) < 0.2


def test_missing_model_is_a_coded_error(tmp_path: Path) -> None:
    preload(tmp_path / "none.onnx")  # a preload leaves the error to the prediction
    with pytest.raises(AudioStyleError) as e:
        predict_raw(np.zeros((1, N_FEATURES), np.float32), tmp_path / "none.onnx")
    assert e.value.code is ErrorCode.MODEL_UNAVAILABLE


def test_preloaded_model_predicts_as_a_fresh_one() -> None:
    x = np.random.default_rng(3).normal(size=(2, N_FEATURES)).astype(np.float32)
    before = predict_raw(x)
    preload()
    np.testing.assert_array_equal(predict_raw(x), before)


def test_learned_estimator_decides_only_its_aspects() -> None:
    from engine import matching

    x = pinkish(SR * 8, seed=21)
    ref = biquad(pinkish(SR * 8, seed=22), "low_shelf", 120.0, 4.0, 0.707)
    ta, ra = analyze_array(x, SR), analyze_array(ref, SR)
    rules = build_preset(ta, [ra], MatchOptions(estimator="rules"))
    learned = build_preset(ta, [ra], MatchOptions(estimator="learned"))
    for aspect, same in (
        ("width", rules.width.side_gain_db == learned.width.side_gain_db),
        ("dynamics", rules.dynamics == learned.dynamics),
        ("eq", rules.eq.mid.curve.gain_db == learned.eq.mid.curve.gain_db),
    ):
        assert same is (aspect not in matching.LEARNED_ASPECTS), aspect


def test_blend_is_the_default_and_mixes_the_two_eq_curves() -> None:
    from engine import matching

    assert MatchOptions().estimator == "blend"
    x = pinkish(SR * 8, seed=31)
    ref = biquad(pinkish(SR * 8, seed=32), "high_shelf", 3000.0, 6.0, 0.707)
    ta, ra = analyze_array(x, SR), analyze_array(ref, SR)
    plans = {e: build_preset(ta, [ra], MatchOptions(estimator=e)) for e in matching.LEARNED_WEIGHT}
    curve = {e: np.array(p.eq.mid.curve.gain_db) for e, p in plans.items()}
    f = np.array(plans["rules"].eq.mid.curve.freqs_hz)
    w = matching.learned_weight("blend", plans["rules"].eq.reference_trust, f)
    assert plans["rules"].eq.reference_trust < 0.5  # another "song": the prior is used
    low, top = f <= matching.LEARNED_HIGH_HZ, f >= matching.LEARNED_HIGH_HZ * 2 ** (1 / 3)
    assert np.all((w[low] > 0.0) & (w[low] < 1.0)) and np.all(w[top] == 0.0)
    mixed = w * curve["learned"] + (1 - w) * curve["rules"]
    np.testing.assert_allclose(curve["blend"][low], mixed[low], atol=1e-9)
    np.testing.assert_array_equal(curve["blend"][top], curve["rules"][top])  # the rules' alone
    assert np.max(np.abs(curve["learned"] - curve["rules"])[low]) > 0.5  # a real mix
    # the blend keeps the rules' trust-dependent smoothing, width and dynamics
    assert plans["blend"].eq.smoothing_octaves == plans["rules"].eq.smoothing_octaves
    assert plans["blend"].width == plans["rules"].width
    assert plans["blend"].dynamics == plans["rules"].dynamics


def test_blend_copies_a_reference_of_the_same_material_as_the_rules_do() -> None:
    x = pinkish(SR * 8, seed=33)
    ref = biquad(x, "peak", 800.0, 5.0, 1.0) * 1.5  # the same material under an EQ
    ta, ra = analyze_array(x, SR), analyze_array(ref, SR)
    rules = build_preset(ta, [ra], MatchOptions(estimator="rules"))
    blend = build_preset(ta, [ra], MatchOptions(estimator="blend"))
    assert rules.eq.reference_trust == 1.0
    assert blend.eq.mid.curve == rules.eq.mid.curve
