"""Direct-to-storage uploads with temporary credentials, cut off half-way.

The storage (moto) drops the connection of every part upload from part 3 on, until the client
comes back asking what is stored. The upload must then complete without sending again any part
the storage already holds (counted per part number at the storage), the stored object must be
byte-identical, and the job must be accepted. S3 goes through boto3 with AssumeRole credentials;
COS through cos-python-sdk-v5 with (fake) Tencent STS keys against moto's S3.
"""

from __future__ import annotations

import hashlib
import json
import logging
import stat
from pathlib import Path

import pytest

from cloud.client import CloudClient
from cloud.tokens import MemoryStore
from cloud.transfer import TransferOptions
from tests.cloud.conftest import (
    CloudHome,
    FakeTencentSts,
    MotoStorage,
    assert_no_secrets,
    cos_env,
    report,
    s3_env,
    served,
)
from tests.server.conftest import PASSWORD, bucket_prefix

pytestmark = pytest.mark.timeout(120)


def _upload_cut_and_resume(
    client: CloudClient, moto: MotoStorage, audio: Path, ref: Path
) -> tuple[list[str], list[float]]:
    """Upload ``audio`` with a cut at part 3, then ``ref`` normally; their keys."""
    progress: list[float] = []
    moto.faults.reset()
    moto.faults.cut_at_part(3)
    (key,) = client.upload([audio], on_progress=lambda t: progress.append(t.fraction))
    moto.faults.cut_at_part(None)
    rounds = client.stats.upload.rounds
    summary = [(d.part, d.outcome) for d in moto.faults.data]
    assert rounds == 2, (rounds, summary, moto.faults.listings)  # one cut round, one resumed
    return [key, *client.upload([ref])], progress


def _check_resume(moto: MotoStorage, n_parts: int, key: str) -> dict[str, int]:
    f = moto.faults
    ok = f.successes(key)
    assert ok == {n: 1 for n in range(1, n_parts + 1)}, ok  # every part stored exactly once
    dropped = f.dropped()
    assert dropped and min(dropped) == 3, dropped  # the cut happened at part 3
    assert f.listings >= 1  # the client asked what was stored
    part_puts = [d for d in f.data if d.part is not None and key in d.path]
    return {
        "parts": n_parts,
        "part PUTs": len(part_puts),
        "dropped": len(dropped),
        "resent stored parts": sum(v - 1 for v in ok.values()),
    }


