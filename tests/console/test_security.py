"""Acceptance 2 and the page policy, in headless chromium against the embedded stack: wrong
password (zh and en), an ended session (back to sign-in, nothing on the page lost), a
non-audio upload (the API's code shown), a script-bearing file name (text, never markup),
another user's job URL (not found), the admin page for a non-admin (refused by the API), the
Content-Security-Policy and a /docs page that needs no CDN."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.schema.errors import MESSAGES, ErrorCode
from tests.cloud.conftest import served
from tests.console.conftest import Tab
from tests.server.conftest import PASSWORD, add_user, make_music

pytestmark = pytest.mark.timeout(300)  # a stuck browser or server fails instead of hanging

EVIL = "<img src=x onerror=alert(1)>.wav"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("console-site")
    admin = f"admin-{secrets.token_hex(3)}"
    with served(tmp, workers=1, APP_ADMINS=admin) as srv:
        add_user(srv.stack.core.db, admin)
        srv.users["admin"] = admin
        yield srv


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("console-clips")
    make_music(d / "song.wav", 3.0, seed=21, level=0.2)
    make_music(d / "ref.wav", 3.0, seed=22, bright=0.5, level=0.5)
    make_music(d / EVIL, 3.0, seed=23, level=0.2)
    (d / "notes.wav").write_bytes(b"these are meeting notes, not audio\n" * 50)
    return d


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_wrong_password_is_a_clear_message(site: Any, tab: Any, lang: str) -> None:
    t: Tab = tab(site.url, lang)
    t.goto("/")
    t.sign_in(site.user("carol"), "not the password")
    alert = t.page.locator("[data-testid=signin-form] [role=alert]")
    en, zh = MESSAGES[ErrorCode.BAD_CREDENTIALS]
    code = ErrorCode.BAD_CREDENTIALS.value
    assert alert.inner_text() == f"{code}: {zh if lang == 'zh' else en}"
    assert t.page.locator("[data-testid=who]").count() == 0


def test_ended_session_returns_to_sign_in_without_losing_the_page(
    site: Any, tab: Any, clips: Path
) -> None:
    t: Tab = tab(site.url)
    t.signed_in(site.user("dave"), "/console/new")
    p = t.page
    p.set_input_files("[data-testid=targets]", str(clips / "song.wav"))
    p.set_input_files("[data-testid=references]", str(clips / "ref.wav"))
    p.fill("input[name=name]", "keep this name")
    p.fill("input[name=eq_amount]", "42")
    # every access token issued so far stops being valid (as when it expires)
    svc = site.stack.services
    svc.settings = svc.settings.with_(jwt_secret="rotated-" + secrets.token_hex(24))
    p.click("[data-testid=new-match] button[type=submit]")
    overlay = p.locator(".overlay [data-testid=signin-form]")
    overlay.wait_for()
    assert "session has ended" in overlay.inner_text()
    # the page under the sign-in keeps what was entered
    assert p.input_value("input[name=name]") == "keep this name"
    assert p.input_value("input[name=eq_amount]") == "42"
    assert "song.wav" in p.locator("[data-testid=new-match]").inner_text()
    t.sign_in(site.user("dave"))
    # the interrupted submission goes on: uploaded, submitted, on the job page
    p.wait_for_url("**/console/jobs/*")
    assert p.locator("[data-testid=job-name]").inner_text() == "keep this name"


def test_non_audio_upload_shows_the_api_error_code(site: Any, tab: Any, clips: Path) -> None:
    t: Tab = tab(site.url)
    t.signed_in(site.user("erin"), "/console/new")
    p = t.page
    p.set_input_files("[data-testid=targets]", str(clips / "notes.wav"))
    p.set_input_files("[data-testid=references]", str(clips / "ref.wav"))
    p.click("[data-testid=new-match] button[type=submit]")
    err = p.locator("[data-testid=new-match] [data-testid=error]")
    err.wait_for()
    assert err.inner_text().startswith("E506: ")
    assert "/console/new" in p.url


def test_script_in_a_file_name_is_text(site: Any, tab: Any, clips: Path) -> None:
    t: Tab = tab(site.url)
    t.signed_in(site.user("frank"), "/console/new")
    p = t.page
    p.set_input_files("[data-testid=targets]", str(clips / EVIL))
    p.set_input_files("[data-testid=references]", str(clips / "ref.wav"))
    assert EVIL in p.locator("[data-testid=new-match] .files").first.inner_text()
    p.click("[data-testid=new-match] button[type=submit]")
    p.wait_for_url("**/console/jobs/*")
    assert p.locator("[data-testid=job-name]").inner_text() == EVIL
    p.click("text=All jobs")
    p.locator("[data-testid=job-row]").first.wait_for()
    assert EVIL in p.locator("table.jobs").inner_text()
    assert p.locator("img[src=x]").count() == 0
    assert t.dialogs == []


def test_another_users_job_is_not_found(site: Any, tab: Any, clips: Path) -> None:
    alice = site.stack.api("alice")
    keys = alice.upload(clips / "song.wav", clips / "ref.wav")
    r = alice.post("/jobs", json={"targets": [keys[0]], "references": [keys[1]]})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    t: Tab = tab(site.url)
    t.signed_in(site.user("bob"), f"/console/jobs/{job_id}")
    err = t.page.locator("[data-testid=job-page] [data-testid=error]")
    err.wait_for()
    assert err.inner_text().startswith("E503: ")
    assert t.page.locator("[data-testid=job-name]").count() == 0


def test_admin_page_is_refused_by_the_api_for_non_admins(site: Any, tab: Any) -> None:
    t: Tab = tab(site.url)
    with t.page.expect_response(lambda r: r.url.endswith("/admin/stats")) as resp:
        t.signed_in(site.user("gina"), "/console/admin")
    assert resp.value.status == 403
    err = t.page.locator("[data-testid=admin-page] [data-testid=error]")
    err.wait_for()
    assert err.inner_text().startswith("E502: ")
    assert t.page.locator("[data-testid=failure-rate]").count() == 0
    assert "Admin" not in t.page.locator(".topbar nav").inner_text()


def test_admin_page_for_an_admin(site: Any, tab: Any) -> None:
    t: Tab = tab(site.url)
    t.signed_in(site.users["admin"], "/console/admin")
    p = t.page
    p.locator("[data-testid=failure-rate]").wait_for()
    new = f"hank-{secrets.token_hex(3)}"
    p.fill("[data-testid=new-user]", new)
    p.fill("[data-testid=new-password]", PASSWORD)
    p.click("text=Add user")
    row = p.locator("[data-testid=user-row]", has_text=new)
    row.wait_for()
    row.locator("button").click()
    p.locator("[data-testid=user-row]", has_text=new).filter(has_text="disabled").wait_for()
    # the disabled account cannot sign in
    t2: Tab = tab(site.url)
    t2.goto("/")
    t2.sign_in(new)
    assert t2.page.locator("[role=alert]").inner_text().startswith(ErrorCode.BAD_CREDENTIALS.value)


def test_pages_carry_a_strict_policy(site: Any) -> None:
    for path in ("/", "/console/jobs/x", "/docs"):
        r = httpx.get(site.url + path)
        csp = r.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "http" not in csp  # embedded: no other origin at all
    # the API's own paths keep answering JSON
    assert httpx.get(site.url + "/jobs/x").headers["content-type"].startswith("application/json")


def test_docs_work_offline_under_the_policy(site: Any, tab: Any) -> None:
    t: Tab = tab(site.url)
    t.goto("/docs")
    t.page.locator(".swagger-ui .opblock").first.wait_for()
    assert t.page.locator(".opblock-summary-path", has_text="/jobs/{job_id}").count() >= 1
    assert t.foreign_requests() == []
    assert t.csp_violations() == []


def test_console_pages_load_only_from_this_origin(site: Any, tab: Any, clips: Path) -> None:
    t: Tab = tab(site.url, "zh")
    t.signed_in(site.user("ivan"))
    for link in ("新建匹配", "任务"):
        t.page.click(f"text={link}")
    assert t.foreign_requests() == []
    assert t.csp_violations() == []
