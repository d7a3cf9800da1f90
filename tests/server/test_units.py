"""Fast unit tests of the server's parts (no services, no engine runs)."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from urllib.parse import unquote

import httpx
import numpy as np
import pytest

from server.api.magic import looks_like_audio
from server.config import load_settings, read_env_file
from server.storage.base import owner_of, valid_key
from server.storage.local import LocalStorage
from server.storage.s3 import upload_session_policy
from server.storage.tencent_sts import cos_upload_policy, get_federation_token, tc3_headers
from server.worker.png import encode_png, plot_curves
from tests.server.conftest import ROOT


def test_no_configuration_means_embedded(tmp_path: Path) -> None:
    s = load_settings(tmp_path, env={})
    assert s.embedded and s.storage_backend == "local"
    assert s.db_url == f"sqlite:///{tmp_path / 'audio-style.db'}"
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600
    assert load_settings(tmp_path, env={}).jwt_secret == s.jwt_secret  # persisted


def test_env_file_switches_to_full_stack(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "# deployment guide variables\n"
        "APP_ENV=prod\n"
        "JWT_SECRET='s3cret value'\n"
        "DB_URL=postgresql://user:pass@postgres:5432/audio\n"
        "export QUEUE_URL=amqp://user:pass@rabbitmq:5672/\n"
        "S3_ENDPOINT=http://minio:9000  # internal\n"
        "S3_ACCESS_KEY=xxx\nS3_SECRET_KEY=yyy\n"
        "S3_BUCKET_AUDIO=audio\nS3_BUCKET_PRESET=preset\nS3_BUCKET_VIZ=viz\n"
        "ENABLE_GPU=false\n"
    )
    assert read_env_file(env)["S3_ENDPOINT"] == "http://minio:9000"
    s = load_settings(tmp_path, env={"QUEUE_NAME": "q"}, env_file=env)
    assert not s.embedded and s.storage_backend == "s3" and s.app_env == "prod"
    assert s.db_url == "postgresql+psycopg://user:pass@postgres:5432/audio"
    assert s.jwt_secret == "s3cret value" and s.queue_name == "q"
    assert s.extra["ENABLE_GPU"] == "false"
    cos = load_settings(
        tmp_path, env={"S3_ENDPOINT": "https://cos.ap-shanghai.myqcloud.com", "JWT_SECRET": "x"}
    )
    assert cos.storage_backend == "cos" and cos.s3_region == "ap-shanghai"


def test_keys_and_owners() -> None:
    assert valid_key("uploads/u1/up/0.wav")
    for bad in ("../x", "uploads//x", "uploads/./x", "/abs", "uploads/u/..", "a b", "", "x\x00"):
        assert not valid_key(bad), bad
    assert owner_of("uploads/u1/up/0.wav") == "u1"
    assert owner_of("results/u2/j/a/0.wav") == "u2"
    assert owner_of("work/j/t0/x") is None


def test_magic_bytes() -> None:
    assert looks_like_audio(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    assert looks_like_audio(b"fLaC\x00\x00\x00\x22" + b"\0" * 8)
    assert looks_like_audio(b"OggS" + b"\0" * 12)
    assert looks_like_audio(b"ID3\x04" + b"\0" * 12)
    assert looks_like_audio(b"FORM\x00\x00\x00\x00AIFF")
    assert looks_like_audio(bytes([0xFF, 0xFB, 0x90, 0x00]) + b"\0" * 12)
    assert looks_like_audio(b"\0\0\0\x1cftypM4A " + b"\0" * 8)
    assert looks_like_audio(bytes([0xFF, 0xF1, 0x50, 0x80]) + b"\0" * 12)  # ADTS AAC
    assert looks_like_audio(bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c"))
    for bad in (b"<html>" + b"\0" * 10, b"PK\x03\x04" + b"\0" * 12, b"RIFF\0\0\0\0AVI ", b"x"):
        assert not looks_like_audio(bad)


def test_png_encoder_and_plot() -> None:
    img = np.zeros((3, 4, 3), dtype=np.uint8)
    img[1, 2] = (255, 0, 0)
    png = encode_png(img)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", png[16:24])
    assert (w, h) == (4, 3)
    idat_len = struct.unpack(">I", png[33:37])[0]
    raw = zlib.decompress(png[41 : 41 + idat_len])
    assert raw[1 * (1 + 12) + 1 + 2 * 3 : 1 * (1 + 12) + 1 + 2 * 3 + 3] == b"\xff\x00\x00"
    plot = plot_curves([([20.0, 1000.0, 20000.0], [3.0, -2.0, 6.0])], width=200, height=100)
    assert plot.startswith(b"\x89PNG") and len(plot) > 100


def test_local_signed_urls(tmp_path: Path) -> None:
    st = LocalStorage(tmp_path, "secret", "http://h:1", "audio", "preset", "viz")
    url = st.signed_url("get", "audio", "uploads/u/a.wav", 60)
    assert st.parse_signed_url(url) == ("audio", "uploads/u/a.wav")
    assert st.parse_signed_url(url.replace("http://h:1", "http://h:2")) is None
    assert st.parse_signed_url(url.replace("uploads/u/a", "uploads/v/a")) is None
    expired = st.signed_url("get", "audio", "uploads/u/a.wav", -1)
    assert st.parse_signed_url(expired) is None
    put = st.signed_url("put", "audio", "uploads/u/a.wav", 60, 1000)
    q = dict(p.split("=", 1) for p in put.split("?", 1)[1].split("&"))
    assert st.verify("put", "audio", "uploads/u/a.wav", q["exp"], q["sig"], q["max"]) == 1000
    assert st.verify("put", "audio", "uploads/u/a.wav", q["exp"], q["sig"], "5000") is None
    with pytest.raises(ValueError):
        st.put_stream("audio", "uploads/u/b.wav", [b"x" * 600, b"y" * 600], 1000)
    assert st.head("audio", "uploads/u/b.wav") is None


def test_upload_policies_are_least_privilege() -> None:
    p = upload_session_policy("audio", "uploads/u/up/")
    actions = {a for s in p["Statement"] for a in s["Action"]}
    assert actions == {
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
        "s3:ListBucketMultipartUploads",
    }
    assert p["Statement"][0]["Resource"] == ["arn:aws:s3:::audio/uploads/u/up/*"]
    c = cos_upload_policy("ap-guangzhou", "", "audio-1250000000", "uploads/u/up/", 1000)
    for st in c["statement"]:
        assert st["resource"] == [
            "qcs::cos:ap-guangzhou:uid/1250000000:audio-1250000000/uploads/u/up/*"
        ]
        assert not any("Get" in a or "Delete" in a or a.endswith(":*") for a in st["action"])
    assert c["statement"][0]["condition"] == {
        "numeric_less_than_equal": {"cos:content-length": 1000}
    }


def test_tencent_sts_request_is_signed_tc3() -> None:
    """GetFederationToken: TC3-HMAC-SHA256 over the exact body, policy URL-encoded."""
    seen: dict[str, object] = {}

    def handler(req: httpx.Request) -> httpx.Response:
        body = req.content.decode()
        h = req.headers
        ts = int(h["x-tc-timestamp"])
        expect = tc3_headers(
            "AKIDx",
            "key",
            "https://sts.tencentcloudapi.com",
            "sts",
            "GetFederationToken",
            "ap-guangzhou",
            body,
            ts,
        )
        seen["auth_ok"] = h["authorization"] == expect["Authorization"]
        seen["policy"] = json.loads(unquote(json.loads(body)["Policy"]))
        seen["duration"] = json.loads(body)["DurationSeconds"]
        return httpx.Response(
            200,
            json={
                "Response": {
                    "Credentials": {"TmpSecretId": "tid", "TmpSecretKey": "tkey", "Token": "tok"},
                    "ExpiredTime": int(time.time()) + 1800,
                    "RequestId": "r",
                }
            },
        )

    policy = cos_upload_policy("ap-guangzhou", "", "audio-1250000000", "uploads/u/x/", 10)
    out = get_federation_token(
        "AKIDx", "key", "ap-guangzhou", policy, 1800, transport=httpx.MockTransport(handler)
    )
    assert seen["auth_ok"] and seen["policy"] == policy and seen["duration"] == 1800
    assert out["tmp_secret_id"] == "tid" and out["token"] == "tok"
    # the signature is the documented TC3 chain
    body = "{}"
    h = tc3_headers("id", "key", "https://sts.tencentcloudapi.com", "sts", "A", "r", body, 0)
    k = hmac.new(b"TC3key", b"1970-01-01", hashlib.sha256).digest()
    k = hmac.new(k, b"sts", hashlib.sha256).digest()
    k = hmac.new(k, b"tc3_request", hashlib.sha256).digest()
    canonical = (
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\n"
        "host:sts.tencentcloudapi.com\nx-tc-action:a\n\ncontent-type;host;x-tc-action\n"
        + hashlib.sha256(body.encode()).hexdigest()
    )
    to_sign = (
        "TC3-HMAC-SHA256\n0\n1970-01-01/sts/tc3_request\n"
        + hashlib.sha256(canonical.encode()).hexdigest()
    )
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    assert h["Authorization"].endswith(f"Signature={sig}")


def test_chunk_plan_is_hop_aligned() -> None:
    from server.worker.engine_adapter import chunk_margins, plan_chunks

    for rate in (44100, 48000, 96000):
        hop, pre, post = chunk_margins(rate)
        assert pre % hop == 0 and post % hop == 0 and pre >= rate
        frames = 30 * 60 * rate + 12345
        chunks = plan_chunks(frames, rate, 300.0)
        assert chunks[0][0] == 0 and chunks[-1][1] == frames and len(chunks) == 6
        assert all(a % hop == 0 for a, _ in chunks)
        assert all(b == c for (_, b), (c, _) in zip(chunks, chunks[1:], strict=False))


def test_backoff_grows_and_is_capped() -> None:
    from server.jobstore import backoff_s

    assert 1.0 <= backoff_s(1, 2.0, 300.0) <= 2.0
    assert 4.0 <= backoff_s(3, 2.0, 300.0) <= 8.0
    assert backoff_s(20, 2.0, 300.0) <= 300.0


def test_cli(tmp_path: Path) -> None:
    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server", *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
            timeout=120,
        )

    r = run(
        "users",
        "add",
        "carol",
        "--password-stdin",
        "--data-dir",
        str(tmp_path),
        stdin="pw-long-enough\n",
    )
    assert r.returncode == 0 and "user carol created" in r.stdout, r.stderr
    r = run(
        "users",
        "add",
        "carol",
        "--password-stdin",
        "--data-dir",
        str(tmp_path),
        stdin="another-pw\n",
    )
    assert r.returncode == 1 and "exists" in r.stderr
    assert run("worker", "--data-dir", str(tmp_path)).returncode == 2  # needs QUEUE_URL
    assert run("scheduler", "--data-dir", str(tmp_path)).returncode == 2
    spec = tmp_path / "openapi.json"
    assert run("server", "--data-dir", str(tmp_path), "--openapi", str(spec)).returncode == 0
    assert "/jobs/{job_id}" in json.loads(spec.read_text())["paths"]


def test_engine_cli_discovers_the_server_commands() -> None:
    import argparse

    from server.cli import register

    p = argparse.ArgumentParser()
    register(p.add_subparsers(dest="cmd"))
    for argv in (["server", "--port", "9000"], ["scheduler"], ["worker"], ["users", "add", "x"]):
        ns = p.parse_args(argv)
        assert callable(ns.func)
    assert p.parse_args(["server"]).port == 8080


def test_gpu_utilisation_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from server.worker import metrics

    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho '0, 37'\necho '1, 5'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    stop = threading.Event()
    t = metrics.gpu_poller(stop, interval_s=0.05)
    assert t is not None
    deadline = time.monotonic() + 10
    while metrics.GPU_UTIL.labels(gpu="1")._value.get() != 0.05 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    t.join(5)
    assert metrics.GPU_UTIL.labels(gpu="0")._value.get() == 0.37
    assert metrics.GPU_UTIL.labels(gpu="1")._value.get() == 0.05


def test_verified_access_tokens_still_expire(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token whose check is cached is refused once it expires, and only under the
    settings (secret, audience, issuer) that verified it."""
    from server import auth
    from server.auth import AuthError, issue_access_token, verify_access_token
    from server.db.models import User

    s = load_settings(tmp_path, env={"JWT_SECRET": "s" * 40}, persist_secret=False)
    now = time.time()
    tok = issue_access_token(s, User(id="u1", name="n"), now)
    assert verify_access_token(s, tok).user_id == "u1"
    assert verify_access_token(s, tok).user_id == "u1"  # cached
    with pytest.raises(AuthError):
        verify_access_token(s.with_(jwt_secret="t" * 40), tok)
    with pytest.raises(AuthError):
        verify_access_token(s.with_(jwt_audience="other"), tok)
    monkeypatch.setattr("server.auth.time.time", lambda: now + s.access_ttl_s + auth.LEEWAY_S + 1)
    with pytest.raises(AuthError):
        verify_access_token(s, tok)


