"""Impulse-response and ffmpeg exports are the engine's EQ stage (null tests), and `verify`
prints the same figures."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import fftconvolve

from engine.analysis import analyze_array
from engine.cli import main
from engine.dsp.fir import response_db
from engine.exports.ffmpeg import export_ffmpeg, ffmpeg_chain, parse_filtergraph, run_chain
from engine.exports.ir import impulse_responses, true_stereo_path, write_impulse_responses
from engine.exports.verify import band_levels_db, verify_export
from engine.matching import build_preset
from engine.presets import save_preset
from engine.render import eq_filters, eq_stage
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.options import MatchOptions
from engine.schema.preset import Preset
from tests.engine.conftest import SR, biquad, pinkish
from tests.engine.test_matching import known_eq


def _widened(x: np.ndarray) -> np.ndarray:
    """Side boosted above 2 kHz: a width change the side curve must carry."""
    mid, side = (x[:, 0] + x[:, 1]) / 2, (x[:, 0] - x[:, 1]) / 2
    side = biquad(side, "high_shelf", 2000.0, 4.0, 0.7)
    return np.stack([mid + side, mid - side], axis=1)


@pytest.fixture(scope="module")
def case() -> tuple[Preset, np.ndarray]:
    target = pinkish(SR * 6, seed=11)
    target[:, 1] = 0.6 * target[:, 1] + 0.4 * target[:, 0]  # partly correlated stereo
    reference = _widened(known_eq(target))
    preset = build_preset(analyze_array(target, SR), [analyze_array(reference, SR)], MatchOptions())
    assert preset.eq.side is not None
    assert np.ptp(preset.eq.mid.curve.gain_db) > 4.0  # a real EQ to null
    return preset, target


def _scipy_true_stereo(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """What a true-stereo convolver does with the 4-channel layout LL, LR, RL, RR."""
    left = fftconvolve(x[:, 0], ir[:, 0]) + fftconvolve(x[:, 1], ir[:, 2])
    right = fftconvolve(x[:, 0], ir[:, 1]) + fftconvolve(x[:, 1], ir[:, 3])
    return np.stack([left, right], axis=1)


def _residual_db(ref: np.ndarray, y: np.ndarray) -> float:
    return float(10 * np.log10(np.sum((y - ref) ** 2) / np.sum(ref**2)))


@pytest.mark.parametrize("rate", [44100, 48000])
def test_linear_phase_true_stereo_ir_nulls_the_engine_eq(
    case: tuple[Preset, np.ndarray], rate: int, tmp_path: Path
) -> None:
    preset, target = case
    irs, paths = write_impulse_responses(preset, tmp_path / "eq.wav", sample_rate=rate)
    assert paths == [tmp_path / "eq.wav", true_stereo_path(tmp_path / "eq.wav")]
    ir, sr = sf.read(paths[1], always_2d=True)
    assert sr == rate and ir.shape[1] == 4 and sf.info(str(paths[1])).subtype == "FLOAT"
    with sf.SoundFile(str(paths[1])) as f:  # the latency travels with the file
        assert f"latency {irs.latency} samples" in f.comment
    engine = eq_stage(preset, target, rate)  # the same samples taken as audio at `rate`
    y = _scipy_true_stereo(target, ir)[irs.latency : irs.latency + len(target)]
    assert irs.latency == (len(ir) - 1) // 2
    assert _residual_db(engine, y) <= -60.0


def test_plain_stereo_ir_is_the_mid_fir(case: tuple[Preset, np.ndarray], tmp_path: Path) -> None:
    preset, target = case
    write_impulse_responses(preset, tmp_path / "eq.wav", sample_rate=SR)
    ir, _ = sf.read(tmp_path / "eq.wav", always_2d=True)
    mid = eq_filters(preset, SR, 2)
    assert mid is not None
    assert ir.shape[1] == 2
    for c in range(2):
        assert np.max(np.abs(ir[:, c] - mid[0])) < 1e-6 * np.max(np.abs(mid[0]))
    # on a mono-compatible signal (side = 0) the plain response nulls the engine too
    mono = np.repeat(target[:, :1], 2, axis=1)
    y = np.stack([fftconvolve(mono[:, c], ir[:, c]) for c in range(2)], axis=1)
    d = len(ir) // 2
    assert _residual_db(eq_stage(preset, mono, SR), y[d : d + len(mono)]) <= -60.0


def test_minimum_phase_ir_keeps_the_magnitude(case: tuple[Preset, np.ndarray]) -> None:
    preset, _ = case
    lin = impulse_responses(preset, SR, "linear")
    mp = impulse_responses(preset, SR, "minimum")
    assert mp.latency == 0
    f = np.geomspace(20.0, 20000.0, 400)
    ts = mp.true_stereo()
    mid, side = ts[:, 0] + ts[:, 1], ts[:, 0] - ts[:, 1]  # back from LL/LR to mid/side
    for got, want in ((mid, lin.mid), (side, lin.side)):
        assert np.max(np.abs(response_db(got, f, SR) - response_db(want, f, SR))) <= 0.1
    # zero latency: the energy sits at the start, not around the centre tap
    e = np.cumsum(mp.mid**2) / np.sum(mp.mid**2)
    assert np.searchsorted(e, 0.9) < len(mp.mid) // 8


def test_verify_prints_the_same_figures(
    case: tuple[Preset, np.ndarray], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preset, target = case
    save_preset(preset, tmp_path / "p.json")
    sf.write(tmp_path / "t.wav", target, SR, subtype="FLOAT")
    irs, paths = write_impulse_responses(preset, tmp_path / "eq.wav", sample_rate=SR)
    ir, _ = sf.read(paths[1], always_2d=True)
    mine = _scipy_true_stereo(target.astype(np.float32).astype(np.float64), ir)
    want = _residual_db(
        eq_stage(preset, target.astype(np.float32).astype(np.float64), SR),
        mine[irs.latency : irs.latency + len(target)],
    )
    assert (
        main(
            [
                "--lang",
                "en",
                "verify",
                str(tmp_path / "p.json"),
                str(tmp_path / "t.wav"),
                str(paths[1]),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    printed = float(re.search(r"null residual\s+(-?[\d.]+) dB", out).group(1))  # type: ignore[union-attr]
    assert printed <= -60.0 and abs(printed - want) < 1.0
    assert re.search(r"magnitude error \(max\)\s+0\.0\d+ dB", out)
    # minimum phase: the magnitude is the figure (its phase differs by design)
    main(
        [
            "export-preset",
            str(tmp_path / "p.json"),
            "--format",
            "ir-wav",
            "--phase",
            "minimum",
            "--sample-rate",
            str(SR),
            "-o",
            str(tmp_path / "mp.wav"),
        ]
    )
    assert "latency 0 samples" in capsys.readouterr().out
    v = verify_export(preset, target, SR, true_stereo_path(tmp_path / "mp.wav"))
    assert v.magnitude_error_db is not None and v.magnitude_error_db <= 0.1
    assert v.lag == 0


def test_verify_refuses_a_response_at_another_rate(
    case: tuple[Preset, np.ndarray], tmp_path: Path
) -> None:
    preset, target = case
    write_impulse_responses(preset, tmp_path / "eq.wav", sample_rate=48000)
    with pytest.raises(AudioStyleError) as err:
        verify_export(preset, target, SR, tmp_path / "eq.wav")
    assert err.value.code is ErrorCode.EXPORT_RATE_MISMATCH
    (tmp_path / "bad.wav").write_bytes(b"RIFF....nope")
    with pytest.raises(AudioStyleError) as err:
        verify_export(preset, target, SR, tmp_path / "bad.wav")
    assert err.value.code is ErrorCode.BAD_EXPORT


def test_ffmpeg_chain_matches_the_engine_eq_per_third_octave(
    case: tuple[Preset, np.ndarray], tmp_path: Path
) -> None:
    """Run through PyAV's FFmpeg filter graph: every 1/3-octave band 31.5 Hz-16 kHz within
    1 dB of the engine's EQ stage (on white noise, so each band is measured)."""
    preset, _ = case
    x = np.random.default_rng(3).standard_normal((SR * 4, 2)) * 0.05
    x[:, 1] = 0.5 * x[:, 1] + 0.5 * x[:, 0]
    chain, _ = ffmpeg_chain(preset)
    eq_only = chain.split(",volume=")[0]
    y = run_chain(eq_only, x, SR)
    engine = eq_stage(preset, x, SR)
    a, b = band_levels_db(engine, SR), band_levels_db(y, SR)
    ok = np.isfinite(a)
    assert ok.sum() >= 27  # 31.5 Hz .. 16 kHz at 44.1 kHz
    assert np.max(np.abs(a[ok] - b[ok])) <= 1.0
    # per channel too (the mid/side split and merge keep left and right apart)
    for c in range(2):
        d = band_levels_db(engine[:, c : c + 1], SR) - band_levels_db(y[:, c : c + 1], SR)
        assert np.nanmax(np.abs(d)) <= 1.0
    (tmp_path / "eq.af").write_text(export_ffmpeg(preset), encoding="utf-8")
    v = verify_export(preset, x, SR, tmp_path / "eq.af")
    assert v.band_error_db <= 1.0


