"""``make screenshots`` (web console part): sign-in, new match, a finished job with its plots
and the admin page, in en and zh, as PNGs.

    python -m tests.console.screenshots [OUTDIR]

Runs an embedded stack in this process (temporary data directory, throwaway accounts), one
real match on short generated clips, and Debian's chromium through Playwright. Needs the built
console (``make setup`` with npm).
"""

from __future__ import annotations

import secrets
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tests.cloud.conftest import served
from tests.console.conftest import CHROMIUM, DIST
from tests.server.conftest import PASSWORD, add_user, make_music

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

VIEW: ViewportSize = {"width": 1280, "height": 860}


def main(out: Path) -> int:
    from playwright.sync_api import sync_playwright

    if not (DIST / "index.html").is_file() or not Path(CHROMIUM).is_file():
        print(
            f"web console screenshots skipped: needs the built console ({DIST}, make setup with"
            f" npm) and chromium ({CHROMIUM})",
            file=sys.stderr,
        )
        return 0
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        admin = f"admin-{secrets.token_hex(2)}"
        make_music(tmp / "My song (mix 3).wav", 12.0, seed=1, level=0.15)
        make_music(tmp / "Reference — bright master.wav", 12.0, seed=2, bright=0.6, level=0.6)
        with served(tmp, workers=1, APP_ADMINS=admin) as srv:
            add_user(srv.stack.core.db, admin)
            add_user(srv.stack.core.db, "studio-b")
            from tests.server.client import Api

            api = Api(srv.stack.client)
            api.login(admin, PASSWORD)
            keys = api.upload(tmp / "My song (mix 3).wav", tmp / "Reference — bright master.wav")
            r = api.post(
                "/jobs",
                json={"targets": [keys[0]], "references": [keys[1]], "name": "My song (mix 3)"},
            )
            job = r.json()["id"]
            view = api.wait(job, timeout=180)
            assert view["state"] == "succeeded", view
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                for lang, locale in (("en", "en-US"), ("zh", "zh-CN")):
                    ctx = browser.new_context(locale=locale, viewport=VIEW)
                    p = ctx.new_page()
                    p.goto(srv.url + "/")
                    p.fill("input[name=username]", admin)
                    p.screenshot(path=str(out / f"console-signin-{lang}.png"))
                    p.fill("input[name=password]", PASSWORD)
                    p.click("[data-testid=signin-form] button[type=submit]")
                    p.wait_for_selector("[data-testid=who]")
                    p.click("nav a[href='/console/new']")
                    p.set_input_files("[data-testid=targets]", str(tmp / "My song (mix 3).wav"))
                    p.set_input_files(
                        "[data-testid=references]", str(tmp / "Reference — bright master.wav")
                    )
                    p.fill("input[name=eq_amount]", "80")
                    p.screenshot(path=str(out / f"console-new-match-{lang}.png"), full_page=True)
                    p.click("nav a[href='/console/jobs']")
                    p.locator("[data-testid=job-row]").first.wait_for()
                    p.screenshot(path=str(out / f"console-jobs-{lang}.png"))
                    p.click(f"a[href='/console/jobs/{job}']")  # in-page: the token lives in memory
                    p.wait_for_selector("[data-testid=job-state][data-state=succeeded]")
                    p.locator("[data-testid=curve-mid]").wait_for()
                    p.click("[data-testid=player-load]")
                    p.wait_for_selector(".ab")
                    p.screenshot(path=str(out / f"console-job-{lang}.png"), full_page=True)
                    p.click("nav a[href='/console/admin']")
                    p.wait_for_selector("[data-testid=failure-rate]")
                    p.screenshot(path=str(out / f"console-admin-{lang}.png"), full_page=True)
                    ctx.close()
                browser.close()
    for f in sorted(out.glob("console-*.png")):
        print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "artifacts/screenshots")))
