"""Full stack: PostgreSQL + RabbitMQ + moto's S3 over HTTP, worker processes; COS via its SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.schema.options import MatchOptions
from tests.server.conftest import (
    FullStack,
    MotoServer,
    Stack,
    bucket_prefix,
    cos_env,
    local_match,
    make_settings,
    peak_diff_dbfs,
)

pytestmark = pytest.mark.services


def test_full_stack_roundtrip_equals_local_engine(
    full_stack: FullStack, audio_dir: Path, tmp_path: Path
) -> None:
    api = full_stack.api("alice")
    health = full_stack.client.get("/health").json()
    assert health["mode"] == "full" and health["status"] == "ok", health
    target, ref = api.upload(audio_dir / "mono.wav", audio_dir / "mono_ref.wav")
    job = api.submit([target], [ref], fmt="wav32f", key="rt-1").json()
    view = api.wait(job["id"], timeout=120)
    assert view["state"] == "succeeded", (view["error"], full_stack.procs[0].tail())
    res = view["results"][0]
    assert res["audio_url"].startswith(full_stack.settings.s3_endpoint or "")
    got = api.download_result(view, tmp_path / "server.wav")
    want = local_match(
        audio_dir / "mono.wav",
        audio_dir / "mono_ref.wav",
        tmp_path / "local.wav",
        MatchOptions(),
        "wav32f",
    )
    assert peak_diff_dbfs(got, want) <= -90.0
    assert json.loads(api.fetch(res["preset_url"]))["kind"] == "audio-style-preset"
    assert api.fetch(res["viz_url"])[:4] == b"\x89PNG"


@pytest.fixture
def cos_stack(moto: MotoServer, tmp_path: Path) -> Iterator[Stack]:
    """Embedded database and queue, COS storage through the COS SDK against moto."""
    st = Stack(make_settings(tmp_path / "data", **cos_env(moto, bucket_prefix())))
    yield st
    st.close()


def test_cos_backend_roundtrip(cos_stack: Stack, audio_dir: Path, tmp_path: Path) -> None:
    storage = cos_stack.core.storage
    assert storage.kind == "cos"
    api = cos_stack.api("alice")
    target, ref = api.upload(audio_dir / "mono.wav", audio_dir / "mono_ref.wav")
    info = storage.head(storage.bucket_audio, target)
    assert info is not None and info.size == (audio_dir / "mono.wav").stat().st_size
    assert storage.list_keys(storage.bucket_audio, target.rsplit("/", 1)[0] + "/") == sorted(
        [target, ref]
    )
    # a presigned COS URL names the object: accepted as a job source
    url = storage.presign_get(storage.bucket_audio, target, 600)
    assert ".cos.ap-guangzhou.myqcloud.com/" in url and "q-signature=" in url
    job = api.submit([url], [ref], fmt="wav32f").json()
    view = api.wait(job["id"], timeout=120)
    assert view["state"] == "succeeded", view
    assert view["spec"]["targets"] == [target]
    got = api.download_result(view, tmp_path / "cos.wav")
    want = local_match(
        audio_dir / "mono.wav",
        audio_dir / "mono_ref.wav",
        tmp_path / "local.wav",
        MatchOptions(),
        "wav32f",
    )
    assert peak_diff_dbfs(got, want) <= -90.0
    storage.delete(storage.bucket_audio, [ref])
    assert storage.head(storage.bucket_audio, ref) is None
