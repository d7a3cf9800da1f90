"""Several references as a range: a target inside their spread is left alone, one outside it
is moved to the nearest edge; weights narrow an edge."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis import Analysis, analyze_array
from engine.cli import build_parser, options_from_args, parse_reference
from engine.matching import build_preset, curve_offset, match_curve, profile_of
from engine.ranges import range_correction, spectrum_range, weighted_edges
from engine.schema.errors import AudioStyleError
from engine.schema.options import MatchOptions
from tests.engine.conftest import SR

# wide limits: the soft boost/cut limit would otherwise bend the edge being checked
OPTS = MatchOptions(max_boost_db=24, max_cut_db=24)
SEL = (100.0, 10000.0)


def tilted(tilt_db_per_oct: float, seed: int) -> np.ndarray:
    """Noise whose spectrum falls ``tilt`` dB per octave (a known spectrum)."""
    n = SR * 6
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal((n, 2)), axis=0)
    f = np.fft.rfftfreq(n, 1 / SR)
    f[0] = 1.0
    spec *= ((f / 1000.0) ** (tilt_db_per_oct / 20.0 / np.log10(2.0)))[:, None]
    return 0.1 * np.fft.irfft(spec, n, axis=0)


@pytest.fixture(scope="module")
def refs() -> list[Analysis]:
    return [analyze_array(tilted(-1.0, 1), SR), analyze_array(tilted(-3.0, 2), SR)]


def _curve(preset_curve: list[float], freqs: list[float]) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(freqs)
    return f, np.asarray(preset_curve)


def test_target_inside_the_spread_is_left_unchanged(refs: list[Analysis]) -> None:
    t = analyze_array(tilted(-2.0, 3), SR)
    p = build_preset(t, refs, OPTS)
    f, g = _curve(p.eq.mid.curve.gain_db, p.eq.mid.curve.freqs_hz)
    assert np.max(np.abs(g)) <= 0.2
    assert 0.0 <= p.eq.reference_trust < 1.0  # shown: the references' mean trust (other noise)
    assert p.eq.side is not None and np.max(np.abs(p.eq.side.curve.gain_db)) <= 0.2
    # averaging (the old way) would have moved it
    avg = build_preset(t, refs, OPTS.model_copy(update={"reference_mode": "average"}))
    sel = (f > SEL[0]) & (f < SEL[1])
    assert np.max(np.abs(np.asarray(avg.eq.mid.curve.gain_db)[sel])) > 0.5


@pytest.mark.parametrize(("tilt", "nearest"), [(-4.0, 1), (0.0, 0)])
def test_target_outside_is_moved_to_the_nearest_edge(
    refs: list[Analysis], tilt: float, nearest: int
) -> None:
    t = analyze_array(tilted(tilt, 4), SR)
    p = build_preset(t, refs, OPTS)
    f, g = _curve(p.eq.mid.curve.gain_db, p.eq.mid.curve.freqs_hz)
    # the edge: the level-centred curve that moves the target onto the nearer reference
    tp = profile_of(t)
    edge = match_curve(tp.mid_db, profile_of(refs[nearest], f).mid_db, f, 4.0, OPTS)
    edge = edge - curve_offset(edge, tp.mid_db, f)
    sel = (f > SEL[0]) & (f < SEL[1])
    assert np.ptp(edge[sel]) > 3.0  # a real correction
    assert np.max(np.abs(g[sel] - edge[sel])) <= 0.3


def test_range_correction_and_weights() -> None:
    c = np.array([[-2.0, 1.0, 3.0], [2.0, 4.0, 5.0]])  # inside, outside low, outside low
    np.testing.assert_allclose(range_correction(c, np.ones(2)), [0.0, 1.0, 3.0])
    lo, hi = weighted_edges(c, np.array([1.0, 0.5]))
    # weight 0.5 pulls the second reference halfway to the weighted mean
    mean = (c[0] + 0.5 * c[1]) / 1.5
    np.testing.assert_allclose(hi, np.maximum(c[0], mean + 0.5 * (c[1] - mean)))
    np.testing.assert_allclose(lo, np.minimum(c[0], mean + 0.5 * (c[1] - mean)))
    assert lo.shape == (3,)


def test_spectrum_range_spans_the_references(refs: list[Analysis]) -> None:
    f, lo, hi = spectrum_range(refs)
    assert np.all(hi >= lo) and len(f) == len(lo)
    sel = (f > 200) & (f < 5000)
    assert np.mean(hi[sel] - lo[sel]) > 1.0


def test_cli_reference_weights() -> None:
    assert parse_reference("a.wav:0.7") == ("a.wav", 0.7)
    assert parse_reference("a.wav") == ("a.wav", 1.0)
    with pytest.raises(AudioStyleError):
        parse_reference("a.wav:1.5")
    args = build_parser().parse_args(
        ["match", "t.wav", "-r", "a.wav:0.7", "-r", "b.wav", "-o", "o.wav"]
    )
    opts = options_from_args(args)
    assert opts.reference_weights == [0.7, 1.0] and opts.reference_mode == "range"
