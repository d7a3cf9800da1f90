"""A burst load generator for ``POST /jobs``: ``n`` requests released at the same instant on
``n`` pre-opened keep-alive connections, each with its own ``Idempotency-Key``.

Run as its own process (``python -m tests.server.loadgen SPEC.json``) so that the test
process's heap and garbage collector stay out of the measurement; a minimal HTTP/1.1 client on
raw asyncio streams (uvloop when installed), requests pre-built, the collector off: what it
measures is the server, not an HTTP client library. Prints one JSON object: per-request
``[status, seconds]`` and the generator's own CPU time.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any


async def burst(host: str, port: int, token: str, body: dict[str, Any], n: int) -> list[Any]:
    payload = json.dumps(body).encode()

    def request(i: int) -> bytes:
        return (
            f"POST /jobs HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nIdempotency-Key: load-{time.time_ns()}-{i}\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload

    async def send(r: asyncio.StreamReader, w: asyncio.StreamWriter, req: bytes) -> int:
        w.write(req)
        head = await r.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await r.readexactly(length)
        return int(head.split(b" ", 2)[1])

    conns = [await asyncio.open_connection(host, port) for _ in range(n)]
    for j, (r, w) in enumerate(conns[:5]):  # warm-up: first requests of the process
        await send(r, w, request(n + j))
    reqs = [request(i) for i in range(n)]
    start = asyncio.Event()

    async def one(i: int) -> tuple[int, float]:
        r, w = conns[i]
        await start.wait()
        t0 = time.perf_counter()
        try:
            code = await send(r, w, reqs[i])
        except (OSError, asyncio.IncompleteReadError, ValueError):
            code = 0
        return code, time.perf_counter() - t0

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    await asyncio.sleep(0.2)  # every task waiting on the event
    start.set()
    out = list(await asyncio.gather(*tasks))
    for _, w in conns:
        w.close()
    return out


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    gc.disable()
    run: Callable[[Coroutine[Any, Any, list[Any]]], list[Any]]
    try:
        import uvloop

        run = uvloop.run
    except ImportError:  # pragma: no cover
        run = asyncio.run
    t0 = time.process_time()
    results = run(burst(spec["host"], spec["port"], spec["token"], spec["body"], spec["n"]))
    print(json.dumps({"results": results, "client_cpu_s": time.process_time() - t0}))


if __name__ == "__main__":
    main()
