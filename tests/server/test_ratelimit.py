"""Rate limits: 429 + E507 + Retry-After per user and, on /auth, per client address;
configured by RATE_LIMIT_*; off in embedded mode unless set, on in the full stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.api.ratelimit import RateLimiter
from tests.server.conftest import Stack, make_settings


def test_token_bucket() -> None:
    lim = RateLimiter(per_min=60, burst=3)
    assert [lim.hit("a", now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = lim.hit("a", now=100.0)
    assert wait == pytest.approx(1.0)
    assert lim.hit("b", now=100.0) == 0.0  # buckets are per key
    assert lim.hit("a", now=100.5) == pytest.approx(0.5)  # refused requests take nothing
    assert lim.hit("a", now=101.0) == 0.0
    assert lim.hit("a", now=101.0) > 0
    assert lim.hit("a", now=1000.0) == 0.0  # refilled, capped at the burst
    assert [lim.hit("a", now=1000.0) for _ in range(3)][-1] > 0
    off = RateLimiter(per_min=0, burst=1)
    assert not off.enabled and all(off.hit("a", now=1.0) == 0.0 for _ in range(100))


def test_bucket_memory_is_bounded() -> None:
    lim = RateLimiter(per_min=60, burst=2, max_keys=100)
    for i in range(1000):
        assert lim.hit(f"k{i}", now=float(i)) == 0.0
    assert len(lim._buckets) <= 100


def test_defaults_by_mode(tmp_path: Path) -> None:
    emb = make_settings(tmp_path / "e")
    assert emb.rate_limit_user_per_min == 0 and emb.rate_limit_auth_per_min == 0
    full = make_settings(tmp_path / "f", QUEUE_URL="amqp://x")
    assert full.rate_limit_user_per_min == 600 and full.rate_limit_user_burst == 300
    assert full.rate_limit_auth_per_min == 30 and full.rate_limit_auth_burst == 20
    off = make_settings(tmp_path / "o", QUEUE_URL="amqp://x", RATE_LIMIT_USER_PER_MIN="0")
    assert off.rate_limit_user_per_min == 0
    on = make_settings(tmp_path / "n", RATE_LIMIT_AUTH_PER_MIN="5", RATE_LIMIT_AUTH_BURST="2")
    assert (on.rate_limit_auth_per_min, on.rate_limit_auth_burst) == (5, 2)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Stack]:
    env = {
        "RATE_LIMIT_USER_PER_MIN": "6",  # one every 10 s
        "RATE_LIMIT_USER_BURST": "4",
        "RATE_LIMIT_AUTH_PER_MIN": "6",
        "RATE_LIMIT_AUTH_BURST": "3",
    }
    st = Stack(make_settings(tmp_path / "data", **env), workers=0)
    yield st
    st.close()


def test_per_user_limit(limited: Stack) -> None:
    alice, bob = limited.api("alice"), limited.api("bob")
    assert all(alice.get("/jobs").status_code == 200 for _ in range(4))
    r = alice.get("/jobs", headers={"Accept-Language": "zh"})
    assert r.status_code == 429
    assert r.json() == {"code": "E507", "message": "请求过多，请稍后再试"}
    assert 1 <= int(r.headers["Retry-After"]) <= 10
    r = alice.get("/jobs/nope")
    assert r.status_code == 429 and r.json()["code"] == "E507"
    assert bob.get("/jobs").status_code == 200  # others are not affected
    assert limited.client.get("/health").status_code == 200  # unauthenticated ops: no limit
    metrics = limited.client.get("/metrics").text
    assert 'audio_style_rate_limited_total{scope="user"}' in metrics


def test_per_address_limit_on_auth(limited: Stack) -> None:
    c = limited.client
    form = {"grant_type": "password", "username": "nobody", "password": "wrong password"}
    codes = [c.post("/auth/token", data=form).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    r = c.post("/auth/token", data=form)
    assert r.status_code == 429 and r.json()["code"] == "E507"
    assert 1 <= int(r.headers["Retry-After"]) <= 10
    r = c.post("/auth/token", data={"grant_type": "refresh_token", "refresh_token": "x.y"})
    assert r.status_code == 429  # every /auth endpoint shares the address's bucket


def test_embedded_default_is_unlimited(embedded_idle: Stack) -> None:
    api = embedded_idle.api("carol")
    assert all(api.get("/jobs").status_code == 200 for _ in range(400))
