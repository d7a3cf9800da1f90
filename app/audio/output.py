"""Audio outputs behind one small interface: sounddevice, a fake for tests, and "none".

``create_output`` never raises: if ``import sounddevice`` fails (no libportaudio2) or there is
no output device, it returns a :class:`NullOutput` whose ``error`` says why, and the app shows
that message instead of playing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QCoreApplication

# callback(out: float32 (frames, channels), frames) fills ``out`` in place
RenderCallback = Callable[[NDArray[np.float32]], None]


class AudioOutput:
    """A stream that calls ``callback(out)`` from its own thread to fill each block."""

    available: bool = True
    error: str = ""  # translated, shown in the UI when not available

    def devices(self) -> list[str]:
        """Names of the output devices ("" = system default is always allowed)."""
        return []

    def start(self, sample_rate: int, channels: int, callback: RenderCallback) -> None:
        """Open (or reopen) the stream and start calling ``callback``."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop and close the stream (idempotent)."""

    @property
    def running(self) -> bool:
        """True while a stream is open."""
        return False


class NullOutput(AudioOutput):
    """No audio output; ``error`` explains why."""

    available = False

    def __init__(self, error: str) -> None:
        self.error = error

    def start(self, sample_rate: int, channels: int, callback: RenderCallback) -> None:
        return None


class FakeAudioOutput(AudioOutput):
    """Pull-driven output for tests: ``pull(frames)`` calls the callback like a sound card."""

    def __init__(self) -> None:
        self.sample_rate = 0
        self.channels = 0
        self._callback: RenderCallback | None = None

    def devices(self) -> list[str]:
        return ["Fake output"]

    def start(self, sample_rate: int, channels: int, callback: RenderCallback) -> None:
        self.sample_rate, self.channels, self._callback = sample_rate, channels, callback

    def stop(self) -> None:
        self._callback = None

    @property
    def running(self) -> bool:
        return self._callback is not None

    def pull(self, frames: int) -> NDArray[np.float32]:
        """One block of ``frames`` frames (zeros when no stream is open)."""
        out = np.zeros((frames, max(1, self.channels)), dtype=np.float32)
        if self._callback is not None:
            self._callback(out)
        return out


class SoundDeviceOutput(AudioOutput):
    """A PortAudio output stream through python-sounddevice."""

    def __init__(self, sd: Any, device: str = "") -> None:
        self._sd = sd
        self._device = device or None
        self._stream: Any = None

    def devices(self) -> list[str]:
        try:
            return [
                str(d["name"]) for d in self._sd.query_devices() if d["max_output_channels"] > 0
            ]
        except Exception:  # noqa: BLE001 - a broken host API must not break the app
            return []

    def set_device(self, device: str) -> None:
        """Use ``device`` (a name; "" = default) for the next :meth:`start`."""
        self._device = device or None

    def start(self, sample_rate: int, channels: int, callback: RenderCallback) -> None:
        self.stop()
        sd = self._sd

        def _cb(outdata: Any, frames: int, time: Any, status: Any) -> None:
            callback(outdata)

        try:
            self._stream = sd.OutputStream(
                samplerate=sample_rate,
                channels=channels,
                dtype="float32",
                device=self._device,
                callback=_cb,
                latency="low",
            )
            self._stream.start()
            self.available, self.error = True, ""
        except Exception as exc:  # noqa: BLE001 - PortAudioError, ValueError: bad device
            self._stream = None
            self.available = False
            self.error = QCoreApplication.translate(
                "AudioOutput", "Cannot open the audio output: {reason}"
            ).format(reason=exc)

    def stop(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:  # noqa: BLE001
                pass
            self._stream = None

    @property
    def running(self) -> bool:
        return self._stream is not None


def create_output(device: str = "") -> AudioOutput:
    """The sounddevice output, or a :class:`NullOutput` explaining why there is none."""
    try:
        import sounddevice as sd
    except OSError:
        return NullOutput(
            QCoreApplication.translate(
                "AudioOutput",
                "No audio output: the PortAudio library is missing "
                "(install libportaudio2). Everything else works.",
            )
        )
    except ImportError:
        return NullOutput(
            QCoreApplication.translate(
                "AudioOutput", "No audio output: python-sounddevice is not installed."
            )
        )
    out = SoundDeviceOutput(sd, device)
    try:
        has_output = any(d["max_output_channels"] > 0 for d in sd.query_devices())
    except Exception:  # noqa: BLE001
        has_output = False
    if not has_output:
        return NullOutput(
            QCoreApplication.translate("AudioOutput", "No audio output device was found.")
        )
    return out
