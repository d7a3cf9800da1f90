"""A/B/C preview player: target, result and reference on one timeline.

Real-time discipline: the output callback (:meth:`Player.render`) reads only preallocated
float32 arrays and preallocated scratch buffers, writes with ``out=`` numpy calls, takes no
locks and does no I/O. The GUI thread never mutates what the callback reads; it publishes new
state by rebinding one attribute (atomic in CPython): sources, gains and the preview overlay
live in an immutable :class:`_Sources` snapshot, and transport requests (role, play, seek)
are plain attributes the callback picks up at the start of each block.

- Switching source keeps the position and crossfades (``crossfade_ms``, 10 ms by default);
  seeks, loop wrap-arounds, play and pause are faded the same way, so nothing clicks.
- Loudness-matched gains (on by default): every source is scaled to the integrated loudness of
  the quietest one, so louder never wins an A/B comparison.
- A source shorter than the timeline (usually the reference) wraps around.
- The result can carry an *overlay*: the latest preview render of the loop region, played in
  place of the full render inside that region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from app.audio.output import AudioOutput

F32 = NDArray[np.float32]
CHANNELS = 2


@dataclass(frozen=True)
class _Sources:
    sample_rate: int = 0
    audio: dict[str, F32] = field(default_factory=dict)
    lufs: dict[str, float] = field(default_factory=dict)
    gains: dict[str, float] = field(default_factory=dict)
    overlay_start: int = 0
    overlay: F32 | None = None  # replaces the result in [start, start + len)
    overlay_lufs: float = float("nan")
    overlay_gain: float = 1.0

    @property
    def length(self) -> int:
        if "target" in self.audio:
            return len(self.audio["target"])
        return max((len(a) for a in self.audio.values()), default=0)


def _valid(v: float | None) -> bool:
    return v is not None and math.isfinite(v) and v > -70.0


def matched_gains(lufs: dict[str, float], enabled: bool) -> dict[str, float]:
    """Linear gains that bring every source to the quietest source's integrated loudness."""
    valid = {k: v for k, v in lufs.items() if _valid(v)}
    if not enabled or not valid:
        return {k: 1.0 for k in lufs}
    common = min(valid.values())
    return {k: (10.0 ** ((common - valid[k]) / 20.0) if k in valid else 1.0) for k in lufs}


def _with_gains(src: _Sources, enabled: bool) -> _Sources:
    gains = matched_gains(src.lufs, enabled)
    overlay_gain = gains.get("result", 1.0)
    valid = [v for v in src.lufs.values() if _valid(v)]
    if enabled and valid and _valid(src.overlay_lufs):
        overlay_gain = 10.0 ** ((min(valid) - src.overlay_lufs) / 20.0)
    return replace(src, gains=gains, overlay_gain=overlay_gain)


