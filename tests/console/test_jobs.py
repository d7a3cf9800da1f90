"""The jobs list in the browser: filter, cancel, and an upload that survives a dropped
connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.conftest import served
from tests.console.conftest import Tab
from tests.server.conftest import make_music

pytestmark = pytest.mark.timeout(300)  # a stuck browser or server fails instead of hanging


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An embedded stack without workers: jobs stay queued."""
    with served(tmp_path_factory.mktemp("console-idle"), workers=0) as srv:
        yield srv


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("console-pair")
    make_music(d / "song.wav", 2.0, seed=31)
    make_music(d / "ref.wav", 2.0, seed=32, bright=0.5)
    return d


def test_filter_and_cancel(idle: Any, tab: Any, pair: Path) -> None:
    api = idle.stack.api("lena")
    keys = api.upload(pair / "song.wav", pair / "ref.wav")
    for name in ("alpha mix", "beta master", "alpha master"):
        body = {"targets": [keys[0]], "references": [keys[1]], "name": name}
        assert api.post("/jobs", json=body).status_code == 202
    t: Tab = tab(idle.url)
    t.signed_in(idle.stack.logins["lena"])
    p = t.page
    rows = p.locator("[data-testid=job-row]")
    rows.first.wait_for()
    p.locator("[data-testid=job-count]", has_text="3 / 3").wait_for()
    p.fill("[data-testid=text-filter]", "alpha")
    p.locator("[data-testid=job-count]", has_text="2 / 3").wait_for()
    assert sorted(rows.nth(i).locator("a").inner_text() for i in range(2)) == [
        "alpha master",
        "alpha mix",
    ]
    # cancel "alpha mix": the API cancels it and the row says so
    rows.filter(has_text="alpha mix").get_by_role("button").click()
    p.locator("[data-testid=job-row][data-state=canceled]", has_text="alpha mix").wait_for()
    assert api.get("/jobs?state=canceled").json()["items"][0]["name"] == "alpha mix"
    # filter by state (from the API)
    p.fill("[data-testid=text-filter]", "")
    p.select_option("[data-testid=state-filter]", "queued")
    p.locator("[data-testid=job-count]", has_text="2 / 2").wait_for()


def test_upload_survives_a_dropped_connection(idle: Any, tab: Any, pair: Path) -> None:
    t: Tab = tab(idle.url)
    t.signed_in(idle.user("mike"), "/console/new")
    p = t.page
    dropped: list[str] = []

    def drop_first(route: Any) -> None:
        if route.request.method == "PUT" and not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    p.route("**/storage/**", drop_first)
    p.set_input_files("[data-testid=targets]", str(pair / "song.wav"))
    p.set_input_files("[data-testid=references]", str(pair / "ref.wav"))
    p.click("[data-testid=new-match] button[type=submit]")
    p.wait_for_url("**/console/jobs/*")
    assert len(dropped) == 1
    job_id = p.url.rsplit("/", 1)[1]
    assert p.locator("[data-testid=job-state]").get_attribute("data-state") == "queued"
    # both files arrived whole (the dropped one was sent again)
    from server.db.models import Job

    with idle.stack.core.db.session() as s:
        spec = s.get(Job, job_id).spec
    storage = idle.stack.services.storage
    for key, src in ((spec["targets"][0], "song.wav"), (spec["references"][0], "ref.wav")):
        got = storage.path(storage.bucket_audio, key).read_bytes()
        assert got == (pair / src).read_bytes(), key


def test_codec_safe_job_shows_the_true_peak_after_the_codec(
    tmp_path_factory: pytest.TempPathFactory, tab: Any, pair: Path
) -> None:
    """A job submitted with a codec-safe ceiling (the API, as the desktop app does): its
    loudness table has a fourth row, the result's true peak after that codec, from the job's
    metrics, in both languages."""
    from tests.server.test_chunked import LOUD

    with served(tmp_path_factory.mktemp("console-codec"), workers=1) as srv:
        api = srv.stack.api("mia")
        keys = api.upload(pair / "song.wav", pair / "ref.wav")
        options = {**LOUD, "codec_safe": "aac-256"}
        body = {"targets": [keys[0]], "references": [keys[1]], "options": options}
        r = api.post("/jobs", json=body)
        assert r.status_code == 202, r.text
        view = api.wait(r.json()["id"], timeout=120)
        assert view["state"] == "succeeded", view
        tp = view["results"][0]["metrics"]["codec_true_peak_dbtp"]
        for lang, label in (
            ("en", "Result after the codec aac-256"),
            ("zh", "编解码后的结果 aac-256"),
        ):
            t: Tab = tab(srv.url, lang)
            t.signed_in(srv.stack.logins["mia"], f"/console/jobs/{view['id']}")
            rows = t.page.locator("[data-testid=loudness] tbody tr")
            rows.nth(3).wait_for()
            assert rows.count() == 4
            assert rows.nth(3).locator("th").inner_text() == label
            cells = rows.nth(3).locator("td")
            assert cells.nth(0).inner_text() == "—"  # its loudness is not measured
            assert cells.nth(1).inner_text() == f"{tp:.1f}"
