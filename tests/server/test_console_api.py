"""The web console's server side without a browser: pages and their fallback, the page
policy, the error table, ``/me``, job inputs (owner only) and the admin endpoints."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from engine.schema.errors import MESSAGES
from server.api.routes_console import content_security_policy, storage_origins
from tests.server.conftest import PASSWORD, Stack, add_user, make_settings


def test_pages_fall_back_to_how_to_build(tmp_path: Path) -> None:
    st = Stack(make_settings(tmp_path / "data", APP_CONSOLE_DIR=str(tmp_path / "none")), workers=0)
    try:
        c = st.client
        for path in ("/", "/console/jobs/abc", "/docs"):
            r = c.get(path)
            assert r.status_code == 503
            assert r.headers["content-type"].startswith("text/html")
            assert "make setup" in r.text and "npm ci" in r.text
            assert "unsafe-inline" not in r.headers["content-security-policy"]
        assert c.get("/assets/index.js").status_code == 404
        assert c.get("/openapi.json").status_code == 200
        assert c.get("/redoc").status_code == 404  # no CDN-loaded docs page
    finally:
        st.close()


def test_built_console_is_served_with_deep_links(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>console</title>")
    (dist / "assets" / "app-1234.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("no")
    st = Stack(make_settings(tmp_path / "data", APP_CONSOLE_DIR=str(dist)), workers=0)
    try:
        c = st.client
        for path in ("/", "/console", "/console/jobs/abc", "/console/admin"):
            r = c.get(path)
            assert r.status_code == 200 and "<title>console</title>" in r.text, path
        a = c.get("/assets/app-1234.js")
        assert a.status_code == 200 and "javascript" in a.headers["content-type"]
        assert "immutable" in a.headers["cache-control"]
        assert c.get("/assets/../secret.txt").status_code == 404
        assert c.get("/assets/%2e%2e/secret.txt").status_code == 404
        # the API keeps its paths: GET /jobs/<id> stays JSON
        r = c.get("/jobs/abc")
        assert r.status_code == 401 and r.headers["content-type"] == "application/json"
    finally:
        st.close()


def test_error_table_is_the_engines(embedded: Stack) -> None:
    table = embedded.client.get("/console-errors.json").json()
    assert table == {c.value: {"en": en, "zh": zh} for c, (en, zh) in MESSAGES.items()}


def test_policy_names_only_the_storage_origin(tmp_path: Path) -> None:
    local = make_settings(tmp_path)
    assert storage_origins(local) == []
    s3 = make_settings(
        tmp_path, S3_ENDPOINT="http://minio:9000", S3_PUBLIC_ENDPOINT="https://s3.example.com"
    )
    assert storage_origins(s3) == ["https://s3.example.com", "https://*.s3.example.com"]
    csp = content_security_policy(s3)
    assert "connect-src 'self' https://s3.example.com" in csp
    assert "script-src 'self';" in csp and "unsafe" not in csp
    cos = make_settings(tmp_path, S3_ENDPOINT="https://cos.ap-guangzhou.myqcloud.com")
    assert storage_origins(cos) == ["https://*.cos.ap-guangzhou.myqcloud.com"]


def test_me_and_job_inputs_are_the_callers_own(embedded: Stack, audio_dir: Path) -> None:
    alice, bob = embedded.api("alice"), embedded.api("bob")
    me = alice.get("/me").json()
    assert me == {"id": embedded.users["alice"], "name": embedded.logins["alice"], "admin": False}
    keys = alice.upload(audio_dir / "target.wav", audio_dir / "reference.wav")
    job = alice.post("/jobs", json={"targets": [keys[0]], "references": [keys[1]]}).json()
    got = alice.get(f"/jobs/{job['id']}/inputs").json()
    assert len(got["targets"]) == 1 and len(got["references"]) == 1
    assert alice.fetch(got["targets"][0]) == (audio_dir / "target.wav").read_bytes()
    assert bob.get(f"/jobs/{job['id']}/inputs").status_code == 404
    assert embedded.client.get(f"/jobs/{job['id']}/inputs").status_code == 401
    # the worker stored the preset's exports beside the result
    assert alice.wait(job["id"], timeout=120)["state"] == "succeeded"
    (ex,) = alice.get(f"/jobs/{job['id']}/exports").json()["results"]
    assert alice.fetch(ex["eqapo"]).decode().splitlines()[1].startswith("Preamp: ")
    assert alice.fetch(ex["graphiceq"]).decode().startswith("GraphicEQ: ")
    assert alice.fetch(ex["csv"]).decode().startswith("frequency_hz,mid_db")
    assert bob.get(f"/jobs/{job['id']}/exports").status_code == 404


def test_admin_endpoints(tmp_path: Path) -> None:
    admin = f"root-{secrets.token_hex(3)}"
    st = Stack(make_settings(tmp_path / "data", APP_ADMINS=f"someone,{admin}"), workers=0)
    try:
        add_user(st.core.db, admin)
        from tests.server.client import Api

        root = Api(st.client)
        root.login(admin, PASSWORD)
        user = st.api("user")
        # non-admins are refused by the API, whatever the page shows
        for method, path in (("GET", "/admin/users"), ("GET", "/admin/stats")):
            r = user.http.request(method, path, headers=user.auth)
            assert r.status_code == 403 and r.json()["code"] == "E502"
        assert (
            user.post("/admin/users", json={"name": "x", "password": PASSWORD}).status_code == 403
        )
        assert st.client.get("/admin/stats").status_code == 401
        assert root.get("/me").json()["admin"] is True

        new = f"new-{secrets.token_hex(3)}"
        r = root.post("/admin/users", json={"name": new, "password": PASSWORD})
        assert r.status_code == 201 and r.json()["disabled"] is False
        assert (
            root.post("/admin/users", json={"name": new, "password": PASSWORD}).status_code == 409
        )
        assert (
            root.post("/admin/users", json={"name": "bad name", "password": PASSWORD}).status_code
            == 422
        )
        names = {u["name"]: u for u in root.get("/admin/users").json()["items"]}
        assert names[admin]["admin"] is True and new in names
        other = Api(st.client)
        other.login(new, PASSWORD)
        r = root.http.patch(f"/admin/users/{new}", json={"disabled": True}, headers=root.auth)
        assert r.status_code == 200 and r.json()["disabled"] is True
        # disabled: no sign-in, and its refresh token is revoked
        r = st.client.post(
            "/auth/token", data={"grant_type": "password", "username": new, "password": PASSWORD}
        )
        assert r.status_code == 401
        r = st.client.post(
            "/auth/token", data={"grant_type": "refresh_token", "refresh_token": other.refresh}
        )
        assert r.status_code == 401
        assert (
            root.http.patch(
                "/admin/users/nobody", json={"disabled": True}, headers=root.auth
            ).status_code
            == 404
        )
    finally:
        st.close()


def test_admin_stats_count_queue_workers_and_failures(tmp_path: Path) -> None:
    from sqlalchemy import update

    from server.db.models import Job, Task

    admin = f"root-{secrets.token_hex(3)}"
    st = Stack(make_settings(tmp_path / "data", APP_ADMINS=admin), workers=0)
    try:
        add_user(st.core.db, admin)
        from tests.server.client import Api

        root = Api(st.client)
        root.login(admin, PASSWORD)
        u = st.api("u")
        d = tmp_path / "a"
        d.mkdir()
        from tests.server.conftest import make_music

        make_music(d / "t.wav", 1.0, seed=1)
        make_music(d / "r.wav", 1.0, seed=2)
        keys = u.upload(d / "t.wav", d / "r.wav")
        ids = [
            u.post(
                "/jobs", json={"targets": [keys[0]], "references": [keys[1]], "name": str(i)}
            ).json()["id"]
            for i in range(4)
        ]
        s = root.get("/admin/stats").json()
        assert s["queue"]["queued_jobs"] == 4 and s["queue"]["queued_tasks"] == 4
        assert s["last_hour"] == {"finished": 0, "failed": 0, "canceled": 0, "failure_rate": 0.0}
        now = time.time()
        with st.core.db.session() as db:
            db.execute(update(Task).where(Task.job_id.in_(ids[:3])).values(state="done"))
            db.execute(update(Job).where(Job.id == ids[0]).values(state="failed", finished_at=now))
            db.execute(
                update(Job).where(Job.id.in_(ids[1:3])).values(state="succeeded", finished_at=now)
            )
            db.execute(
                update(Task)
                .where(Task.job_id == ids[3])
                .values(state="running", worker_id="w-live", lease_until=now + 60, updated_at=now)
            )
            db.execute(update(Job).where(Job.id == ids[3]).values(state="running"))
        s = root.get("/admin/stats").json()
        assert s["queue"] == {"queued_jobs": 0, "running_jobs": 1, "queued_tasks": 0}
        assert s["last_hour"]["finished"] == 3 and s["last_hour"]["failed"] == 1
        assert abs(s["last_hour"]["failure_rate"] - 1 / 3) < 1e-9
        assert [(w["worker_id"], w["running"], w["healthy"]) for w in s["workers"]] == [
            ("w-live", 1, True)
        ]
        with st.core.db.session() as db:  # the lease ran out: a stuck worker
            db.execute(update(Task).where(Task.job_id == ids[3]).values(lease_until=now - 5))
        assert root.get("/admin/stats").json()["workers"][0]["healthy"] is False
    finally:
        st.close()