def test_ffmpeg_export_file_runs_whole_with_gain_and_limiter(
    case: tuple[Preset, np.ndarray],
) -> None:
    preset, target = case
    level = analyze_array(target, SR).summary.integrated_lufs
    text = export_ffmpeg(preset, input_lufs=level)
    assert text.startswith("# audio-style preset") and "differs from the engine" in text
    chain = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert len(chain) == 1 and "alimiter=" in chain[0] and "volume=" in chain[0]
    names = [s.name for s in parse_filtergraph(chain[0])]
    assert names[-2:] == ["volume", "alimiter"] and names.count("firequalizer") == 2
    y = run_chain(chain[0], target, SR)
    out = analyze_array(y, SR).summary
    # volume takes it near the plan's loudness; alimiter keeps sample peaks under the ceiling
    assert abs(out.integrated_lufs - preset.loudness.target_lufs) < 2.0
    assert out.sample_peak_dbfs <= preset.limiter.ceiling_dbtp + 0.05


def test_filtergraph_parser_quotes_and_labels() -> None:
    specs = parse_filtergraph(
        "pan=stereo|c0=c0,asplit[a][b];[a]firequalizer=gain_entry='entry(1,2);entry(3,4)'[x];"
        "[b]anull[y];[x][y]amerge=inputs=2,volume=1\\,5"
    )
    assert [s.name for s in specs] == ["pan", "asplit", "firequalizer", "anull", "amerge", "volume"]
    assert specs[2].args == "gain_entry=entry(1,2);entry(3,4)"
    assert specs[1].chained and specs[1].outputs == ["a", "b"]
    assert specs[4].inputs == ["x", "y"] and specs[5].chained and specs[5].args == "1,5"
    with pytest.raises(AudioStyleError) as err:
        run_chain("nosuchfilter", np.zeros((1000, 2)), SR)
    assert err.value.code is ErrorCode.FFMPEG_FILTER


