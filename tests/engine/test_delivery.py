"""Delivery check (``audio-style qc``) on generated signals with known answers, each figure
compared with an independent computation made here (BS.1770-4's published 48 kHz K-weighting
coefficients, a PyAV encode/decode and scipy's polyphase oversampling, closed forms)."""

from __future__ import annotations

import io as _io
import json
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from scipy.signal import lfilter, resample_poly

from engine.cli import main
from engine.codecs import codec_spec
from engine.delivery import (
    clipped_samples,
    codec_true_peak_dbtp,
    codec_true_peak_dbtp_stream,
    dc_offset_dbfs,
    delivery_report,
    min_short_term_correlation,
    mono_fold,
    select_services,
)
from engine.services import SERVICES, service_gain_db

SR = 48000
# ITU-R BS.1770-4, Table 1 and 2: K-weighting at 48 kHz
SHELF = (
    [1.53512485958697, -2.69169618940638, 1.19839281085285],
    [1.0, -1.69065929318241, 0.73248077421585],
)
HIGHPASS = ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])


def lufs_ungated(x: np.ndarray) -> float:
    """BS.1770-4 loudness of a steady signal (gating changes nothing for it)."""
    y = lfilter(*HIGHPASS, lfilter(*SHELF, x, axis=0), axis=0)
    return float(-0.691 + 10 * np.log10(np.sum(np.mean(y[SR:] ** 2, axis=0))))


def true_peak_4x(x: np.ndarray) -> float:
    return float(20 * np.log10(np.max(np.abs(resample_poly(x, 4, 1, axis=0)))))


def sine(level_db: float, seconds: float = 8.0, freq: float = 997.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    s = 10 ** (level_db / 20) * np.sin(2 * np.pi * freq * t)
    return np.stack([s, s], 1)


def music_like(seconds: float = 8.0, peak_dbtp: float = -0.3, seed: int = 0) -> np.ndarray:
    """Band-limited noise bursts normalised to a given 4x-oversampled peak."""
    rng = np.random.default_rng(seed)
    n = int(SR * seconds)
    spec = np.fft.rfft(rng.standard_normal((n, 2)), axis=0)
    f = np.fft.rfftfreq(n, 1 / SR)
    spec[1:] /= np.sqrt(f[1:] / 100.0)[:, None]
    spec[(f < 30) | (f > 16000)] = 0
    x = np.fft.irfft(spec, n, axis=0)
    x *= (1.0 + 0.8 * np.sin(2 * np.pi * 1.5 * np.arange(n) / SR))[:, None]
    x = np.tanh(3 * x / np.max(np.abs(x)))
    y: np.ndarray = x * 10 ** ((peak_dbtp - true_peak_4x(x)) / 20)
    return y


def aac_256_decode(x: np.ndarray) -> np.ndarray:
    """AAC-LC 256 kb/s in MP4 and back, written here with PyAV (not engine.codecs)."""
    buf = _io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        s = out.add_stream("aac", rate=SR)
        s.layout, s.bit_rate = "stereo", 256_000
        for i in range(0, len(x), 4096):
            fr = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(x[i : i + 4096].astype(np.float32).reshape(1, -1)),
                format="flt",
                layout="stereo",
            )
            fr.sample_rate = SR
            for p in s.encode(fr):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    buf.seek(0)
    with av.open(buf, "r") as src:
        rs = av.AudioResampler(format="flt", layout="stereo", rate=SR)
        return np.concatenate(
            [o.to_ndarray().reshape(-1, 2) for f in src.decode(audio=0) for o in rs.resample(f)]
        )


def test_loud_master_gets_the_spotify_turn_down() -> None:
    x = sine(-8.0)
    expected = -14.0 - lufs_ungated(x)  # Spotify: -14 LUFS
    assert abs(expected - -6.0) < 0.05
    r = delivery_report(x, SR, select_services(["spotify", "youtube", "apple"]))
    rows = {s.key: s for s in r.services}
    assert abs(r.integrated_lufs - lufs_ungated(x)) < 0.1
    assert abs(rows["spotify"].gain_db - expected) < 0.1
    assert abs(rows["spotify"].playback_lufs - -14.0) < 0.1
    assert abs(rows["apple"].gain_db - (-16.0 - lufs_ungated(x))) < 0.1
    assert r.mono.loss_db == pytest.approx(0.0, abs=0.01)  # identical channels fold losslessly


