"""Client addresses and login throttling, over real HTTP: the API behind Debian's nginx with the
compose config (deploy/nginx), clients on distinct loopback addresses (127.0.0.N).

- A client rotating ``X-Forwarded-For`` (and ``X-Real-IP``) stays one address: the per-address
  tier stops it, and the audit log records the address nginx saw.
- 100 wrong passwords for one account from 100 addresses: the per-account tier stops them.
- The full stack with two API processes shares the counts through Redis.
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.api.proxy import client_address, parse_trusted
from tests.server.conftest import (
    PASSWORD,
    MotoServer,
    bucket_prefix,
    make_settings,
    s3_env,
    unavailable,
)
from tests.server.hardening import NGINX, ApiServer, Nginx

ACCOUNT_TIER = 5  # LOGIN_LIMIT_ACCOUNT default: 5 a minute
ADDRESS_TIER = 10  # LOGIN_LIMIT_ADDRESS default: 10 a minute


def _client(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def _login(url: str, address: str, user: str, password: str, **headers: str) -> httpx.Response:
    with _client(address) as c:
        return c.post(
            f"{url}/auth/token",
            data={"grant_type": "password", "username": user, "password": password},
            headers=headers,
        )


def _add_user(srv: ApiServer, data_dir: Path, name: str) -> None:
    import subprocess
    import sys

    from server.config import settings_env

    r = subprocess.run(
        [sys.executable, "-m", "server", "users", "add", name, "--password-stdin"],
        input=PASSWORD + "\n",
        text=True,
        capture_output=True,
        env={**settings_env(srv.settings), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert r.returncode == 0, r.stderr


@pytest.fixture
def behind_nginx(tmp_path: Path) -> Iterator[tuple[ApiServer, Nginx]]:
    if not NGINX.exists() or shutil.which("nginx", path="/usr/sbin") is None:
        unavailable("nginx", "/usr/sbin/nginx missing (apt-get install nginx)")
    settings = make_settings(tmp_path / "data", TRUSTED_PROXIES="127.0.0.1")
    srv = ApiServer(settings, tmp_path / "server.log", "--workers", "0")
    proxy = Nginx(srv.port, tmp_path / "nginx")
    yield srv, proxy
    proxy.stop()
    srv.stop()


def _audit(data_dir: Path, action: str) -> list[str]:
    with sqlite3.connect(data_dir / "audio-style.db") as db:
        rows = db.execute("SELECT ip FROM audit_log WHERE action = ?", (action,)).fetchall()
    return [r[0] for r in rows]


def test_spoofed_forwarded_for_cannot_lift_the_throttle(
    behind_nginx: tuple[ApiServer, Nginx],
) -> None:
    srv, proxy = behind_nginx
    statuses: Counter[int] = Counter()
    for i in range(40):  # other accounts each time: only the per-address tier can stop it
        fake = f"203.0.113.{i + 1}"
        r = _login(
            proxy.url,
            "127.0.0.200",
            f"nobody{i}",
            "wrong password",
            **{"X-Forwarded-For": fake, "X-Real-IP": fake},
        )
        statuses[r.status_code] += 1
        if r.status_code == 429:
            assert r.json()["code"] == "E507" and int(r.headers["retry-after"]) >= 1
        else:
            assert r.status_code == 401 and r.json()["code"] == "E514", r.text
    print(f"\nspoofed X-Forwarded-For, 40 attempts from one address: {dict(statuses)}")
    assert statuses[401] == ADDRESS_TIER and statuses[429] == 40 - ADDRESS_TIER
    # the audit log has the address nginx saw, never the spoofed one
    ips = _audit(srv.settings.data_dir, "login_failed")
    assert ips and set(ips) == {"127.0.0.200"}, set(ips)


def test_one_account_from_a_hundred_addresses_is_throttled(
    behind_nginx: tuple[ApiServer, Nginx],
) -> None:
    srv, proxy = behind_nginx
    _add_user(srv, srv.settings.data_dir, "victim")
    statuses: Counter[int] = Counter()
    for n in range(2, 102):
        r = _login(proxy.url, f"127.0.0.{n}", "victim", f"guess {n}")
        statuses[r.status_code] += 1
    print(f"\n100 wrong passwords for one account from 100 addresses: {dict(statuses)}")
    assert statuses[401] == ACCOUNT_TIER and statuses[429] == 100 - ACCOUNT_TIER
    ips = set(_audit(srv.settings.data_dir, "login_failed"))
    assert ips == {f"127.0.0.{n}" for n in range(2, 2 + ACCOUNT_TIER)}
    # even the right password waits for the window (the guesser cannot probe it either)
    r = _login(proxy.url, "127.0.0.150", "victim", PASSWORD)
    assert r.status_code == 429 and r.json()["code"] == "E507"


def test_direct_clients_cannot_choose_their_address(tmp_path: Path) -> None:
    """Without trusted proxies (the default) the header is ignored, embedded included."""
    srv = ApiServer(make_settings(tmp_path / "data"), tmp_path / "server.log", "--workers", "0")
    try:
        statuses: Counter[int] = Counter()
        for i in range(15):
            fake = f"198.51.100.{i}"
            r = _login(
                srv.url, "127.0.0.77", f"x{i}", "wrong password", **{"X-Forwarded-For": fake}
            )
            statuses[r.status_code] += 1
        assert statuses[401] == ADDRESS_TIER and statuses[429] == 15 - ADDRESS_TIER
        assert set(_audit(srv.settings.data_dir, "login_failed")) == {"127.0.0.77"}
    finally:
        srv.stop()


@pytest.fixture
def redis_url() -> str:
    url = "redis://127.0.0.1:6379/0"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as e:
        unavailable("Redis", e)
    return url


def test_full_stack_processes_share_the_throttle(
    pg_url: str,
    amqp_url: str,
    queue_name: str,
    moto: MotoServer,
    redis_url: str,
    tmp_path: Path,
) -> None:
    env = {
        "DB_URL": pg_url,
        "QUEUE_URL": amqp_url,
        "QUEUE_NAME": queue_name,
        "RATE_LIMIT_STORAGE": redis_url,
        "RATE_LIMIT_PREFIX": f"as-test-{secrets.token_hex(4)}",
        "RATE_LIMIT_AUTH_PER_MIN": "0",  # the /auth bucket off: only the login tiers there
        "RATE_LIMIT_USER_PER_MIN": "6",  # 3 at once, then 1 per 10 s: shared as well
        "RATE_LIMIT_USER_BURST": "3",
        **s3_env(moto, bucket_prefix()),
    }
    settings = make_settings(tmp_path / "api", **env)
    srv = ApiServer(settings, tmp_path / "server.log", "--processes", "2")
    try:
        name = f"victim-{secrets.token_hex(3)}"
        _add_user(srv, settings.data_dir, name)
        statuses: Counter[int] = Counter()
        for n in range(2, 42):  # new connections: the kernel spreads them over both processes
            r = _login(srv.url, f"127.0.0.{n}", name, "wrong password")
            statuses[r.status_code] += 1
        print(f"\nfull stack, 2 API processes, Redis: {dict(statuses)}")
        assert statuses[401] == ACCOUNT_TIER and statuses[429] == 40 - ACCOUNT_TIER
        # the per-user request limit is shared too: new connections, both processes
        other = f"user-{secrets.token_hex(3)}"
        _add_user(srv, settings.data_dir, other)
        token = _login(srv.url, "127.0.0.60", other, PASSWORD).json()["access_token"]
        got: Counter[int] = Counter()
        for n in range(8):
            with _client(f"127.0.0.{70 + n}") as c:
                r = c.get(f"{srv.url}/jobs", headers={"Authorization": f"Bearer {token}"})
            got[r.status_code] += 1
        print(f"per-user limit (burst 3) over 2 processes: {dict(got)}")
        assert got == {200: 3, 429: 5}
    finally:
        srv.stop()


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("10.0.0.9", ["1.2.3.4"], "10.0.0.9"),  # untrusted peer: header ignored
        ("127.0.0.1", ["6.6.6.6, 9.9.9.9"], "9.9.9.9"),  # rightmost untrusted hop
        ("127.0.0.1", ["6.6.6.6", "9.9.9.9, 127.0.0.1"], "9.9.9.9"),  # chained proxies
        ("127.0.0.1", ["garbage, 9.9.9.9"], "9.9.9.9"),
        ("127.0.0.1", ["9.9.9.9, garbage"], "127.0.0.1"),  # the hop's own entry is garbage
        ("127.0.0.1", [], "127.0.0.1"),
    ],
)
def test_client_address_is_the_rightmost_untrusted_hop(
    peer: str, xff: list[str], expected: str
) -> None:
    trusted = parse_trusted("127.0.0.1, 10.1.0.0/16")
    assert client_address(peer, [v.encode() for v in xff], trusted) == expected


def test_trusting_every_peer_is_refused() -> None:
    with pytest.raises(ValueError, match="every client"):
        parse_trusted("*")
    assert parse_trusted("") == ()