def test_cli_exports_and_one_line_errors(
    case: tuple[Preset, np.ndarray], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preset, target = case
    save_preset(preset, tmp_path / "p.json")
    sf.write(tmp_path / "t.wav", target, SR, subtype="FLOAT")
    p, t = str(tmp_path / "p.json"), str(tmp_path / "t.wav")
    assert (
        main(
            [
                "export-preset",
                p,
                "--format",
                "ffmpeg",
                "--input-lufs",
                "-20",
                "-o",
                str(tmp_path / "eq.af"),
            ]
        )
        == 0
    )
    text = (tmp_path / "eq.af").read_text(encoding="utf-8")
    assert f"volume={preset.loudness.target_lufs + 20:.2f}dB" in text
    assert main(["--lang", "en", "verify", p, t, str(tmp_path / "eq.af"), "--seconds", "3"]) == 0
    out = capsys.readouterr().out
    band = float(re.search(r"1/3-octave band error \(max\)\s+([\d.]+) dB", out).group(1))  # type: ignore[union-attr]
    assert band <= 1.0 and "EQ part" in out
    # an existing output is refused without --force; a response at another rate is named
    assert main(["export-preset", p, "--format", "ir-wav", "-o", str(tmp_path / "eq.af")]) == 2
    assert "E201" in capsys.readouterr().err
    assert (
        main(
            [
                "export-preset",
                p,
                "--format",
                "ir-wav",
                "--sample-rate",
                "96000",
                "-o",
                str(tmp_path / "ir96.wav"),
            ]
        )
        == 0
    )
    assert sf.info(str(tmp_path / "ir96.wav")).samplerate == 96000
    assert main(["verify", p, t, str(tmp_path / "ir96.wav")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "E305" in err[0] and "--sample-rate 44100" in err[0]


def test_mono_preset_and_eq_off(tmp_path: Path) -> None:
    mono = pinkish(SR * 4, channels=1, seed=5)
    ref = known_eq(pinkish(SR * 4, channels=1, seed=6))
    preset = build_preset(analyze_array(mono, SR), [analyze_array(ref, SR)], MatchOptions())
    assert preset.eq.side is None
    _, paths = write_impulse_responses(preset, tmp_path / "m.wav", sample_rate=SR)
    assert paths == [tmp_path / "m.wav"]  # no true-stereo file without a side curve
    v = verify_export(preset, mono, SR, paths[0])
    assert v.residual_db <= -60.0 and v.notes == []
    off = preset.model_copy(update={"eq": preset.eq.model_copy(update={"enabled": False})})
    for phase in ("linear", "minimum"):
        irs = impulse_responses(off, SR, phase)
        assert np.count_nonzero(irs.mid) == 1 and irs.mid[irs.latency] == 1.0
