"""Chunked rendering of long targets across workers equals the single-pass render.

The default test splits a 9-second file into 3 chunks (embedded, two in-process workers).
The slow test renders a 30-minute file across two worker processes (PostgreSQL + RabbitMQ),
compares it with the single pass (<= -80 dBFS) and times it against one worker without
chunking; ``pytest -m slow tests/server/test_chunked.py -s`` prints the figures.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import select

from engine.gains import rescue_fast_stages
from engine.matching import FAST_STAGE_DB, RESCUE_FAST_STAGE_DB, RESCUE_FAST_STAGE_MAX_DB
from engine.schema.options import MatchOptions
from server.db.models import Job, Task
from tests.server.conftest import (
    FullStack,
    Stack,
    codec_tp,
    local_match,
    make_music,
    make_settings,
    peak_diff_dbfs,
)

OPTIONS = {"target_lufs": -10.0}  # loud enough that the limiter and the dynamics work
# far past the limiter's threshold: the final check's true-peak dips and re-solves take part
LOUD = {"target_lufs": -6.0, "max_limiting_db": 18.0}


def _tasks(stack: Stack, job_id: str) -> list[tuple[str, int, str, int]]:
    with stack.core.db.session() as s:
        rows = s.execute(
            select(Task.kind, Task.chunk_index, Task.state, Task.attempt)
            .where(Task.job_id == job_id)
            .order_by(Task.created_at, Task.chunk_index)
        ).all()
    return [(str(a), int(b), str(c), int(d)) for a, b, c, d in rows]


@pytest.mark.parametrize("options", [OPTIONS, LOUD], ids=["default", "loud"])
def test_chunked_render_equals_single_pass(
    tmp_path: Path, audio_dir: Path, options: dict[str, float]
) -> None:
    st = Stack(make_settings(tmp_path / "data", CHUNK_MIN_S="6", CHUNK_S="3", EMBEDDED_WORKERS="2"))
    try:
        api = st.api("alice")
        long = make_music(tmp_path / "long.wav", 9.0, seed=7, level=0.2, channels=1)
        target, ref = api.upload(long, audio_dir / "mono_ref.wav")
        jid = api.submit([target], [ref], options=options, fmt="wav32f").json()["id"]
        view = api.wait(jid, timeout=240)
        assert view["state"] == "succeeded", view["error"]
        kinds = [k for k, *_ in _tasks(st, jid)]
        assert kinds == ["match"] + ["stats"] * 3 + ["gains", "join"]
        assert view["results"][0]["metrics"]["chunks"] == 3.0
        stage = view["results"][0]["metrics"]["fast_stage_db"]  # the plan's limiter stage
        stages = rescue_fast_stages(RESCUE_FAST_STAGE_DB, RESCUE_FAST_STAGE_MAX_DB, FAST_STAGE_DB)
        assert stage in [FAST_STAGE_DB, *stages]
        got = api.download_result(view, tmp_path / "chunked.wav")
        want = local_match(
            long,
            audio_dir / "mono_ref.wav",
            tmp_path / "single.wav",
            MatchOptions(**options),
            "wav32f",
        )
        diff = peak_diff_dbfs(got, want)
        print(f"\nchunked (3 chunks) vs single pass: {diff:.1f} dBFS")
        assert diff <= -80.0
        # the console's loudness table: target and reference as measured before the match
        from engine import facade as fa

        m = view["results"][0]["metrics"]
        for side, path in (("input", long), ("reference", audio_dir / "mono_ref.wav")):
            summary = fa.drive(fa.analyze_file(path)).summary
            assert m[f"{side}_lufs"] == pytest.approx(summary.integrated_lufs, abs=1e-6)
            assert m[f"{side}_true_peak_dbtp"] == pytest.approx(summary.true_peak_dbtp, abs=1e-6)
        # the work area of the chunks is cleaned up after the join
        storage: Any = st.core.storage
        assert storage.list_keys(storage.bucket_audio, f"work/{jid}/") == []
    finally:
        st.close()


def test_chunked_render_keeps_the_codec_safe_ceiling(tmp_path: Path, audio_dir: Path) -> None:
    """A chunked job with a codec-safe ceiling gets the local match's search: the same lowered
    ceiling in its preset and the same audio (the join re-renders the target as the CLI does)."""
    import json

    from engine import pipeline as pl

    options = {**LOUD, "codec_safe": "aac-256"}
    st = Stack(make_settings(tmp_path / "data", CHUNK_MIN_S="6", CHUNK_S="3", EMBEDDED_WORKERS="2"))
    try:
        api = st.api("alice")
        # bright: its AAC decode overshoots a -1 dBTP ceiling, so the search has work to do
        long = make_music(tmp_path / "long.wav", 9.0, seed=7, bright=0.6, level=0.2, channels=1)
        target, ref = api.upload(long, audio_dir / "mono_ref.wav")
        jid = api.submit([target], [ref], options=options, fmt="wav32f").json()["id"]
        view = api.wait(jid, timeout=240)
        assert view["state"] == "succeeded", view["error"]
        assert [k for k, *_ in _tasks(st, jid)] == ["match"] + ["stats"] * 3 + ["gains", "join"]
        got = api.download_result(view, tmp_path / "chunked.wav")
        preset = json.loads(api.fetch(view["results"][0]["preset_url"]))
        want, want_preset = tmp_path / "single.wav", tmp_path / "single.json"
        pl.drive(
            pl.match_files(
                [long],
                [audio_dir / "mono_ref.wav"],
                [want],
                MatchOptions(**options),
                fmt="wav32f",
                force=True,
                preset_out=want_preset,
            )
        )
        ceiling = json.loads(want_preset.read_text())["limiter"]["ceiling_dbtp"]
        assert ceiling < -1.0  # the local search lowered it: the test means something
        # the same search: the chunked join's files differ from the single pass's far below
        # the codec's resolution, so its measurements and ceilings agree to well under 0.01 dB
        assert preset["limiter"]["ceiling_dbtp"] == pytest.approx(ceiling, abs=1e-3)
        diff = peak_diff_dbfs(got, want)
        print(f"\ncodec-safe, chunked vs single pass: {diff:.1f} dBFS, ceiling {ceiling:.2f}")
        assert diff <= -80.0
        # the job reports what the search did: its ceiling and the result's true peak after
        # the codec, as an independent encode/decode of the downloaded file measures it
        m = view["results"][0]["metrics"]
        assert m["codec_safe_ceiling_dbtp"] == preset["limiter"]["ceiling_dbtp"]
        assert m["codec_true_peak_dbtp"] == pytest.approx(codec_tp(got, "aac-256"), abs=0.006)
        assert m["codec_true_peak_dbtp"] <= -1.0
    finally:
        st.close()


def write_long(path: Path, minutes: float, sr: int = 44100) -> Path:
    """A long stereo file written in blocks (bounded memory)."""
    rng = np.random.default_rng(11)
    n = int(minutes * 60 * sr)
    block = sr * 10
    with sf.SoundFile(str(path), "w", sr, 2, subtype="PCM_24") as f:
        phase = 0.0
        for start in range(0, n, block):
            m = min(block, n - start)
            t = (start + np.arange(m)) / sr
            tone = np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 3300 * t + phase)
            env = 0.55 + 0.45 * np.sin(2 * np.pi * t / 7.0) ** 2
            noise = rng.standard_normal((m, 2)) * 0.25
            x = 0.18 * (tone[:, None] * np.array([[1.0, 0.85]]) + noise) * env[:, None]
            f.write(x)
    return path


@pytest.mark.slow
@pytest.mark.services
def test_thirty_minutes_across_two_workers(
    pg_url: str, amqp_url: str, queue_name: str, tmp_path: Path, audio_dir: Path
) -> None:
    long = write_long(tmp_path / "long.wav", 30.0)
    ref = audio_dir / "reference.wav"
    env = {"DB_URL": pg_url, "QUEUE_URL": amqp_url, "QUEUE_NAME": queue_name}
    timings: dict[str, float] = {}
    outputs: dict[str, Path] = {}
    for name, workers, chunked in (
        ("one worker, single pass", 1, "0"),
        ("two workers, chunked", 2, "1"),
    ):
        s = make_settings(
            tmp_path / name.replace(" ", "_").replace(",", ""),
            **env,
            CHUNK_ENABLED=chunked,
            CHUNK_MIN_S="600",
            CHUNK_S="300",
            LEASE_S="30",
            HEARTBEAT_S="5",
            SANDBOX_TIMEOUT_S="3600",
            SANDBOX_MEM_MB="6144",
        )
        st = FullStack(s, tmp_path / f"procs{workers}", workers=workers, shared_data=True)
        try:
            api = st.api("alice")
            target, r = api.upload(long, ref)
            jid = api.submit([target], [r], options=OPTIONS, fmt="wav32f").json()["id"]
            view = api.wait(jid, timeout=3000)
            assert view["state"] == "succeeded", view["error"]
            with st.core.db.session() as sess:
                job = sess.get(Job, jid)
                assert job is not None and job.finished_at and job.started_at
                timings[name] = job.finished_at - job.created_at
            outputs[name] = api.download_result(view, tmp_path / f"{workers}.wav")
            print(f"\n{name}: {timings[name]:.1f} s, tasks {len(_tasks(st, jid))}")
        finally:
            st.close()
    diff = peak_diff_dbfs(outputs["one worker, single pass"], outputs["two workers, chunked"])
    speedup = timings["one worker, single pass"] / timings["two workers, chunked"]
    print(f"30-min render: chunked vs single pass {diff:.1f} dBFS, speed-up x{speedup:.2f}")
    assert diff <= -80.0
    # Two workers need two free cores to beat one: on a small shared machine (this one has
    # 2 cores for several people) the figure is reported, not asserted.
    if (os.cpu_count() or 1) >= 4 and os.getloadavg()[0] < 1.0:
        assert timings["two workers, chunked"] < timings["one worker, single pass"]
