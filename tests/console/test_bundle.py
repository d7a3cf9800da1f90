"""Acceptance 4 (size): the JavaScript of the console's first load is at most 300 kB gzipped,
and the build holds nothing secret or third-party-loaded."""

from __future__ import annotations

import gzip
import re

import pytest

from tests.console.conftest import DIST
from tests.server.conftest import unavailable

LIMIT_GZIP = 300_000


@pytest.fixture(scope="module")
def index() -> str:
    if not (DIST / "index.html").is_file():
        unavailable("the built web console", f"{DIST} (make setup with npm)")
    return (DIST / "index.html").read_text()


def first_load_scripts(index: str) -> list[str]:
    return re.findall(
        r'<(?:script[^>]*\bsrc|link[^>]*rel="modulepreload"[^>]*\bhref)="([^"]+)"', index
    )


def test_first_load_javascript_within_budget(
    index: str, capsys: pytest.CaptureFixture[str]
) -> None:
    scripts = first_load_scripts(index)
    assert scripts and all(s.startswith("/assets/") for s in scripts), scripts
    total = sum(len(gzip.compress((DIST / s.lstrip("/")).read_bytes(), 9)) for s in scripts)
    with capsys.disabled():
        print(
            f"\nconsole first-load JavaScript: {total / 1000:.1f} kB gzipped ({len(scripts)} file(s))"
        )
    assert total <= LIMIT_GZIP


def test_pages_have_no_inline_code_or_foreign_origins(index: str) -> None:
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", index) is None  # no inline script
    assert "<style" not in index and " style=" not in index
    assert re.search(r'(?:src|href)="(?:https?:)?//', index) is None


def test_bundle_holds_no_secrets(index: str) -> None:
    blob = "".join(p.read_text(errors="replace") for p in (DIST / "assets").glob("*.js"))
    for needle in (
        "JWT_SECRET",
        "S3_SECRET_KEY",
        "S3_ACCESS_KEY",
        "BEGIN PRIVATE KEY",
        'refresh_token":"',
    ):
        assert needle not in blob
