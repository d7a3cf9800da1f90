"""Benchmark (not a test): the console's job list with 1 000 jobs.

    python -m tests.console.bench_jobs [--jobs 1000]

An embedded stack without workers (jobs stay queued, so the list keeps polling), one user with
N jobs, headless chromium. Prints: first page shown, all N rows loaded ("Load more"), a filter
keystroke until the list has re-rendered, and the main thread's long tasks (> 50 ms) while
polling for 30 s with every job active.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.cloud.conftest import served
from tests.console.conftest import CHROMIUM, DIST
from tests.server.conftest import PASSWORD, make_music

LONGTASKS = """
window.__long = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); })
  .observe({ type: "longtask", buffered: true });
"""


def main() -> int:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--poll-s", type=float, default=30.0)
    a = ap.parse_args()
    if not (DIST / "index.html").is_file():
        print(f"console not built ({DIST}): run make setup with npm", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        make_music(tmp / "t.wav", 1.0, seed=1)
        make_music(tmp / "r.wav", 1.0, seed=2)
        with served(tmp, workers=0) as srv:
            api = srv.stack.api("bench")
            keys = api.upload(tmp / "t.wav", tmp / "r.wav")
            t0 = time.perf_counter()
            for i in range(a.jobs):
                body = {"targets": [keys[0]], "references": [keys[1]], "name": f"song {i:04d}"}
                r = api.post("/jobs", json=body)
                assert r.status_code == 202, r.text
            print(f"created {a.jobs} jobs in {time.perf_counter() - t0:.1f} s")
            with sync_playwright() as pw:
                b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                # bypass_csp: Playwright's wait_for_function evaluates strings (the benchmark
                # measures speed; the policy is checked by the tests)
                p = b.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
                p.add_init_script(LONGTASKS)
                p.goto(srv.url + "/")
                p.fill("input[name=username]", srv.stack.logins["bench"])
                p.fill("input[name=password]", PASSWORD)
                t0 = time.perf_counter()
                p.click("[data-testid=signin-form] button[type=submit]")
                p.locator("[data-testid=job-row]").first.wait_for()
                first = time.perf_counter() - t0
                t0 = time.perf_counter()
                count = p.locator("[data-testid=job-count]")

                def loaded() -> int:
                    return int(count.inner_text().split("/")[1])

                while p.locator("[data-testid=more]").count():
                    n = loaded()
                    p.click("[data-testid=more]")
                    while loaded() == n:
                        p.wait_for_timeout(5)
                rows = loaded()
                all_rows = time.perf_counter() - t0
                # filter keystrokes: input event -> list re-rendered (measured in the page)
                keys_ms = []
                for text in ("song 0", "song 09", "song 099", "", "song 1", ""):
                    keys_ms.append(
                        p.evaluate(
                            """(text) => new Promise((done) => {
                              const input = document.querySelector('[data-testid=text-filter]');
                              const t0 = performance.now();
                              const setter = Object.getOwnPropertyDescriptor(
                                HTMLInputElement.prototype, 'value').set;
                              setter.call(input, text);
                              input.dispatchEvent(new Event('input', { bubbles: true }));
                              requestAnimationFrame(() => setTimeout(
                                () => done(performance.now() - t0), 0));
                            })""",
                            text,
                        )
                    )
                # scroll the whole list (rows rendered as they come into view)
                scroll_ms = p.evaluate(
                    """() => new Promise((done) => {
                      const el = document.querySelector('[data-testid=job-list]');
                      const t0 = performance.now();
                      let y = 0;
                      const step = () => {
                        y += 400; el.scrollTop = y;
                        if (y < el.scrollHeight) requestAnimationFrame(step);
                        else done(performance.now() - t0);
                      };
                      step();
                    })"""
                )
                frames = rows * 41 / 400
                p.evaluate("window.__long = []")
                t0 = time.perf_counter()
                p.wait_for_timeout(int(a.poll_s * 1000))
                long_tasks = p.evaluate("window.__long")
                b.close()
    print(f"rows shown: {rows}")
    print(f"first page (100 rows) after sign-in: {first * 1000:.0f} ms")
    print(f"all {rows} rows loaded (Load more x{rows // 100 - 1}): {all_rows * 1000:.0f} ms")
    print(
        f"filter keystroke -> re-rendered: median {statistics.median(keys_ms):.1f} ms,"
        f" max {max(keys_ms):.1f} ms"
    )
    print(f"scrolled all rows: {scroll_ms:.0f} ms for {frames:.0f} frames of 400 px")
    lt = sorted(long_tasks)
    print(
        f"polling {a.poll_s:.0f} s with {rows} active jobs: {len(lt)} long tasks (>50 ms)"
        + (f", longest {lt[-1]:.0f} ms" if lt else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
