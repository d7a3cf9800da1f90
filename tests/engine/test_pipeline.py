"""The match pipeline's concurrency and reuse: references analysed beside the target, the
target decoded once, the FFTs without ``scipy.fft`` — same results, clean cancel/errors."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.fft
import soundfile as sf

from engine import io
from engine.dsp import fft
from engine.pipeline import analyze_file, match_files, render_file
from engine.progress import Beside, CancelToken, Progress, drive, read_ahead
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.options import MatchOptions
from tests.engine.conftest import fresh_python
from tools.demo import synth_song

SR = 44100


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    t, r = tmp_path / "target.wav", tmp_path / "reference.wav"
    io.write_audio(t, synth_song(3, 6.0, SR) * 0.3, SR, "wav24", force=True)
    io.write_audio(r, synth_song(4, 6.0, SR), SR, "wav24", force=True)
    return t, r


@pytest.mark.parametrize("path", ["extension", "scipy.fft"])
def test_fft_is_scipys_transform_bit_for_bit(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if path == "scipy.fft":  # the fallback where the extension cannot be loaded
        monkeypatch.setattr(fft, "_transforms", fft._of_scipy_fft())
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((3, 5000)).astype(dtype)
        for n in (5000, 6144, 4000):
            a = fft.rfft(x, n, axis=1)
            b = scipy.fft.rfft(x, n, axis=1)
            assert a.dtype == b.dtype and np.array_equal(a, b)
            for m in (n, n + 2, n - 2):  # the spectrum cut or padded to m // 2 + 1
                assert np.array_equal(fft.irfft(a, m, axis=1), scipy.fft.irfft(b, m, axis=1))
        col = x.T  # strided, along axis 0
        assert np.array_equal(fft.rfft(col, axis=0), scipy.fft.rfft(col, axis=0))
        assert np.array_equal(fft.rfft(col, 6000, axis=0), scipy.fft.rfft(col, 6000, axis=0))
        for w in (-1, 2):
            assert np.array_equal(
                fft.rfft(x, axis=1, workers=w), scipy.fft.rfft(x, axis=1, workers=w)
            )
    for n in (1, 97, 4097 + 65535, 69000):
        assert fft.next_fast_len(n) == scipy.fft.next_fast_len(n, real=True)
    with pytest.raises(ValueError):
        fft.rfft(np.ones(8), workers=0)


class _Changed:  # the same names, another argument order (as a later SciPy might have)
    def r2c(self, a: np.ndarray, *args: object) -> np.ndarray:
        raise TypeError("r2c() takes other arguments")

    c2r = r2c

    def good_size(self, n: int, real: bool) -> int:
        return n


class _Lacking:  # none of the functions
    pass


@pytest.mark.parametrize("extension", [_Changed, _Lacking])
def test_an_extension_with_another_call_convention_falls_back_to_scipy_fft(
    extension: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fft, "_transforms", None)
    monkeypatch.setattr(fft, "_load_pocketfft", lambda: extension())
    x = np.random.default_rng(2).standard_normal((2, 1000)).astype(np.float32)
    assert np.array_equal(fft.rfft(x, axis=1), scipy.fft.rfft(x, axis=1))
    assert fft._transforms is not None and not fft._answers(fft._of_extension(extension()))


def test_transforms_run_without_scipy_fft_which_then_shares_the_extension() -> None:
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from engine.dsp import fft\n"
        "x = np.random.default_rng(1).standard_normal((2, 3000)).astype(np.float32)\n"
        "a = fft.rfft(x, axis=1)\n"
        "assert 'scipy.fft' not in sys.modules and 'scipy.special' not in sys.modules\n"
        "assert fft._transforms is not None\n"
        "import scipy.fft\n"
        "from scipy.fft._pocketfft import basic\n"
        "assert basic.pfft is sys.modules['scipy.fft._pocketfft.pypocketfft']\n"
        "assert np.array_equal(a, scipy.fft.rfft(x, axis=1))\n"
        "assert np.array_equal(fft.irfft(a, 3000, axis=1), scipy.fft.irfft(a, 3000, axis=1))\n"
    )
    fresh_python(code)


def test_cli_match_path_does_not_import_scipy_fft() -> None:
    code = (
        "import sys, engine.pipeline, engine.cli, engine.render; "
        "print(any(m == 'scipy.fft' or m.startswith('scipy.special') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_render_from_the_kept_blocks_equals_render_from_the_file(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    t, r = pair
    kept: list[np.ndarray] = []
    t_an = drive(analyze_file(t, keep=kept))
    assert sum(len(b) for b in kept) == io.probe(t).frames
    from engine.matching import build_preset

    preset = build_preset(t_an, [drive(analyze_file(r))], MatchOptions())
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    drive(render_file(preset, t, a))
    drive(render_file(preset, t, b, decoded=kept))
    assert a.read_bytes() == b.read_bytes()


def test_match_progress_rises_to_one_and_output_matches_sequential_analysis(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    t, r = pair
    seen: list[Progress] = []
    out = tmp_path / "out.wav"
    (res,) = drive(match_files([t], [r], [out]), seen.append)
    fr = [p.fraction for p in seen]
    assert fr == sorted(fr) and fr[-1] == 1.0 and 0.0 <= fr[0] < 0.5
    # the references analysed on the helper thread give the same analysis as on their own
    # (the plan always measures their true peak: it goes into the preset, report or not)
    alone = drive(analyze_file(r, sample_rate=SR))
    assert np.array_equal(res.reference_analyses[0].mid_db, alone.mid_db)
    assert res.reference_analyses[0].summary == alone.summary
    y, rate = sf.read(out)
    assert rate == SR and len(y) == io.probe(t).frames


def test_a_bad_reference_fails_the_match_with_its_code_and_no_output(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    t, _ = pair
    silent = tmp_path / "silent.wav"
    io.write_audio(silent, np.zeros((SR * 3, 2)), SR, "wav24", force=True)
    out = tmp_path / "out.wav"
    with pytest.raises(AudioStyleError) as e:
        drive(match_files([t], [silent], [out]))
    assert e.value.code == ErrorCode.SILENT and "silent.wav" in str(e.value)
    assert not out.exists()


def test_cancel_during_analysis_stops_the_helper_and_writes_nothing(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    t, r = pair
    token = CancelToken()
    out = tmp_path / "out.wav"
    before = threading.active_count()

    def on(p: Progress) -> None:
        if p.stage == "analyze":
            token.cancel()

    with pytest.raises(AudioStyleError) as e:
        drive(match_files([t], [r], [out], cancel=token), on)
    assert e.value.code == ErrorCode.CANCELED
    assert not out.exists()
    assert threading.active_count() <= before + 4  # pool threads only, none left running


def test_beside_stop_halts_a_running_generator() -> None:
    steps: list[int] = []

    def slow() -> Generator[Progress, None, str]:
        for i in range(1000):
            steps.append(i)
            time.sleep(0.001)
            yield Progress("x", i / 1000)
        return "never"

    side = Beside(slow(), None)
    time.sleep(0.02)
    side.stop()
    n = len(steps)
    time.sleep(0.02)
    assert 0 < n < 1000 and len(steps) == n
    with pytest.raises(AudioStyleError) as e:
        drive(side.join("x", 0.0, 1.0))
    assert e.value.code == ErrorCode.CANCELED


def test_read_ahead_yields_in_order_and_surfaces_errors_where_they_happen() -> None:
    assert list(read_ahead(iter(range(50)))) == list(range(50))
    assert list(read_ahead([])) == []

    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise AudioStyleError(ErrorCode.TRUNCATED, path="x")

    got: list[int] = []
    with pytest.raises(AudioStyleError) as e:
        for item in read_ahead(failing()):
            got.append(item)
    assert got == [1, 2] and e.value.code == ErrorCode.TRUNCATED


def test_closing_read_ahead_closes_its_source_after_the_item_in_flight() -> None:
    produced: list[int] = []
    closed: list[bool] = []

    def source() -> Iterator[int]:
        try:
            for i in range(100):
                produced.append(i)
                yield i
        finally:
            closed.append(True)

    gen = read_ahead(source())
    assert next(gen) == 0
    gen.close()
    assert closed == [True]
    assert produced == [0, 1]  # one item read ahead, no more
