"""Fixtures for the desktop app tests: offscreen Qt, generated clips, a window on a fake output."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

from app.audio.output import AudioOutput, FakeAudioOutput  # noqa: E402
from app.main import build_window  # noqa: E402
from app.settings import SettingsStore  # noqa: E402
from app.views.main_window import MainWindow  # noqa: E402

# the cloud tests' servers and client fixtures, for the desktop's cloud tests (test_cloud_gui)
from tests.cloud.conftest import (  # noqa: E402,F401 (fixtures re-exported for this directory)
    cloud_home,
    moto_s3sts,
    sts_spy,
    token_spy,
)
from tests.server.conftest import amqp_url, pg_url, queue_name  # noqa: E402,F401

SR = 44100
RUN_LAST = "test_cloud_gui.py"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The cloud GUI tests run after the other app tests: their in-process servers (FastAPI,
    SQLAlchemy, uvicorn and moto threads) stay in the test process for good and would weigh
    on every app test after them."""
    app_dir = Path(__file__).parent
    last = [i for i in items if i.path.name == RUN_LAST and i.path.parent == app_dir]
    if not last:
        return
    rest = [i for i in items if i not in last]
    after = max((k for k, i in enumerate(rest) if i.path.parent == app_dir), default=-1)
    items[:] = rest[: after + 1] + last + rest[after + 1 :]


MATCH_TIMEOUT_MS = 30000


def make_clip(
    path: Path,
    seconds: float,
    *,
    tilt: float,
    peak: float,
    seed: int,
    sr: int = SR,
    channels: int = 2,
    width: float = 0.3,
) -> Path:
    """Noise with a spectral tilt (dB/decade-ish), a slow level swell and some stereo width."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    x = rng.standard_normal((n, 2))
    x[:, 1] = (1.0 - width) * x[:, 0] + width * x[:, 1]
    spec = np.fft.rfft(x, axis=0)
    f = np.fft.rfftfreq(n, 1.0 / sr)
    spec *= (np.maximum(f, 20.0) / 1000.0)[:, None] ** tilt
    y = np.fft.irfft(spec, n=n, axis=0)
    y *= (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * np.arange(n) / sr))[:, None]
    y *= peak / np.max(np.abs(y))
    sf.write(str(path), y[:, :channels], sr, subtype="PCM_16")
    return path


@dataclass
class Clips:
    reference: Path
    target: Path
    target2: Path
    mono: Path
    broken: Path
    text: Path


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    d = tmp_path_factory.mktemp("clips")
    broken = d / "broken.wav"
    good = make_clip(d / "tmp.wav", 2.0, tilt=0.0, peak=0.5, seed=9)
    broken.write_bytes(good.read_bytes()[:2000])  # header promises far more data
    text = d / "notes.wav"
    text.write_text("this is not audio\n" * 50)
    return Clips(
        reference=make_clip(d / "reference.wav", 4.0, tilt=-0.6, peak=0.9, seed=1),
        target=make_clip(d / "target.wav", 4.0, tilt=0.0, peak=0.3, seed=2),
        target2=make_clip(d / "target2.wav", 3.5, tilt=0.2, peak=0.4, seed=3),
        mono=make_clip(d / "mono.wav", 3.5, tilt=0.1, peak=0.5, seed=4, channels=1),
        broken=broken,
        text=text,
    )


WindowFactory = Callable[..., MainWindow]


@pytest.fixture
def make_window(qapp: object, qtbot: object, tmp_path: Path) -> Iterator[WindowFactory]:
    windows: list[MainWindow] = []

    def make(
        output: AudioOutput | None = None, language: str = "en", size: bool = True
    ) -> MainWindow:
        store = SettingsStore.from_file(str(tmp_path / "settings.ini"))
        w = build_window(qapp, store, output or FakeAudioOutput(), language=language)  # type: ignore[arg-type]
        if size:
            w.resize(1400, 900)
        qtbot.addWidget(w)  # type: ignore[attr-defined]
        w.show()
        w.activateWindow()
        qtbot.waitActive(w)  # type: ignore[attr-defined]
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.c.shutdown()
    from engine.schema.i18n import set_language

    set_language(None)


def wait_idle(qtbot: object, window: MainWindow, timeout: int = MATCH_TIMEOUT_MS) -> None:
    qtbot.waitUntil(  # type: ignore[attr-defined]
        lambda: not window.c.busy and not window.ui_pending, timeout=timeout
    )


@pytest.fixture(scope="module")
def shared_matched(
    qapp: object, clips: Clips, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MainWindow]:
    """One matched window per test module (a match costs a second or two on a busy box)."""
    store = SettingsStore.from_file(str(tmp_path_factory.mktemp("settings") / "s.ini"))
    w = build_window(qapp, store, FakeAudioOutput(), language="en")  # type: ignore[arg-type]
    w.resize(1400, 900)
    w.show()
    w.c.add_files("reference", [str(clips.reference)])
    w.c.add_files("target", [str(clips.target)])
    assert w.wait_idle(MATCH_TIMEOUT_MS)
    w.c.match()
    assert w.wait_idle(MATCH_TIMEOUT_MS)
    assert w.c.has_result()
    yield w
    w.close()


@pytest.fixture
def matched(shared_matched: MainWindow, qtbot: object) -> MainWindow:
    """The shared matched window, idle, stopped at 0 on the target, loudness-matched, active."""
    w = shared_matched
    c = w.c
    c.cancel()
    assert w.wait_idle(MATCH_TIMEOUT_MS)
    w.transport.loop.setChecked(False)
    w.transport.matched.setChecked(True)
    c.player.pause()
    out = c.player.output
    assert isinstance(out, FakeAudioOutput)
    out.pull(4096)  # let the player take the pause
    c.select_source("target")
    w.transport.set_source("target")
    c.player.seek(0)
    out.pull(16)
    w.activateWindow()
    qtbot.waitActive(w)  # type: ignore[attr-defined]
    return w
