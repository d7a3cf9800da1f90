"""Security: tokens, refresh-token reuse, isolation between users (404 everywhere), upload
limits, sources (no SSRF, only this storage's signed URLs), decoder bombs."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.server.conftest import Stack, length_bomb_wav, make_settings


def _b64(obj: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _claims(stack: Stack, **over: Any) -> dict[str, Any]:
    now = int(time.time())
    st = stack.settings
    c = {
        "iss": st.jwt_issuer,
        "aud": st.jwt_audience,
        "sub": stack.users["alice"],
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "x" * 32,
    }
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def test_bad_tokens_are_refused(embedded_idle: Stack) -> None:
    st = embedded_idle
    api = st.api("alice")
    secret = st.settings.jwt_secret
    good = jwt.encode(_claims(st), secret, algorithm="HS256", headers={"typ": "at+jwt"})
    assert st.client.get("/jobs", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    now = int(time.time())
    bad = {
        "expired": jwt.encode(
            _claims(st, exp=now - 120, iat=now - 900, nbf=now - 900),
            secret,
            "HS256",
            headers={"typ": "at+jwt"},
        ),
        "forged": jwt.encode(_claims(st), "not-the-secret" * 4, "HS256", headers={"typ": "at+jwt"}),
        "wrong_audience": jwt.encode(
            _claims(st, aud="someone-else"), secret, "HS256", headers={"typ": "at+jwt"}
        ),
        "wrong_issuer": jwt.encode(
            _claims(st, iss="evil"), secret, "HS256", headers={"typ": "at+jwt"}
        ),
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(_claims(st))}.",
        "alg_hs512": jwt.encode(_claims(st), secret, "HS512", headers={"typ": "at+jwt"}),
        "no_typ": jwt.encode(_claims(st), secret, "HS256"),
        "no_exp": jwt.encode(_claims(st, exp=None), secret, "HS256", headers={"typ": "at+jwt"}),
        "future_nbf": jwt.encode(
            _claims(st, nbf=now + 600), secret, "HS256", headers={"typ": "at+jwt"}
        ),
        "refresh_as_access": api.refresh,
        "garbage": "a.b.c",
    }
    for name, token in bad.items():
        r = st.client.get("/jobs", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, name
        assert r.json()["code"] == "E501", name
    assert st.client.get("/jobs", headers={"Authorization": "Basic abc"}).status_code == 401


def test_refresh_rotation_and_reuse_revokes_family(embedded_idle: Stack) -> None:
    st = embedded_idle
    api = st.api("alice")
    r1 = api.refresh

    def refresh(token: str) -> Any:
        return st.client.post(
            "/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
        )

    a = refresh(r1)
    assert a.status_code == 200
    r2 = a.json()["refresh_token"]
    assert r2 != r1
    h = {"Authorization": f"Bearer {a.json()['access_token']}"}
    assert st.client.get("/jobs", headers=h).status_code == 200
    reuse = refresh(r1)  # a thief (or a confused client) replays the spent token
    assert reuse.status_code == 401 and reuse.json()["code"] == "E510"
    assert refresh(r2).status_code == 401  # the whole family is revoked
    wrong = st.client.post(
        "/auth/token",
        data={"grant_type": "password", "username": st.logins["alice"], "password": "nope" * 3},
    )
    # a wrong password reads differently from an invalid session (E501/E510)
    assert wrong.status_code == 401 and wrong.json()["code"] == "E514"
    # logging in again starts a new family
    api.login(st.logins["alice"], "correct horse battery")
    assert refresh(api.refresh).status_code == 200


def test_other_users_get_404_for_everything(embedded: Stack, audio_dir: Path) -> None:
    st = embedded
    a, b = st.api("alice"), st.api("bob")
    target, ref = a.upload(audio_dir / "mono.wav", audio_dir / "mono_ref.wav")
    job = a.submit([target], [ref]).json()["id"]
    view = a.wait(job, timeout=120)
    assert view["state"] == "succeeded", view["error"]
    result_key = view["results"][0]["audio_key"]
    storage: Any = st.core.storage
    a_signed = storage.presign_get(storage.bucket_audio, target, 600)
    for r in (
        b.get(f"/jobs/{job}"),
        b.delete(f"/jobs/{job}"),
        b.post("/jobs", json={"targets": [target], "references": [ref]}),
        b.post("/jobs", json={"targets": [a_signed], "references": [ref]}),
        b.post("/jobs", json={"targets": [result_key], "references": [ref]}),
        b.get("/jobs/ffffffffffffffffffffffffffffffff"),
    ):
        assert r.status_code == 404, (r.request.method, r.request.url, r.text)
        assert r.json()["code"] == "E503"
    assert job not in [j["id"] for j in b.get("/jobs").json()["items"]]
    # objects: tampered, unsigned or expired storage URLs are "not found" too
    url = view["results"][0]["audio_url"]
    assert st.client.get(url).status_code == 200
    for bad in (
        url.replace("sig=", "sig=x"),
        url.split("?")[0],
        url.replace(result_key, result_key.replace(st.users["alice"], st.users["bob"])),
        storage.signed_url("get", storage.bucket_audio, result_key, -10),
    ):
        r = st.client.get(bad)
        assert r.status_code == 404 and r.json()["code"] == "E503", bad
    # and the audit log recorded who looked at what
    from sqlalchemy import select

    from server.db.models import AuditLog

    with st.core.db.session() as s:
        rows = s.execute(select(AuditLog.user_id, AuditLog.action, AuditLog.status)).all()
    assert (st.users["bob"], "job_view", 404) in rows
    assert (st.users["alice"], "job_view", 200) in rows


@pytest.fixture
def capped(tmp_path: Path) -> Any:
    st = Stack(make_settings(tmp_path / "data", MAX_UPLOAD_BYTES="1500000"), workers=0)
    yield st
    st.close()


def test_oversize_and_non_audio_uploads_are_refused(capped: Stack, tmp_path: Path) -> None:
    st = capped
    api = st.api("alice")
    zh = {"Accept-Language": "zh-CN"}
    r = api.post("/uploads", json={"files": [{"name": "big.wav", "size": 5_000_000}]}, headers=zh)
    assert r.status_code == 413 and r.json()["code"] == "E505"
    assert "上传文件过大" in r.json()["message"]
    r = api.post("/uploads", json={"files": [{"name": "x.exe", "size": 10}]})
    assert r.status_code == 415 and r.json()["code"] == "E506"
    # the signed PUT URL carries the cap: the storage side refuses more bytes
    grant = api.post("/uploads", json={"files": [{"name": "a.wav", "size": 1000}]}).json()
    put = grant["files"][0]
    r = st.client.put(put["url"], content=b"RIFF" + b"\0" * 2_000_000)
    assert r.status_code == 413 and r.json()["code"] == "E505"
    # non-audio content under an audio name: refused when the job is submitted
    text = tmp_path / "notes.wav"
    text.write_text("definitely not audio\n" * 10)
    (key,) = api.upload(text)
    r = api.post("/jobs", json={"targets": [key], "references": [key]}, headers=zh)
    assert r.status_code == 415 and r.json()["code"] == "E506"
    assert r.json()["message"].startswith("不是音频文件")
    # an object over the cap that got into storage anyway (e.g. multipart): refused at submit
    storage: Any = st.core.storage
    big = f"uploads/{st.users['alice']}/manual/0.wav"
    storage.put_bytes(storage.bucket_audio, big, b"RIFF\0\0\0\0WAVE" + b"\0" * 1_600_000)
    r = api.post("/jobs", json={"targets": [big], "references": [big]})
    assert r.status_code == 413 and r.json()["code"] == "E505"


def test_sources_outside_this_storage_are_refused(embedded_idle: Stack, audio_dir: Path) -> None:
    st = embedded_idle
    api = st.api("alice")
    target, ref = api.upload(audio_dir / "mono.wav", audio_dir / "mono_ref.wav")
    storage: Any = st.core.storage
    good = storage.presign_get(storage.bucket_audio, target, 600)
    assert api.post("/jobs", json={"targets": [good], "references": [ref]}).status_code == 202
    for src in (
        "https://evil.example.com/a.wav?X-Amz-Signature=abc&X-Amz-Credential=x",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://127.0.0.1:5432/",
        "file:///etc/passwd",
        "//evil.example.com/a.wav",
        "../../etc/passwd",
        f"uploads/{st.users['alice']}/../../etc/passwd",
        "/etc/passwd",
        good.replace("sig=", "sig=A"),  # our host, bad signature
        good.replace("http://testserver", "http://testserver.evil.com"),
        storage.presign_get(storage.bucket_preset, target, 600),  # another bucket
        good.replace("op=get", "op=put"),
    ):
        r = api.post("/jobs", json={"targets": [src], "references": [ref]})
        assert r.status_code == 400, (src, r.text)
        assert r.json()["code"] == "E504"


def test_length_bomb_fails_its_job_and_worker_keeps_serving(
    embedded: Stack, audio_dir: Path, tmp_path: Path
) -> None:
    st = embedded
    api = st.api("alice")
    bomb = length_bomb_wav(tmp_path / "bomb.wav")
    b, target, ref = api.upload(bomb, audio_dir / "mono.wav", audio_dir / "mono_ref.wav")
    bad = api.submit([b], [ref]).json()["id"]
    good = api.submit([target], [ref]).json()["id"]
    v = api.wait(bad, timeout=60)
    assert v["state"] == "failed"
    assert v["error"]["code"] in ("E104", "E105"), v["error"]  # truncated / too long
    r = api.get(f"/jobs/{bad}", headers={"Accept-Language": "zh"}).json()
    assert r["error"]["message"].startswith(("音频文件被截断", "音频过长")), r["error"]
    assert api.wait(good, timeout=120)["state"] == "succeeded"


def test_sandbox_memory_limit_fails_cleanly(tmp_path: Path) -> None:
    from server.worker import sandbox as sb

    with pytest.raises(sb.SandboxError) as e:
        sb.run("selftest_alloc", {"mb": 2048}, workdir=tmp_path, mem_mb=400, timeout_s=60)
    assert e.value.permanent and "400 MB" in e.value.params["reason"]
    with pytest.raises(sb.SandboxError) as e:
        sb.run("selftest_sleep", {"s": 30}, workdir=tmp_path, mem_mb=1024, timeout_s=1)
    assert e.value.permanent and "longer than 1 s" in e.value.params["reason"]
    ok = sb.run("selftest_alloc", {"mb": 10}, workdir=tmp_path, mem_mb=1024, timeout_s=60)
    assert ok["allocated"] == 10 * 1024 * 1024
