"""The ``POST /jobs`` fast path answers exactly what the FastAPI route answers: every case is
sent twice, once with the fast path on and once with it off, and the answers compared."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.server.client import Api
from tests.server.conftest import Stack

UUID_HEX = re.compile(r"[0-9a-f]{32}")


def _norm(r: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    """Status, body (its bytes, as text) and the headers that matter, with job ids masked."""
    text = UUID_HEX.sub("<id>", r.text)
    keep = ("content-type", "content-language", "retry-after", "www-authenticate", "location")
    headers = {k: UUID_HEX.sub("<id>", r.headers[k]) for k in keep if k in r.headers}
    return r.status_code, text, headers


def test_fast_path_answers_like_the_route(embedded_idle: Stack, audio_dir: Path) -> None:
    st = embedded_idle
    fast = st.app.state.fastpath
    alice, bob = st.api("alice"), st.api("bob")
    t, r = alice.upload(audio_dir / "target.wav", audio_dir / "reference.wav")
    tb, _ = bob.upload(audio_dir / "target.wav", audio_dir / "reference.wav")
    (junk,) = alice.upload(_text_as_wav(audio_dir.parent / "junk.wav"))
    good = {"targets": [t], "references": [r]}
    auth = alice.auth
    json_h = {**auth, "Content-Type": "application/json"}
    cases: list[tuple[str, dict[str, Any]]] = [
        ("valid", {"json": good, "headers": auth}),
        ("keyed", {"json": good, "headers": {**auth, "Idempotency-Key": "K1"}}),
        (
            "key reused, other body",
            {"json": {**good, "name": "x"}, "headers": {**auth, "Idempotency-Key": "K1"}},
        ),
        ("other user's object", {"json": {"targets": [tb], "references": [r]}, "headers": auth}),
        ("not audio", {"json": {"targets": [junk], "references": [r]}, "headers": auth}),
        (
            "foreign URL",
            {
                "json": {"targets": ["https://example.com/a.wav"], "references": [r]},
                "headers": auth,
            },
        ),
        (
            "zh error",
            {
                "json": {"targets": [tb], "references": [r]},
                "headers": {**auth, "Accept-Language": "zh"},
            },
        ),
        ("bad json", {"content": b"{nope", "headers": json_h}),
        ("extra field", {"json": {**good, "evil": 1}, "headers": auth}),
        ("no targets", {"json": {"targets": [], "references": [r]}, "headers": auth}),
        ("no token", {"json": good}),
        ("bad token", {"json": good, "headers": {"Authorization": "Bearer x.y.z"}}),
        ("long key", {"json": good, "headers": {**auth, "Idempotency-Key": "k" * 256}}),
        ("text body", {"content": b"targets", "headers": {**auth, "Content-Type": "text/plain"}}),
    ]
    answers: dict[bool, list[tuple[int, Any, dict[str, str]]]] = {}
    served: dict[bool, int] = {}
    for on in (True, False):
        fast.enabled = on
        before = fast.served
        if not on:  # the idempotent cases must meet a fresh key, as the first pass did
            cases[1][1]["headers"]["Idempotency-Key"] = "K2"
            cases[2][1]["headers"]["Idempotency-Key"] = "K2"
        answers[on] = [_norm(st.client.post("/jobs", **kw)) for _, kw in cases]
        served[on] = fast.served - before
    fast.enabled = True
    for (name, _), a, b in zip(cases, answers[True], answers[False], strict=True):
        assert a == b, (name, a, b)
    statuses = [a[0] for a in answers[True]]
    assert statuses == [202, 202, 409, 404, 415, 400, 404, 422, 422, 422, 401, 401, 422, 422]
    assert served[True] == 7 and served[False] == 0  # the rest went to FastAPI
    # the repeat under the same key gets the same job, on either path
    again = st.client.post("/jobs", json=good, headers={**auth, "Idempotency-Key": "K1"})
    assert again.status_code == 202
    assert re.sub(r".*/", "", again.headers["location"]) == again.json()["id"]
    metrics = st.client.get("/metrics").text
    assert 'audio_style_http_requests_total{method="POST",route="/jobs",status="202"}' in metrics


def _text_as_wav(p: Path) -> Path:
    p.write_bytes(b"this is not audio at all, just text " * 10)
    return p


def test_fast_path_with_the_api_client(embedded_idle: Stack, audio_dir: Path) -> None:
    """The test client's own submit goes through the fast path and the job is listed."""
    api: Api = embedded_idle.api("carol")
    t, r = api.upload(audio_dir / "target.wav", audio_dir / "reference.wav")
    before = embedded_idle.app.state.fastpath.served
    job = api.submit([t], [r], key="c-1").json()
    assert embedded_idle.app.state.fastpath.served == before + 1
    assert api.get(f"/jobs/{job['id']}").json()["state"] == "queued"
    assert [j["id"] for j in api.get("/jobs").json()["items"]] == [job["id"]]


def test_a_middleware_added_later_applies_to_every_route(tmp_path: Path, audio_dir: Path) -> None:
    """The fast path is the innermost middleware: one added after ``create_app`` (and the
    app's own: security headers, request metrics) wraps what it answers as it wraps every
    route."""
    from fastapi.testclient import TestClient
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from server.api import create_app
    from server.stack import api_services, core
    from tests.server.conftest import PASSWORD, add_user, make_settings

    seen: list[tuple[str, str]] = []

    class Tag:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return
            seen.append((scope["method"], scope["path"]))

            async def send_(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message["headers"], (b"x-tag", b"1")]}
                await send(message)

            await self.app(scope, receive, send_)

    c = core(make_settings(tmp_path / "data"))
    app = create_app(api_services(c, embedded_workers=0))
    app.add_middleware(Tag)
    add_user(c.db, "dora")
    with TestClient(app) as client:
        api = Api(client)
        api.login("dora", PASSWORD)
        t, r = api.upload(audio_dir / "target.wav", audio_dir / "reference.wav")
        fast = app.state.fastpath
        before = fast.served
        answers = {
            "submit": api.submit([t], [r], key="tag-1"),
            "list": api.get("/jobs"),
            "health": client.get("/health"),
            "bad submit": client.post("/jobs", json={"targets": []}),
            "missing": client.get("/nope"),
        }
        assert fast.served == before + 1  # the submit was the fast path's
        assert answers["submit"].status_code == 202
        for name, resp in answers.items():
            assert resp.headers.get("x-tag") == "1", name
            assert resp.headers.get("x-content-type-options") == "nosniff", name
        assert ("POST", "/jobs") in seen
        metrics = client.get("/metrics").text
        assert (
            'audio_style_http_requests_total{method="POST",route="/jobs",status="202"}' in metrics
        )
    c.db.dispose()
