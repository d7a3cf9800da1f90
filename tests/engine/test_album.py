"""Album mode keeps the album's loudness spread and gives the tracks one tonal signature."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.album import AlbumOptions
from engine.analysis.loudness import integrated_lufs
from engine.cli import main
from engine.pipeline import analyze_file, drive, match_files
from tests.engine.conftest import SR, biquad, pinkish

LEVELS = [-20.0, -21.0, -22.0, -23.0, -24.0, -22.5]  # a built-in 4 LU spread
TILTS = [(150.0, 4.0), (150.0, -3.0), (400.0, 0.0), (300.0, 2.5), (200.0, -4.0), (250.0, 1.0)]


def _track(i: int) -> np.ndarray:
    x = pinkish(SR * 6, seed=40 + i)
    x = biquad(x, "low_shelf", TILTS[i][0], TILTS[i][1], 0.7)
    x = biquad(x, "high_shelf", 5000.0, -TILTS[i][1], 0.7)
    x *= (1.0 + 0.5 * np.sin(2 * np.pi * 0.4 * np.arange(len(x)) / SR))[:, None]
    return x * 10 ** ((LEVELS[i] - integrated_lufs(x, SR)) / 20)


@pytest.fixture(scope="module")
def album_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("album")
    for i in range(6):
        sf.write(d / f"t{i}.wav", _track(i), SR, subtype="FLOAT")
    ref = biquad(pinkish(SR * 6, seed=99), "high_shelf", 4000.0, 3.0, 0.7)
    sf.write(
        d / "ref.wav", ref * 10 ** ((-16.0 - integrated_lufs(ref, SR)) / 20), SR, subtype="FLOAT"
    )
    return d


def _targets(d: Path) -> list[str]:
    return [str(d / f"t{i}.wav") for i in range(6)]


def test_album_keeps_the_spread_and_tightens_the_tone(album_dir: Path) -> None:
    d = album_dir
    res = drive(
        match_files(
            _targets(d),
            [str(d / "ref.wav")],
            [str(d / f"album{i}.wav") for i in range(6)],
            force=True,
            album=AlbumOptions(),
            report_out=str(d / "album.json"),
        )
    )
    table = res[0].extra["album"]
    assert abs(table["before"]["spread_lu"] - 4.0) < 0.01
    assert abs(table["after"]["spread_lu"] - 4.0) <= 0.3
    # each track keeps its offset from the album loudness
    before = [r["lufs"] for r in table["before"]["tracks"]]
    after = [r["lufs"] for r in table["after"]["tracks"]]
    assert np.max(np.abs(np.diff(after) - np.diff(before))) <= 0.3
    # the album as a whole goes to the reference's loudness (-16 LUFS)
    assert abs(table["after"]["album_lufs"] - (-16.0)) < 0.5
    # alone: every track matched on its own
    alone = drive(
        match_files(
            _targets(d),
            [str(d / "ref.wav")],
            [str(d / f"alone{i}.wav") for i in range(6)],
            force=True,
        )
    )
    from engine.album import album_table

    outs = [drive(analyze_file(r.output)) for r in alone]
    t_alone = album_table([r.target.name for r in alone], outs)
    print(
        "album spread in/out",
        table["before"]["spread_lu"],
        table["after"]["spread_lu"],
        "| tonal distance to album mean: input",
        table["before"]["mean_tonal_distance_db"],
        "album",
        table["after"]["mean_tonal_distance_db"],
        "alone",
        t_alone["mean_tonal_distance_db"],
        "| alone spread",
        t_alone["spread_lu"],
    )
    assert table["after"]["mean_tonal_distance_db"] < t_alone["mean_tonal_distance_db"]
    assert table["after"]["mean_tonal_distance_db"] < table["before"]["mean_tonal_distance_db"]
    rows = table["after"]["tracks"]
    assert [r["track"] for r in rows] == [f"t{i}.wav" for i in range(6)]
    assert all({"lufs", "lra_lu", "true_peak_dbtp", "tonal_distance_db"} <= set(r) for r in rows)
    import json

    saved = json.loads((d / "album.json").read_text(encoding="utf-8"))
    assert saved["kind"] == "audio-style-album-report" and len(saved["after"]["tracks"]) == 6
    assert json.loads((d / "album.t0.json").read_text(encoding="utf-8"))["album"] == saved


def test_album_flattened_puts_every_track_at_the_goal(
    album_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = album_dir
    code = main(
        [
            "--lang",
            "en",
            "match",
            *_targets(d)[:3],
            "--reference",
            str(d / "ref.wav"),
            "-o",
            str(d / "flat"),
            "--album",
            "--album-spread",
            "0",
            "-q",
            "--force",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "album:" in out and out.count("tonal distance to the album") == 3
    levels = [
        drive(analyze_file(d / "flat" / f"t{i}.wav")).summary.integrated_lufs for i in range(3)
    ]
    assert max(levels) - min(levels) < 0.3
    assert (
        main(
            [
                "match",
                *_targets(d)[:2],
                "-r",
                str(d / "ref.wav"),
                "-o",
                str(d / "x"),
                "--album",
                "--album-spread",
                "150",
            ]
        )
        == 2
    )


def test_a_track_short_of_its_target_lowers_the_album(tmp_path: Path) -> None:
    """At a -8 LUFS goal the loudest noise track (+2 LU over the album) needs more limiting
    than the render allows and stays short; the others follow it down, the spread holds."""
    from engine.schema.options import MatchOptions

    targets = []
    for i, level in enumerate([-20.0, -22.0, -24.0]):
        x = pinkish(SR * 6, seed=60 + i)
        sf.write(
            tmp_path / f"n{i}.wav",
            x * 10 ** ((level - integrated_lufs(x, SR)) / 20),
            SR,
            subtype="FLOAT",
        )
        targets.append(str(tmp_path / f"n{i}.wav"))
    sf.write(tmp_path / "ref.wav", pinkish(SR * 6, seed=69) * 0.3, SR, subtype="FLOAT")
    res = drive(
        match_files(
            targets,
            [str(tmp_path / "ref.wav")],
            [str(tmp_path / f"o{i}.wav") for i in range(3)],
            MatchOptions(target_lufs=-8.0),
            force=True,
            album=AlbumOptions(),
        )
    )
    short = res[0].preset.loudness.target_lufs - res[0].render.stats.output_lufs
    assert short > 0.5  # the case this test is about
    table = res[0].extra["album"]
    assert abs(table["after"]["spread_lu"] - 4.0) <= 0.3