def test_s3_multipart_upload_resumes_after_a_cut(
    tmp_path: Path,
    moto_s3sts: MotoStorage,
    small_parts: int,
    cloud_audio: Path,
    cloud_home: CloudHome,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    sts_spy: list[str],
    token_spy: list[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    with served(tmp_path, workers=0, full=False, **s3_env(moto_s3sts, bucket_prefix())) as srv:
        opts = TransferOptions(part_size=small_parts, threads=1, sdk_retries=1)
        with CloudClient(srv.url, store=MemoryStore(), transfer_options=opts) as c:
            c.login(srv.user("s3"), PASSWORD)
            long, ref = cloud_audio / "long.wav", cloud_audio / "ref.wav"
            keys, progress = _upload_cut_and_resume(c, moto_s3sts, long, ref)
            n_parts = -(-long.stat().st_size // small_parts)
            figures = _check_resume(moto_s3sts, n_parts, keys[0])
            report(capsys, f"S3 (boto3) cut at part 3 of {n_parts}: {figures}")
            assert progress[-1] == 1.0
            assert c.stats.upload.parts_skipped == 2  # parts 1-2 found stored, not re-sent
            storage = srv.stack.core.storage
            assert storage.kind == "s3"
            body = storage.get_bytes(storage.bucket_audio, keys[0])
            assert hashlib.sha256(body).digest() == hashlib.sha256(long.read_bytes()).digest()
            acc = c.submit(keys[:1], keys[1:])  # the server accepts what was uploaded
            assert c.cancel(acc.id).state == "canceled"
    assert len(sts_spy) == 4  # two grants: secret key + session token each
    assert_no_secrets(sts_spy + token_spy, logs=caplog.text, files=cloud_home.files())


def test_cos_sdk_upload_resumes_after_a_cut(
    tmp_path: Path,
    moto_cos: MotoStorage,
    fake_tencent_sts: FakeTencentSts,
    small_parts: int,
    cloud_audio: Path,
    cloud_home: CloudHome,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    sts_spy: list[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    env = cos_env(moto_cos, fake_tencent_sts, bucket_prefix())
    with served(tmp_path, workers=0, full=False, **env) as srv:
        opts = TransferOptions(
            part_size=small_parts,
            threads=1,
            sdk_retries=1,  # the COS SDK sleeps 0, 1, 2... s between its own retries
            cos_address=("127.0.0.1", moto_cos.port),
        )
        with CloudClient(srv.url, store=MemoryStore(), transfer_options=opts) as c:
            c.login(srv.user("cos"), PASSWORD)
            long, ref = cloud_audio / "long.wav", cloud_audio / "ref.wav"
            keys, progress = _upload_cut_and_resume(c, moto_cos, long, ref)
            n_parts = -(-long.stat().st_size // small_parts)
            figures = _check_resume(moto_cos, n_parts, keys[0])
            report(capsys, f"COS (cos-python-sdk-v5) cut at part 3 of {n_parts}: {figures}")
            assert progress[-1] == 1.0
            storage = srv.stack.core.storage
            assert storage.kind == "cos"
            body = storage.get_bytes(storage.bucket_audio, keys[0])
            assert hashlib.sha256(body).digest() == hashlib.sha256(long.read_bytes()).digest()
            acc = c.submit(keys[:1], keys[1:])
            assert c.cancel(acc.id).state == "canceled"
    issued = [v for i in fake_tencent_sts.issued[-2:] for v in (i["TmpSecretKey"], i["Token"])]
    assert sts_spy == issued
    assert_no_secrets(sts_spy, logs=caplog.text, files=cloud_home.files())


def test_s3_presigned_post_without_sts(
    tmp_path: Path, moto_s3sts: MotoStorage, cloud_audio: Path, cloud_home: CloudHome
) -> None:
    """No STS configured: the grant holds presigned POST policies; the client sends the
    form (fields first, then the file) with progress."""
    env = s3_env(moto_s3sts, bucket_prefix(), sts=False)
    with (
        served(tmp_path, workers=0, full=False, **env) as srv,
        CloudClient(srv.url, store=MemoryStore()) as c,
    ):
        c.login(srv.user("post"), PASSWORD)
        seen: list[float] = []
        song, ref = cloud_audio / "song.wav", cloud_audio / "ref.wav"
        keys = c.upload([song, ref], on_progress=lambda t: seen.append(t.fraction))
        assert seen[-1] == 1.0 and seen == sorted(seen)
        storage = srv.stack.core.storage
        assert storage.get_bytes(storage.bucket_audio, keys[0]) == song.read_bytes()
        acc = c.submit(keys[:1], keys[1:], idempotency_key="same-key")
        again = c.submit(keys[:1], keys[1:], idempotency_key="same-key")
        assert again.id == acc.id  # a retried submit is the same job
        assert c.cancel(acc.id).state == "canceled"


class Killed(BaseException):
    """The process dies (power cut, kill -9) in the middle of an upload."""


def test_restarted_client_resumes_the_interrupted_upload(
    tmp_path: Path,
    moto_s3sts: MotoStorage,
    small_parts: int,
    cloud_audio: Path,
    cloud_home: CloudHome,
    sts_spy: list[str],
    token_spy: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A client dies after three parts; a new one (nothing in memory) uploading the same file
    renews the grant (same key, fresh credentials), finds the multipart upload and its parts at
    the storage and sends only the rest. The journal holds no secret and is gone afterwards."""
    env = s3_env(moto_s3sts, bucket_prefix())
    long = cloud_audio / "long.wav"
    n_parts = -(-long.stat().st_size // small_parts)
    opts = TransferOptions(part_size=small_parts, threads=1, sdk_retries=1)

    def die_after_three(t: object) -> None:
        if getattr(t, "done", 0) >= 3 * small_parts:
            raise Killed

    with served(tmp_path, workers=0, full=False, **env) as srv:
        user = srv.user("restart")
        moto_s3sts.faults.reset()
        first = CloudClient(srv.url, username=user, transfer_options=opts)
        first.login(user, PASSWORD)
        with pytest.raises(Killed):
            first.upload([long], on_progress=die_after_three)
        journal = cloud_home.config / "uploads.json"
        entry = json.loads(journal.read_text())[0]
        assert stat.S_IMODE(journal.stat().st_mode) == 0o600
        assert_no_secrets(sts_spy + token_spy, logs="", files=[journal])

        with CloudClient(srv.url, username=user, transfer_options=opts) as second:
            (key,) = second.upload([long])
            assert key == entry["files"][0]["key"]  # the same object, not a new one
            assert second.stats.upload.parts_skipped == 3
            assert second.stats.upload.parts_sent == n_parts - 3
        ok = moto_s3sts.faults.successes(key)
        assert ok == {n: 1 for n in range(1, n_parts + 1)}, ok
        report(capsys, f"restart after 3 of {n_parts} parts: 3 found stored, {n_parts - 3} sent")
        storage = srv.stack.core.storage
        assert storage.get_bytes(storage.bucket_audio, key) == long.read_bytes()
        assert not journal.exists()
        assert len(sts_spy) == 4  # the grant and its renewal
