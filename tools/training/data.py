"""Analysis of a music folder into 20 s segments: the *content* statistics that the synthetic
pairs are built from (spectra are linear in an EQ, so styles are applied afterwards)."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

import numpy as np
import soundfile as sf
import soxr
from numpy.typing import NDArray

from engine.analysis import analyze_array
from engine.analysis.spectrum import log_grid

F64 = NDArray[np.float64]
SAMPLE_RATE = 44100
SEGMENT_S = 20.0
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".aiff", ".aif", ".mp3")


@dataclass
class Segments:
    """Per-segment content statistics; ``track`` and ``group`` index the source files."""

    freqs_hz: F64
    mid_db: F64  # (n, grid)
    side_db: F64  # (n, grid)
    energies: list[F64]  # K-weighted 100 ms energies per segment
    lufs: F64
    track: NDArray[np.int64]
    group: list[str]
    names: list[str]
    st_raw: list[F64] = field(default_factory=list)  # filled by synth.make_dataset
    fine: list[F64] = field(default_factory=list)


def music_files(folder: str) -> list[str]:
    """Audio files under ``folder`` (recursive), sorted for reproducibility."""
    files = glob.glob(os.path.join(folder, "**", "*"), recursive=True)
    return sorted(f for f in files if f.lower().endswith(AUDIO_EXTENSIONS))


def collect(files: list[str], max_segments_per_track: int = 12) -> Segments:
    """Decode each file, resample to 44.1 kHz stereo and analyse up to
    ``max_segments_per_track`` evenly spaced 20 s segments."""
    freqs = log_grid(SAMPLE_RATE)
    mids, sides, energies, lufs, track, names = [], [], [], [], [], []
    seg = int(SEGMENT_S * SAMPLE_RATE)
    for ti, path in enumerate(files):
        x, sr = sf.read(path, always_2d=True, dtype="float64")
        if x.shape[1] == 1:
            x = np.repeat(x, 2, axis=1)
        x = x[:, :2]
        if sr != SAMPLE_RATE:
            x = soxr.resample(x, sr, SAMPLE_RATE)
        n = len(x) // seg
        if n == 0:
            continue
        starts = np.unique(np.linspace(0, n - 1, min(n, max_segments_per_track)).astype(int))
        for s in starts:
            a = analyze_array(x[s * seg : (s + 1) * seg], SAMPLE_RATE)
            if not np.isfinite(a.summary.integrated_lufs) or a.summary.integrated_lufs < -45:
                continue
            f = a.freqs_hz
            mids.append(np.interp(np.log(freqs), np.log(f), a.mid_raw_db))
            side = a.side_raw_db if a.side_raw_db is not None else a.mid_raw_db - 60.0
            sides.append(np.interp(np.log(freqs), np.log(f), side))
            energies.append(a.momentary_energies.copy())
            lufs.append(a.summary.integrated_lufs)
            track.append(ti)
            names.append(f"{os.path.basename(path)}@{s * SEGMENT_S:.0f}s")
    groups = [os.path.basename(os.path.dirname(f)) or "music" for f in files]
    return Segments(
        freqs,
        np.array(mids),
        np.array(sides),
        energies,
        np.array(lufs),
        np.array(track, dtype=np.int64),
        groups,
        names,
    )


def collect_cached(files: list[str], cache: str) -> Segments:
    """:func:`collect`, reusing ``cache`` (npz) when it was made from the same files."""
    names = [os.path.basename(f) for f in files]
    if cache and os.path.isfile(cache):
        z = np.load(cache, allow_pickle=False)
        if list(z["files"]) == names:
            n = int(z["energy_len"][0])
            flat = z["energies"]
            energies = [flat[i * n : (i + 1) * n] for i in range(len(z["lufs"]))]
            return Segments(
                z["freqs_hz"],
                z["mid_db"],
                z["side_db"],
                energies,
                z["lufs"],
                z["track"],
                list(z["group"]),
                list(z["names"]),
            )
    seg = collect(files)
    if cache:
        n = min(len(e) for e in seg.energies)
        os.makedirs(os.path.dirname(os.path.abspath(cache)), exist_ok=True)
        np.savez(
            cache,
            files=np.array(names),
            freqs_hz=seg.freqs_hz,
            mid_db=seg.mid_db,
            side_db=seg.side_db,
            energies=np.concatenate([e[:n] for e in seg.energies]),
            energy_len=np.array([n]),
            lufs=seg.lufs,
            track=seg.track,
            group=np.array(seg.group),
            names=np.array(seg.names),
        )
    return seg
