"""Request bodies are capped while they stream in, before authentication, on every route of
both stacks: a chunked 1 GiB body with no token is answered 413 after at most its route's cap,
and the server's peak memory does not grow with it (real HTTP, servers in child processes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.api.limits import FORM_BODY, JSON_BODY
from tests.server.conftest import MotoServer, bucket_prefix, make_settings, s3_env
from tests.server.hardening import ApiServer, chunked_flood, rss_peak_bytes

GIB = 1 << 30
MAX_RSS_RISE = 50 * 1024 * 1024


@pytest.fixture
def embedded_server(tmp_path: Path) -> Iterator[ApiServer]:
    srv = ApiServer(make_settings(tmp_path / "data"), tmp_path / "server.log", "--workers", "0")
    yield srv
    srv.stop()


@pytest.fixture
def full_server(
    pg_url: str, amqp_url: str, queue_name: str, moto: MotoServer, tmp_path: Path
) -> Iterator[ApiServer]:
    env = {"DB_URL": pg_url, "QUEUE_URL": amqp_url, "QUEUE_NAME": queue_name}
    settings = make_settings(tmp_path / "api", **env, **s3_env(moto, bucket_prefix()))
    srv = ApiServer(settings, tmp_path / "server.log")
    yield srv
    srv.stop()


def _routes(url: str) -> list[tuple[str, str, str]]:
    """(method, path, content type) of every route in the spec (path parameters filled in,
    the body in the type the route reads), plus a POST to every path and to an unknown one."""
    spec = httpx.get(f"{url}/openapi.json").json()
    out: list[tuple[str, str, str]] = []
    for template, ops in spec["paths"].items():
        path = re.sub(r"\{[^}]+\}", "x", template)
        for method, op in ops.items():
            ctype = next(iter(op.get("requestBody", {}).get("content", {})), "application/json")
            out.append((method.upper(), path, ctype))
            out.append(("POST", path, ctype))
    out.append(("POST", "/no/such/route", "application/json"))
    return sorted(set(out))


def _flood_every_route(srv: ApiServer) -> None:
    routes = _routes(srv.url)
    for method, path, _ in routes:  # warm up: every route once, small
        httpx.request(method, srv.url + path, content=b"{}", timeout=30)
    before = rss_peak_bytes(srv.pid)
    answers = {}
    for method, path, ctype in routes:
        f = chunked_flood(srv.port, method, path, total=GIB, headers={"Content-Type": ctype})
        answers[(method, path)] = f
        # answered within its cap (plus what the kernel buffers took before the answer)
        assert f.sent < JSON_BODY + (16 << 20), (method, path, f.sent)
    rise = rss_peak_bytes(srv.pid) - before
    print(
        f"\n{len(routes)} routes, chunked 1 GiB each, no token: statuses "
        f"{sorted({(f.status) for f in answers.values()}, key=str)}, "
        f"most sent {max(f.sent for f in answers.values()) / 2**20:.1f} MiB, "
        f"peak RSS rise {rise / 2**20:.1f} MiB"
    )
    bad = {k: f.status for k, f in answers.items() if f.status != 413}
    assert not bad, bad
    assert rise < MAX_RSS_RISE, rise
    # an upload URL with a forged signature: refused before a byte is read
    forged = chunked_flood(srv.port, "PUT", "/storage/audio/a.wav?op=put&max=9999999999&sig=x")
    assert forged.status in (404, 413) and forged.sent < 16 << 20, forged
    # declared lengths over the cap: refused before the body is read
    r = httpx.post(
        f"{srv.url}/auth/token",
        content=b"a" * (FORM_BODY + 1),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413 and r.json()["code"] == "E513"
    # and ordinary requests still work
    assert httpx.get(f"{srv.url}/health").status_code == 200


def test_chunked_gigabyte_is_refused_on_every_route_embedded(embedded_server: ApiServer) -> None:
    _flood_every_route(embedded_server)


def test_chunked_gigabyte_is_refused_on_every_route_full_stack(full_server: ApiServer) -> None:
    _flood_every_route(full_server)