def test_hot_master_fails_after_aac_and_strict_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x = music_like(peak_dbtp=-0.3)
    independent = true_peak_4x(aac_256_decode(x))
    assert independent > -1.0
    r = delivery_report(x, SR, select_services(["apple"]))
    assert abs(r.true_peak_dbtp - -0.3) < 0.1
    apple = r.services[0]
    assert apple.codec == "aac-256" and apple.codec_true_peak_dbtp > -1.0
    assert abs(apple.codec_true_peak_dbtp - independent) < 0.1
    assert not r.passed and not r.checks["codec_true_peak"]

    path = tmp_path / "hot.wav"
    sf.write(path, x, SR, subtype="FLOAT")
    assert main(["qc", str(path), "--platform", "apple"]) == 0  # warnings only
    out = capsys.readouterr().out
    assert "Apple Music" in out and "FAIL" in out
    assert main(["qc", str(path), "--platform", "apple", "--strict"]) == 1
    capsys.readouterr()
    assert main(["qc", str(path), "--platform", "Apple Music", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["passed"] is False and doc["services"][0]["key"] == "apple"


def test_quiet_safe_master_passes_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x = music_like(peak_dbtp=-6.0, seed=2)
    path = tmp_path / "safe.wav"
    sf.write(path, x, SR, subtype="FLOAT")
    assert main(["qc", str(path), "--strict", "--platform", "spotify"]) == 0
    assert "FAIL" not in capsys.readouterr().out


@pytest.mark.parametrize("g", [0.5, 0.8, 1.0])
def test_polarity_inverted_side_shows_the_mono_loss(g: float) -> None:
    rng = np.random.default_rng(4)
    n = rng.standard_normal(SR * 8) * 0.1
    x = np.stack([n, -g * n], 1)  # R = -g L: mid (1-g)/2 L, side (1+g)/2 L
    fold = mono_fold(x, SR)
    # independent: both fold channels m=(L+R)/2 vs L and R; K-weighting cancels in the ratio
    expected = 10 * np.log10(max((1 - g) ** 2 / (2 * (1 + g**2)), 1e-12))
    assert abs(max(fold.loss_db, -120.0) - max(expected, -120.0)) < 0.1
    assert fold.cancelling_hz  # every band cancels
    r = delivery_report(x, SR, select_services(["spotify"]))
    assert not r.checks["mono_fold"] and not r.checks["correlation"]
    assert r.min_correlation == pytest.approx(-1.0, abs=0.01)


def test_one_inverted_band_is_named() -> None:
    rng = np.random.default_rng(5)
    n = int(SR * 8)
    common = rng.standard_normal(n) * 0.1
    spec = np.fft.rfft(rng.standard_normal(n) * 0.3)
    f = np.fft.rfftfreq(n, 1 / SR)
    spec[(f < 1500) | (f > 2700)] = 0  # inside the 2 kHz octave band (1414-2828 Hz)
    band = np.fft.irfft(spec, n)
    x = np.stack([common + band, common - band], 1)
    fold = mono_fold(x, SR)
    assert fold.cancelling_hz == [2000.0]
    i = fold.band_centres_hz.index(2000.0)
    p_common = np.sum(np.abs(np.fft.rfft(common))[(f >= 1414) & (f < 2828)] ** 2)
    p_band = np.sum(np.abs(spec[(f >= 1414) & (f < 2828)]) ** 2)
    assert abs(fold.band_loss_db[i] - 10 * np.log10(p_common / (p_common + p_band))) < 0.3


def test_clipping_dc_and_correlation_figures() -> None:
    x = sine(-3.0, seconds=4.0, freq=100.0) * 2.0  # +3 dBFS sine, clipped at full scale
    x = np.clip(x, -1.0, 1.0)
    expected_clipped = int(np.sum(np.abs(x) >= 10 ** (-0.01 / 20)))
    assert clipped_samples(x) == expected_clipped > 0
    y = sine(-20.0, seconds=4.0) + 0.01  # 1 % DC: -40 dBFS
    assert abs(dc_offset_dbfs(y) - -40.0) < 0.1
    assert min_short_term_correlation(sine(-20.0), SR) == pytest.approx(1.0, abs=1e-6)


def test_service_gain_rules() -> None:
    by_key = {s.key: s for s in SERVICES}
    assert service_gain_db(by_key["youtube"], -20.0, -10.0) == 0.0  # only turns down
    assert service_gain_db(by_key["spotify"], -20.0, -3.0) == pytest.approx(2.0)  # peak-capped
    assert service_gain_db(by_key["soundcloud"], -6.0, -0.1) == 0.0  # no normalisation
    assert service_gain_db(by_key["deezer"], -9.0, -1.0) == pytest.approx(-6.0)


def test_unknown_platform_is_a_coded_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.wav"
    sf.write(path, sine(-20.0, 2.0), SR)
    assert main(["qc", str(path), "--platform", "napster"]) == 2
    assert capsys.readouterr().err.startswith("error E301:")


def test_every_trust_reason_and_aspect_has_both_texts() -> None:
    from engine.cli_text import TEXTS

    for reason in ("ok", "band_limited", "clipped", "over_limited", "near_mono"):
        en, zh = TEXTS[f"why_{reason}"]
        assert "{pct" in en and "{pct" in zh
    for aspect in ("eq", "dynamics", "width"):
        assert f"trust_{aspect}" in TEXTS


def test_next_ceiling_brackets_the_codec_overshoot() -> None:
    from engine.delivery import next_ceiling

    # no safe point yet: lower by the overshoot measured at the unsafe ceiling (+ margin)
    assert next_ceiling((-1.0, 0.5), None, -1.0, 0.1) == pytest.approx(-2.6)
    # a safe point far under: the secant aims at wanted - margin / 2 inside the bracket
    c = next_ceiling((-1.0, 0.5), (-2.6, -2.0), -1.0, 0.1)
    assert c is not None and -2.6 < c < -1.0
    assert c == pytest.approx(-2.6 + (-1.05 - -2.0) / (2.5 / 1.6))
    assert next_ceiling((-1.0, 0.5), (-1.03, -1.2), -1.0, 0.1) is None  # bracket closed


@pytest.mark.parametrize(
    ("codec", "rate"), [("aac-256", SR), ("mp3-320", 44100), ("opus-128", 44100)]
)
def test_the_streamed_codec_true_peak_equals_the_whole_signals(codec: str, rate: int) -> None:
    """The codec-safe search measures files as streams (bounded memory): blocks of any sizes
    give the in-memory measurement, exactly where the codec takes the rate (Opus resamples
    44.1 kHz as a stream: within 0.01 dB)."""
    x = music_like(seconds=5.0, peak_dbtp=-0.5, seed=5)
    cuts = [0, 1000, 70000, 70001, 150000, len(x)]
    blocks = [x[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
    whole = codec_true_peak_dbtp(x, rate, codec)
    streamed = codec_true_peak_dbtp_stream(iter(blocks), rate, x.shape[1], codec)
    assert whole > -0.5  # the codec's overshoot: the measurement has something to find
    if rate in codec_spec(codec).rates:
        assert streamed == whole
    else:
        assert streamed == pytest.approx(whole, abs=0.01)


def test_match_with_codec_safe_ceiling_stays_under_after_aac(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = music_like(seconds=6.0, peak_dbtp=-12.0, seed=7)
    reference = music_like(seconds=6.0, peak_dbtp=-0.1, seed=8)  # loud: the limiter works
    sf.write(tmp_path / "t.wav", target, SR, subtype="FLOAT")
    sf.write(tmp_path / "r.wav", reference, SR, subtype="FLOAT")
    outs = {}
    for name, extra in (("plain", []), ("safe", ["--codec-safe", "aac-256"])):
        out = tmp_path / f"{name}.wav"
        args = ["match", str(tmp_path / "t.wav"), "-r", str(tmp_path / "r.wav"), "-o", str(out)]
        assert main([*args, "-q", "--format", "wav32f", "--preset-out", f"{out}.json", *extra]) == 0
        outs[name] = sf.read(out, always_2d=True)[0]
    printed = capsys.readouterr().out
    assert "codec-safe ceiling:" in printed
    plain_tp = true_peak_4x(aac_256_decode(outs["plain"]))
    safe_tp = true_peak_4x(aac_256_decode(outs["safe"]))
    assert plain_tp > -1.0  # the test needs an overshooting codec to mean anything
    assert safe_tp <= -1.0 + 0.1  # independent oversampler: within 0.1 dB of the engine's
    assert not list(tmp_path.glob(".*codec-safe*"))  # no trial renders left behind
    # apply reproduces the codec-safe result from its preset (the lowered ceiling is in it)
    assert (
        main(
            [
                "apply",
                str(tmp_path / "safe.wav.json"),
                str(tmp_path / "t.wav"),
                "-o",
                str(tmp_path / "again.wav"),
                "--format",
                "wav32f",
                "-q",
            ]
        )
        == 0
    )
    assert np.array_equal(sf.read(tmp_path / "again.wav", always_2d=True)[0], outs["safe"])


def test_match_report_has_the_delivery_section(tmp_path: Path) -> None:
    sf.write(tmp_path / "t.wav", music_like(seconds=4.0, peak_dbtp=-12.0, seed=3), SR)
    sf.write(tmp_path / "r.wav", music_like(seconds=4.0, peak_dbtp=-1.0, seed=4), SR)
    out, rep = tmp_path / "o.wav", tmp_path / "report.json"
    args = ["match", str(tmp_path / "t.wav"), "-r", str(tmp_path / "r.wav"), "-o", str(out)]
    assert main([*args, "--report", str(rep), "-q", "--format", "wav32f"]) == 0
    doc = json.loads(rep.read_text())
    x, _ = sf.read(out, always_2d=True)
    expected = delivery_report(x, SR)
    assert doc["delivery"] == json.loads(expected.model_dump_json())
    aspects = {a["aspect"] for a in doc["reference_suitability"]["aspects"]}
    assert aspects == {"eq", "dynamics", "width"}