def test_probe_size_and_head_in_one_call(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """``Storage.probe`` (size + first bytes, what POST /jobs checks) on local disk and on S3
    (moto): small, large, empty and missing objects."""
    import secrets

    from server.storage import make_storage
    from tests.server.conftest import make_settings, s3_env

    local = make_storage(make_settings(tmp_path / "l"))
    moto = request.getfixturevalue("moto")
    s3 = make_storage(make_settings(tmp_path / "s", **s3_env(moto, f"p{secrets.token_hex(3)}")))
    s3.ensure_buckets()
    big = bytes(range(256)) * 400
    for st in (local, s3):
        b = st.bucket_audio
        st.put_bytes(b, "uploads/u/x/big.wav", big)
        st.put_bytes(b, "uploads/u/x/small.wav", b"RIFF")
        st.put_bytes(b, "uploads/u/x/empty.wav", b"")
        got = st.probe(b, "uploads/u/x/big.wav", 64)
        assert got is not None and got[0].size == len(big) and got[1] == big[:64], st.kind
        got = st.probe(b, "uploads/u/x/small.wav", 64)
        assert got is not None and (got[0].size, got[1]) == (4, b"RIFF"), st.kind
        got = st.probe(b, "uploads/u/x/empty.wav", 64)
        assert got is not None and (got[0].size, got[1]) == (0, b""), st.kind
        assert st.probe(b, "uploads/u/x/missing.wav", 64) is None, st.kind


def test_local_probe_reuse_follows_the_file(tmp_path: Path) -> None:
    """A repeated local probe may reuse the head it read, but never once the object was
    rewritten (same size included), replaced, removed or turned into a directory; invalid
    names are refused even after a valid twin was probed."""
    import os

    from server.storage import make_storage
    from server.storage.base import StorageError
    from tests.server.conftest import make_settings

    st = make_storage(make_settings(tmp_path / "l"))
    assert isinstance(st, LocalStorage)
    b, key = st.bucket_audio, "uploads/u/x/a.wav"
    st.put_bytes(b, key, b"RIFF" + b"\0" * 60)
    first = st.probe(b, key, 64)
    assert first is not None and first[1][:4] == b"RIFF"
    assert st.probe(b, key, 64) == first  # unchanged file
    path = st.path(b, key)
    with open(path, "r+b") as f:  # rewritten in place, same size
        f.write(b"fLaC")
    os.utime(path, ns=(1, first[0].size))  # even with an old mtime: ctime moves
    again = st.probe(b, key, 64)
    assert again is not None and again[1][:4] == b"fLaC"
    st.put_bytes(b, key, b"OggS" + b"\1" * 10)  # replaced (temp + rename)
    again = st.probe(b, key, 64)
    assert again is not None and again[1] == b"OggS" + b"\1" * 10 and again[0].size == 14
    os.remove(path)
    assert st.probe(b, key, 64) is None
    os.mkdir(path)
    assert st.probe(b, key, 64) is None
    with pytest.raises(StorageError):
        st.probe(b, "uploads/u/x/../x/a.wav", 64)


def test_new_id_is_a_uuid4_hex() -> None:
    import uuid

    from server.ids import new_id

    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for i in ids[:200]:
        u = uuid.UUID(i)
        assert u.hex == i and u.version == 4 and u.variant == uuid.RFC_4122