class Player:
    """Plays one of several equally-timed sources through an :class:`AudioOutput`."""

    def __init__(
        self, output: AudioOutput, *, crossfade_ms: float = 10.0, max_block: int = 8192
    ) -> None:
        self.output = output
        self.crossfade_ms = crossfade_ms
        self._max_block = max_block
        self._src = _Sources()
        self._loudness_match = True
        self._fade_len = 1
        self._ramp_up = np.ones((1, 1), dtype=np.float32)
        self._ramp_down = np.zeros((1, 1), dtype=np.float32)
        self._scratch = np.zeros((max_block, CHANNELS), dtype=np.float32)
        # requests from the GUI thread
        self._req_role = "target"
        self._req_playing = False
        self._seek_serial = 0
        self._seek_target = 0
        self._loop = (0, 0)
        self._looping = False
        # owned by the callback
        self._role = "target"
        self._playing = False
        self._pos = 0
        self._seek_done = 0
        self._fade_left = 0
        self._fade_role: str | None = None
        self._fade_pos = 0

    # -- GUI thread API ----------------------------------------------------------------------

    def set_sources(self, sample_rate: int, audio: dict[str, F32], lufs: dict[str, float]) -> None:
        """Replace every source (``(frames, 2)`` float32) and their integrated loudness."""
        for role, a in audio.items():
            if a.dtype != np.float32 or a.ndim != 2 or a.shape[1] != CHANNELS:
                raise ValueError(f"{role}: expected (frames, 2) float32, got {a.dtype} {a.shape}")
        rate_changed = sample_rate != self._src.sample_rate
        if rate_changed:
            self.output.stop()  # the callback must not see half-updated ramps
            self._fade_len = max(1, int(round(sample_rate * self.crossfade_ms / 1000.0)))
            t = (np.arange(self._fade_len, dtype=np.float32) + 0.5) / self._fade_len
            # raised-cosine, gains sum to 1: no level bump between correlated sources
            # (target and result differ only by the match)
            up = (0.5 - 0.5 * np.cos(np.pi * t)).astype(np.float32)
            self._ramp_up = up[:, None].copy()
            self._ramp_down = (1.0 - up).astype(np.float32)[:, None]
        lufs = {k: lufs.get(k, float("nan")) for k in audio}
        self._src = _with_gains(_Sources(sample_rate, dict(audio), lufs), self._loudness_match)
        if sample_rate > 0 and (rate_changed or not self.output.running):
            self.output.start(sample_rate, CHANNELS, self.render)

    def restart_output(self) -> None:
        """Reopen the output stream (after a device change)."""
        self._req_playing = False
        self.output.stop()
        if self._src.sample_rate > 0:
            self.output.start(self._src.sample_rate, CHANNELS, self.render)

    def clear(self) -> None:
        """Drop every source and stop."""
        self._req_playing = False
        self._src = replace(self._src, audio={}, lufs={}, gains={}, overlay=None)
        self._pos = 0

    def set_overlay(self, start_frame: int, audio: F32 | None, lufs: float = float("nan")) -> None:
        """Play ``audio`` instead of the result from ``start_frame`` on (None: remove).

        ``lufs`` is the integrated loudness the whole result would have with this preview's
        settings; it sets the overlay's loudness-matched gain (default: the result's gain).
        """
        if audio is not None and (audio.dtype != np.float32 or audio.shape[1:] != (CHANNELS,)):
            raise ValueError(f"overlay: expected (frames, 2) float32, got {audio.shape}")
        src = replace(self._src, overlay_start=int(start_frame), overlay=audio, overlay_lufs=lufs)
        self._src = _with_gains(src, self._loudness_match)

    @property
    def overlay(self) -> tuple[int, F32 | None]:
        return self._src.overlay_start, self._src.overlay

    def set_loudness_match(self, enabled: bool) -> None:
        """Turn loudness-matched gains on or off."""
        self._loudness_match = enabled
        self._src = _with_gains(self._src, enabled)

    @property
    def loudness_match(self) -> bool:
        return self._loudness_match

    def gains(self) -> dict[str, float]:
        """The linear gain applied to each source (``overlay``: the preview in the result)."""
        return {**self._src.gains, "overlay": self._src.overlay_gain}

    def select(self, role: str) -> None:
        """Switch to ``role`` at the current position (crossfaded)."""
        self._req_role = role

    @property
    def role(self) -> str:
        """The role selected (playing or about to play)."""
        return self._req_role

    def has(self, role: str) -> bool:
        return role in self._src.audio

    def play(self) -> None:
        self._req_playing = True

    def pause(self) -> None:
        self._req_playing = False

    def toggle(self) -> None:
        self._req_playing = not self._req_playing

    @property
    def playing(self) -> bool:
        return self._req_playing

    def seek(self, frame: int) -> None:
        """Jump to ``frame`` (crossfaded while playing)."""
        self._seek_target = max(0, int(frame))
        self._seek_serial += 1
        if not self._req_playing and not self._playing:
            self._pos = min(self._seek_target, self._src.length)

    def seek_s(self, seconds: float) -> None:
        self.seek(int(round(seconds * self._src.sample_rate)))

    def set_loop(self, start_frame: int, end_frame: int) -> None:
        """The loop region in frames (used while looping is on)."""
        start, end = sorted((max(0, int(start_frame)), max(0, int(end_frame))))
        self._loop = (start, end)

    @property
    def loop(self) -> tuple[int, int]:
        return self._loop

    def set_looping(self, enabled: bool) -> None:
        self._looping = enabled

    @property
    def looping(self) -> bool:
        return self._looping

    @property
    def position(self) -> int:
        """The playback position in frames."""
        return self._pos

    @property
    def sample_rate(self) -> int:
        return self._src.sample_rate

    @property
    def length(self) -> int:
        return self._src.length

    def close(self) -> None:
        self._req_playing = False
        self.output.stop()

    # -- audio thread ------------------------------------------------------------------------

    def render(self, out: F32) -> None:
        """Fill ``out`` (frames, 2) with the next block; the output callback."""
        n_total = len(out)
        done = 0
        while done < n_total:
            n = min(n_total - done, self._max_block)
            self._render_block(out[done : done + n])
            done += n

    def _start_fade(self, role: str | None, pos: int) -> None:
        self._fade_role, self._fade_pos, self._fade_left = role, pos, self._fade_len

    def _render_block(self, out: F32) -> None:
        out.fill(0.0)
        src = self._src
        length = src.length
        if length == 0:
            return
        if self._seek_serial != self._seek_done:
            self._seek_done = self._seek_serial
            if self._playing:
                self._start_fade(self._role, self._pos)
            self._pos = min(self._seek_target, length)
        req_role = self._req_role
        if req_role != self._role and req_role in src.audio:
            if self._playing:
                self._start_fade(self._role, self._pos)
            self._role = req_role
        fading_out = False
        if self._req_playing != self._playing:
            if self._req_playing:
                self._playing = True
                if self._pos >= length:
                    self._pos = self._loop[0] if self._looping else 0
                self._start_fade(None, 0)
            else:
                self._playing = False
                fading_out = True
        if not self._playing and not fading_out:
            return
        start_pos = self._pos
        self._play_into(out, src, length)
        if fading_out:
            f = min(len(out), self._fade_len)
            np.multiply(out[:f], self._ramp_down[:f], out=out[:f])
            out[f:] = 0.0
            self._pos = min(start_pos + f, length)
            self._fade_left = 0

    def _play_into(self, out: F32, src: _Sources, length: int) -> None:
        n = len(out)
        pos = self._pos
        ls, le = self._loop
        looping = self._looping and le - ls >= 2 * self._fade_len and le <= length
        done = 0
        while done < n:
            if pos >= length:
                if looping:
                    self._start_fade(None, 0)
                    pos = ls
                else:
                    self._playing = False
                    self._req_playing = False
                    break
            seg = min(n - done, length - pos)
            if looping and ls <= pos < le:
                seg = min(seg, le - pos)
            dst = out[done : done + seg]
            self._read(src, self._role, pos, dst)
            if self._fade_left > 0:
                f = min(seg, self._fade_left)
                k = self._fade_len - self._fade_left
                tmp = self._scratch[:f]
                self._read(src, self._fade_role, self._fade_pos, tmp)
                np.multiply(dst[:f], self._ramp_up[k : k + f], out=dst[:f])
                np.multiply(tmp, self._ramp_down[k : k + f], out=tmp)
                np.add(dst[:f], tmp, out=dst[:f])
                self._fade_pos += f
                self._fade_left -= f
            pos += seg
            done += seg
            if looping and pos == le:
                self._start_fade(self._role, pos)
                pos = ls
        self._pos = pos

    @staticmethod
    def _read(src: _Sources, role: str | None, pos: int, dst: F32) -> None:
        """``dst[:] = gain * source[pos : pos + len(dst)]`` (zeros past the end; wraps)."""
        a = src.audio.get(role) if role is not None else None
        n = len(dst)
        if a is None or len(a) == 0:
            dst.fill(0.0)
            return
        g = src.gains.get(role, 1.0) if role is not None else 1.0
        size = len(a)
        if size >= src.length:
            if pos >= size:
                dst.fill(0.0)
                return
            m = min(n, size - pos)
            np.multiply(a[pos : pos + m], g, out=dst[:m])
            if m < n:
                dst[m:] = 0.0
        else:
            i, p = 0, pos % size
            while i < n:
                m = min(n - i, size - p)
                np.multiply(a[p : p + m], g, out=dst[i : i + m])
                i += m
                p = 0
        ov = src.overlay
        if role == "result" and ov is not None:
            a0 = max(pos, src.overlay_start)
            b0 = min(pos + n, src.overlay_start + len(ov))
            if b0 > a0:
                o = src.overlay_start
                og = src.overlay_gain
                np.multiply(ov[a0 - o : b0 - o], og, out=dst[a0 - pos : b0 - pos])
