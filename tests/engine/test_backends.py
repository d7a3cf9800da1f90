"""Compute backends: the onnxruntime backend (CPU provider) matches the numpy backend within
-90 dBFS on generated signals; --device falls back / fails as documented."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import engine.backends as backends
from engine.analysis import AnalysisAccumulator
from engine.backends.numpy_backend import NumpyBackend
from engine.backends.ort_backend import OrtBackend
from engine.cli import main
from engine.dsp.fir import design_fir
from engine.presets import save_preset
from engine.render import eq_batch, render_array_stats
from engine.schema.errors import AudioStyleError, ErrorCode
from tools.gpu_check import (
    SPECTRUM_RANGE_DB,
    SR,
    TOL_CPU_DBFS,
    TOL_SPECTRUM_FP16_DB,
    TOL_SPECTRUM_FP32_DB,
    batch_tracks,
    make_preset,
    make_signal,
    parity,
    spectrum_error_db,
)
from tools.gpu_check import main as gpu_check_main


@pytest.fixture(scope="module")
def ort_cpu() -> OrtBackend:
    return OrtBackend.for_cpu()


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AUDIO_STYLE_NO_GPU", "1")
    backends._reset_for_tests()
    yield
    backends._reset_for_tests()


def _dbfs(d: np.ndarray) -> float:
    return float(20 * np.log10(max(float(np.max(np.abs(d))), 1e-15)))


# --- parity ---------------------------------------------------------------------------------


def test_cpu_provider_matches_numpy_within_minus_90_dbfs(ort_cpu: OrtBackend) -> None:
    figures = parity(ort_cpu, seconds=2.0)
    for key in ("eq_stream_dbfs", "render_dbfs", "batch_dbfs"):
        assert figures[key] <= TOL_CPU_DBFS, figures
    assert figures["spectrum_db"] <= TOL_SPECTRUM_FP32_DB, figures


def test_fir_batch_rows_match_numpy_with_odd_lengths_and_short_filters(
    ort_cpu: OrtBackend,
) -> None:
    rng = np.random.default_rng(3)
    freqs = np.geomspace(20, 20000, 40)
    for taps in (4097, 257, 65):  # 4096 is a multiple of the block; 256 and 64 are not
        h = np.stack([design_fir(freqs, rng.uniform(-9, 9, 40), SR, taps) for _ in range(3)])
        x = (rng.standard_normal((3, 5001)) * 0.3).astype(np.float32)
        a = NumpyBackend().fir_batch(x, h)
        b = ort_cpu.fir_batch(x, h)
        assert a.shape == b.shape == x.shape
        assert _dbfs(a - b) <= TOL_CPU_DBFS


def test_fir_batch_cuts_long_inputs_into_chunks_without_seams() -> None:
    small = OrtBackend.for_cpu(chunk_bytes=1 << 20)  # forces many time chunks
    x = make_signal(3.0).T.astype(np.float32)
    h = np.stack([design_fir(np.array([20.0, 20000.0]), np.array([6.0, -6.0]), SR)] * 2)
    a = NumpyBackend().fir_batch(x, h)
    assert _dbfs(a - small.fir_batch(x, h)) <= TOL_CPU_DBFS


def test_batch_equals_the_renderers_eq_per_file() -> None:
    """eq_batch (many files, one call) gives each file the EQ the renderer applies."""
    presets, tracks = batch_tracks(1.5)
    out = eq_batch(presets, tracks, SR)
    for p, x, y in zip(presets, tracks, out, strict=True):
        q = p.model_copy(
            update={
                "dynamics": p.dynamics.model_copy(update={"enabled": False}),
                "loudness": p.loudness.model_copy(update={"enabled": False}),
                "limiter": p.limiter.model_copy(update={"enabled": False}),
            }
        )
        ref, _ = render_array_stats(q, x, SR)
        inner = slice(int(0.01 * SR), len(x) - int(0.01 * SR))  # the renderer's 2 ms edge fades
        assert y.shape == x.shape
        assert _dbfs(ref[inner] - y[inner]) <= -120.0


def test_fp16_spectrum_graph_stays_within_its_tolerance() -> None:
    x = make_signal(4.0)
    fp16 = OrtBackend.for_cpu(spectrum_precision="fp16")
    assert spectrum_error_db(x, fp16) <= TOL_SPECTRUM_FP16_DB
    assert SPECTRUM_RANGE_DB >= 80.0  # the comparison covers the steep top octave


def test_analysis_spectra_through_the_backend(ort_cpu: OrtBackend) -> None:
    x = make_signal(3.0, seed=4)
    a = AnalysisAccumulator(SR, 2, true_peak=False)
    b = AnalysisAccumulator(SR, 2, true_peak=False, backend=ort_cpu)
    a.push(x)
    b.push(x)
    an, bn = a.finish(), b.finish()
    assert np.max(np.abs(an.mid_db - bn.mid_db)) <= TOL_SPECTRUM_FP32_DB
    assert an.side_db is not None and bn.side_db is not None
    assert np.max(np.abs(an.side_db - bn.side_db)) <= TOL_SPECTRUM_FP32_DB
    assert np.max(np.abs(an.band_width_db - bn.band_width_db)) <= TOL_SPECTRUM_FP32_DB


def test_numpy_backend_is_the_default_and_unchanged() -> None:
    x = make_signal(2.0, seed=5)
    p = make_preset(5)
    a, sa = render_array_stats(p, x, SR)
    b, sb = render_array_stats(p, x, SR, backend=backends.numpy_backend())
    assert np.array_equal(a, b) and sa == sb


# --- device selection -----------------------------------------------------------------------


def test_cpu_device_is_numpy() -> None:
    assert backends.get_backend("cpu") is backends.numpy_backend()


def test_auto_without_gpu_falls_back_with_one_log_line(
    no_gpu: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="engine.backends"):
        first = backends.get_backend("auto")
        second = backends.get_backend("auto")
    assert first is second is backends.numpy_backend()
    lines = [r for r in caplog.records if r.name == "engine.backends"]
    assert len(lines) == 1
    assert "CPU" in lines[0].getMessage() and "AUDIO_STYLE_NO_GPU" in lines[0].getMessage()


def test_gpu_without_gpu_is_a_coded_error(no_gpu: None) -> None:
    with pytest.raises(AudioStyleError) as err:
        backends.get_backend("gpu")
    assert err.value.code == ErrorCode.GPU_UNAVAILABLE
    assert "\n" not in err.value.one_line("en") and "\n" not in err.value.one_line("zh")
    assert "GPU" in err.value.message("zh")


def test_without_onnxruntime_auto_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIO_STYLE_NO_GPU", raising=False)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    backends._reset_for_tests()
    try:
        ok, key, _ = backends.cuda_status()
        assert not ok and key == "no_onnxruntime"
        assert backends.get_backend("auto") is backends.numpy_backend()
        with pytest.raises(AudioStyleError) as err:
            backends.get_backend("gpu")
        assert "onnxruntime" in err.value.message("en")
    finally:
        backends._reset_for_tests()


def test_cpu_onnxruntime_reports_no_cuda_provider() -> None:
    import onnxruntime as ort

    from engine.backends import ort_backend

    ok, key, _ = ort_backend.probe_cuda()
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert not ok and key == "no_cuda_provider"
    else:  # onnxruntime-gpu: either a working GPU or a reason
        assert ok or key == "cuda_failed"


def _wav(tmp_path: Path) -> Path:
    path = tmp_path / "x.wav"
    sf.write(str(path), make_signal(1.0).astype(np.float32), SR)
    return path


def test_cli_device_gpu_without_gpu_exits_2_with_one_line(
    no_gpu: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wav = _wav(tmp_path)
    preset = tmp_path / "p.json"
    save_preset(make_preset(), preset)
    out = tmp_path / "o.wav"
    for args in (
        ["analyze", str(wav), "--device", "gpu"],
        ["apply", str(preset), str(wav), "-o", str(out), "--device", "gpu"],
        ["match", str(wav), "-r", str(wav), "-o", str(out), "--device", "gpu"],
    ):
        capsys.readouterr()
        code = main(["--lang", "en", *args])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1, (args, err)
        assert err[0].startswith("error E402: GPU requested but not available"), err
    assert not out.exists()


def test_cli_device_auto_is_silent_on_the_cpu_unless_verbose(
    no_gpu: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wav = _wav(tmp_path)
    out = tmp_path / "o.wav"
    # the default (--device auto) on a machine without a GPU: no device line at all
    for args in (
        ["match", str(wav), "-r", str(wav), "-o", str(out), "--force"],
        ["analyze", str(wav)],
        ["analyze", str(wav), "--device", "auto", "-q"],
        ["analyze", str(wav), "--device", "cpu", "-v"],
    ):
        backends._reset_for_tests()
        capsys.readouterr()
        assert main(["--lang", "en", *args]) == 0, args
        assert capsys.readouterr().err == "", args
    # -v: the one fallback line
    for args in (
        ["match", str(wav), "-r", str(wav), "-o", str(out), "--force", "-v"],
        ["analyze", str(wav), "--verbose"],
    ):
        backends._reset_for_tests()
        assert main(["--lang", "en", *args]) == 0, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("audio-style: no usable GPU"), (args, err)
        assert "AUDIO_STYLE_NO_GPU" in err[0]


def test_gpu_check_cpu_path(no_gpu: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert gpu_check_main(["--tracks", "2", "--seconds", "2"]) == 0
    out = capsys.readouterr().out
    assert "no CUDA provider" in out and "result: ok" in out
    assert gpu_check_main(["--require-cuda"]) == 3
