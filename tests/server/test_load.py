"""Load on loopback: 200 concurrent ``POST /jobs`` against a real uvicorn server process.

Every request must succeed (202). The latency figures are printed (``-s``) and written to
``$AUDIO_STYLE_LOAD_REPORT`` when set; the p95 target (100 ms) is reported, not asserted,
since the figure depends on the machine's load.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.config import Settings
from tests.server.conftest import PASSWORD, Proc, add_user, make_settings, wait_for

CONCURRENCY = int(os.environ.get("AUDIO_STYLE_LOAD_N", "200"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _burst(base: str, token: str, body: dict[str, Any], n: int) -> list[tuple[int, float]]:
    """``n`` requests released at once on ``n`` pre-opened keep-alive connections.

    A minimal HTTP/1.1 client on raw asyncio streams: httpx's own per-request cost on the
    client side would dominate what is measured on a small machine."""
    host, port = base.split("//", 1)[1].split(":")
    payload = json.dumps(body).encode()
    req = (
        f"POST /jobs HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload

    async def send(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> int:
        w.write(req)
        await w.drain()
        head = await r.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await r.readexactly(length)
        return int(head.split(b" ", 2)[1])

    conns = [await asyncio.open_connection(host, int(port)) for _ in range(n)]
    for r, w in conns[:5]:  # warm-up
        await send(r, w)
    start = asyncio.Event()

    async def one(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> tuple[int, float]:
        await start.wait()
        t0 = time.perf_counter()
        try:
            code = await send(r, w)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            code = 0
        dt = time.perf_counter() - t0
        w.close()
        return code, dt

    tasks = [asyncio.create_task(one(r, w)) for r, w in conns]
    await asyncio.sleep(0.2)
    start.set()
    return list(await asyncio.gather(*tasks))


def _run(
    settings: Settings, tmp: Path, audio_dir: Path, label: str, processes: int = 1
) -> dict[str, Any]:
    from server.db.migrate import upgrade
    from server.db.session import Database

    port = _free_port()
    s = settings.with_(public_url=f"http://127.0.0.1:{port}")
    db = Database(s.db_url)
    upgrade(db)
    name = f"load{os.getpid()}{port}"
    add_user(db, name)
    db.dispose()
    args = ["server", "--port", str(port), "--workers", "0", "--processes", str(processes)]
    proc = Proc(args, s, tmp / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(base), 60, f"server: {proc.tail()}", 0.3)
        with httpx.Client(base_url=base, timeout=30) as c:
            tok = c.post(
                "/auth/token",
                data={"grant_type": "password", "username": name, "password": PASSWORD},
            ).json()["access_token"]
            h = {"Authorization": f"Bearer {tok}"}
            files = [audio_dir / "mono.wav", audio_dir / "mono_ref.wav"]
            grant = c.post(
                "/uploads",
                json={"files": [{"name": p.name, "size": p.stat().st_size} for p in files]},
                headers=h,
            ).json()
            for p, t in zip(files, grant["files"], strict=True):
                if t["method"] == "POST":
                    r = httpx.post(t["url"], data=t["fields"], files={"file": p.read_bytes()})
                else:
                    r = httpx.put(t["url"], content=p.read_bytes(), headers=t["headers"])
                assert r.status_code in (200, 204), r.text
        body = {"targets": [grant["files"][0]["key"]], "references": [grant["files"][1]["key"]]}
        results = asyncio.run(_burst(base, tok, body, CONCURRENCY))
    finally:
        proc.stop()
    codes = [c for c, _ in results]
    lat = sorted(t for _, t in results)
    q = statistics.quantiles(lat, n=100)
    figures = {
        "stack": label,
        "api_processes": processes,
        "requests": len(results),
        "errors": sum(1 for c in codes if c != 202),
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
        "max_ms": round(lat[-1] * 1000, 1),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg()[0],
    }
    print(f"\nload {label}: {json.dumps(figures)}")
    out = os.environ.get("AUDIO_STYLE_LOAD_REPORT")
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(figures) + "\n")
    assert figures["errors"] == 0, codes
    return figures


def _up(base: str) -> bool:
    try:
        return httpx.get(base + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_load_embedded(tmp_path: Path, audio_dir: Path) -> None:
    _run(make_settings(tmp_path / "data"), tmp_path, audio_dir, "embedded (SQLite, local disk)")


@pytest.mark.services
def test_load_full_stack(
    pg_url: str, amqp_url: str, queue_name: str, tmp_path: Path, audio_dir: Path
) -> None:
    env = {"DB_URL": pg_url, "QUEUE_URL": amqp_url, "QUEUE_NAME": queue_name}
    processes = int(os.environ.get("AUDIO_STYLE_LOAD_PROCESSES", "2"))
    _run(
        make_settings(tmp_path / "data", **env),
        tmp_path,
        audio_dir,
        "PostgreSQL + RabbitMQ",
        processes,
    )
