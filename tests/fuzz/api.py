"""Schema-based fuzzing of the API (schemathesis over the server's own OpenAPI spec), over real
HTTP against an embedded server in a child process, with a signed-in user's token.
``python -m tests.fuzz.api --max-examples N``: the request count and the server errors are read
from the server's own metrics (``audio_style_http_requests_total`` by status), so they are the
server's figures, not the fuzzer's; any 5xx fails the run."""

from __future__ import annotations

import argparse
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "fuzzing horse battery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def requests_by_status(url: str) -> dict[str, float]:
    """Requests the server has answered, by status (from its /metrics)."""
    out: dict[str, float] = {}
    text = httpx.get(f"{url}/metrics", timeout=30).text
    for m in re.finditer(r"^audio_style_http_requests_total\{(.*?)\} (\S+)$", text, re.M):
        status = re.search(r'status="(\d+)"', m.group(1))
        if status:
            out[status.group(1)] = out.get(status.group(1), 0.0) + float(m.group(2))
    return out


def run(max_examples: int, seed: int, workdir: Path, phases: str | None = None) -> int:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    data = workdir / "data"
    env = {
        **os.environ,
        "JWT_SECRET": secrets.token_urlsafe(48),
        "ACCESS_TOKEN_TTL_S": "86400",
        "PUBLIC_URL": url,
        "PYTHONPATH": str(ROOT),
    }
    for k in ("DB_URL", "QUEUE_URL", "S3_ENDPOINT", "AUDIO_STYLE_ENV_FILE"):
        env.pop(k, None)
    py = sys.executable
    subprocess.run(
        [py, "-m", "server", "users", "add", "fuzz", "--password-stdin", "--data-dir", str(data)],
        input=PASSWORD + "\n", text=True, env=env, check=True, capture_output=True,
    )  # fmt: skip
    log = (workdir / "server.log").open("wb")
    server = subprocess.Popen(
        [py, "-m", "server", "server", "--port", str(port), "--data-dir", str(data)]
        + ["--workers", "0"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("fuzz api: the server did not start")
            time.sleep(0.2)
        token = httpx.post(
            f"{url}/auth/token",
            data={"grant_type": "password", "username": "fuzz", "password": PASSWORD},
        ).json()["access_token"]
        before = requests_by_status(url)
        cmd = [str(Path(py).parent / "schemathesis"), "run", f"{url}/openapi.json"]
        cmd += ["--checks", "not_a_server_error", "--max-examples", str(max_examples)]
        cmd += ["--seed", str(seed), "-H", f"Authorization: Bearer {token}"]
        cmd += ["--suppress-health-check", "all", "--request-timeout", "30"]
        if phases:
            cmd += ["--phases", phases]
        fuzz = subprocess.run(cmd, cwd=workdir, env=env, check=False)
        after = requests_by_status(url)
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    counts = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    total = int(sum(counts.values()))
    errors = int(sum(v for k, v in counts.items() if k.startswith("5")))
    by_status = ", ".join(f"{k}: {int(v)}" for k, v in sorted(counts.items()) if v)
    print(f"fuzz api: {total} requests answered ({by_status}); {errors} server errors (5xx)")
    if errors:
        tail = (workdir / "server.log").read_text(errors="replace")[-4000:]
        print(tail, file=sys.stderr)
    return 1 if errors or fuzz.returncode != 0 else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.api")
    ap.add_argument("--max-examples", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--phases", default=None, help="schemathesis phases (default: all)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fuzz-api-") as tmp:
        return run(args.max_examples, args.seed, Path(tmp), args.phases)


if __name__ == "__main__":
    sys.exit(main())
