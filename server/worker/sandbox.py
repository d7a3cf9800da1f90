"""Decode, validate and run the engine in a child process with memory and time limits.

Children are forked from a multiprocessing *forkserver* that imported the engine once
(``set_forkserver_preload``), so a task does not pay for a Python start and the numpy/scipy
imports. Right after the fork the child limits itself: address space (``RLIMIT_AS``), CPU
time, file size, no core dumps, death with its parent (``PR_SET_PDEATHSIG``; the forkserver
itself exits when the worker dies), and, where the kernel lets it, an empty network namespace.
A crafted file can at worst kill the child: the parent turns that into a failed task (never a
dead worker) and a wall-clock limit ends hangs. Progress comes back through a pipe; the result
(or an error code with parameters) as a JSON file in the task's work directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import multiprocessing as mp
import multiprocessing.connection
import os
import resource
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.atomic import write_atomic
from engine.schema.errors import ErrorCode

PR_SET_PDEATHSIG = 1
CLONE_NEWNET = 0x40000000
M_ARENA_MAX = -8
PRELOAD = ["server.worker.ops"]
_ctx_lock = threading.Lock()
_ctx: Any = None


class SandboxError(Exception):
    """The sandboxed operation failed; ``permanent`` errors are not retried."""

    def __init__(self, code: str, params: dict[str, Any], *, permanent: bool) -> None:
        super().__init__(f"{code} {params}")
        self.code = code
        self.params = params
        self.permanent = permanent


class Cancelled(Exception):
    """The operation was stopped because the task was canceled or its lease lost."""


def _context() -> Any:
    global _ctx
    with _ctx_lock:
        if _ctx is None:
            if "forkserver" in mp.get_all_start_methods():
                _ctx = mp.get_context("forkserver")
                _ctx.set_forkserver_preload(PRELOAD)
            else:  # pragma: no cover (non-Linux)
                _ctx = mp.get_context("spawn")
        return _ctx


def warm() -> None:
    """Start the forkserver (and its engine imports) now rather than on the first task."""
    ctx = _context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def run(
    op: str,
    args: dict[str, Any],
    *,
    workdir: Path,
    mem_mb: int,
    timeout_s: float,
    cancelled: Callable[[], bool] = lambda: False,
    on_progress: Callable[[float, str], None] = lambda f, s: None,
) -> dict[str, Any]:
    """Run ``op`` in a limited child process; returns its result dict."""
    req, res = workdir / "sandbox-request.json", workdir / "sandbox-result.json"
    res.unlink(missing_ok=True)
    limits = {"mem_mb": mem_mb, "cpu_s": int(timeout_s) + 30}
    req.write_text(json.dumps({"op": op, "args": args, **limits}), encoding="utf-8")
    ctx = _context()
    recv, send = ctx.Pipe(duplex=False)
    p = ctx.Process(target=child_main, args=(str(req), str(res), send), name=f"sandbox-{op}")
    p.start()
    send.close()
    reader = threading.Thread(target=_read_progress, args=(recv, on_progress), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout_s
    reason = ""
    while p.is_alive():
        if cancelled():
            reason = "canceled"
        elif time.monotonic() > deadline:
            reason = "timeout"
        if reason:
            p.kill()
            break
        p.join(0.2)
    p.join()
    reader.join(timeout=5)
    recv.close()
    if reason == "canceled":
        raise Cancelled()
    if reason == "timeout":
        raise SandboxError(
            ErrorCode.JOB_FAILED.value,
            {"reason": f"processing took longer than {int(timeout_s)} s"},
            permanent=True,
        )
    try:
        out = json.loads(res.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        out = None
    if isinstance(out, dict) and out.get("ok"):
        result: dict[str, Any] = out.get("result") or {}
        return result
    if isinstance(out, dict) and "code" in out:
        raise SandboxError(
            str(out["code"]), dict(out.get("params") or {}), permanent=bool(out.get("permanent"))
        )
    rc = p.exitcode
    if rc is not None and rc < 0:
        sig = signal.Signals(-rc).name if -rc in signal.Signals._value2member_map_ else str(-rc)
        reason_ = f"decoder process killed by {sig}"
    else:
        reason_ = f"decoder process failed (exit {rc})"
    raise SandboxError(ErrorCode.INTERNAL.value, {"reason": reason_}, permanent=False)


def _read_progress(
    conn: multiprocessing.connection.Connection, on_progress: Callable[[float, str], None]
) -> None:
    while True:
        try:
            fraction, stage = conn.recv()
        except (EOFError, OSError, ValueError, TypeError):
            return
        with contextlib.suppress(Exception):
            on_progress(float(fraction), str(stage))


# --- child side -----------------------------------------------------------------------------


def _limit_self(mem_mb: int, cpu_s: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getppid()
    with contextlib.suppress(Exception):
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(3)  # the parent died before we could ask to die with it
    with contextlib.suppress(Exception):
        libc.unshare(CLONE_NEWNET)  # no network, where permitted
    with contextlib.suppress(Exception):
        libc.mallopt(M_ARENA_MAX, 2)  # fewer 64 MB arena reservations under RLIMIT_AS
    mem = mem_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    big = 64 * 1024**3
    resource.setrlimit(resource.RLIMIT_FSIZE, (big, big))


def child_main(
    req_path: str, res_path: str, progress_conn: multiprocessing.connection.Connection
) -> None:
    """Entry point of a sandbox child (after the fork)."""
    req = json.loads(Path(req_path).read_text(encoding="utf-8"))
    workdir = Path(req_path).parent
    (workdir / "sandbox.pid").write_text(str(os.getpid()))
    _limit_self(int(req["mem_mb"]), int(req["cpu_s"]))
    os.chdir(workdir)
    os.environ["TMPDIR"] = str(workdir)
    tempfile.tempdir = str(workdir)
    res = Path(res_path)

    def progress(fraction: float, stage: str) -> None:
        with contextlib.suppress(Exception):
            progress_conn.send((fraction, stage or "-"))

    def write(obj: dict[str, Any]) -> None:
        write_atomic(res, json.dumps(obj).encode("utf-8"))

    try:
        from engine.schema.errors import AudioStyleError
        from server.worker import ops

        try:
            result = ops.dispatch(req["op"], req["args"], progress)
        except AudioStyleError as e:
            code = e.code.value
            permanent = not code.startswith("E4") or code == ErrorCode.CANCELED.value
            write(
                {"ok": False, "code": code, "params": _jsonable(e.params), "permanent": permanent}
            )
            return
        write({"ok": True, "result": result})
    except MemoryError:
        write(
            {
                "ok": False,
                "code": ErrorCode.JOB_FAILED.value,
                "params": {"reason": f"needs more than {req['mem_mb']} MB of memory"},
                "permanent": True,
            }
        )
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        write(
            {
                "ok": False,
                "code": ErrorCode.INTERNAL.value,
                "params": {"reason": f"{type(e).__name__}: {e}"[:300]},
                "permanent": False,
            }
        )
    finally:
        progress_conn.close()


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, str | int | float | bool) else str(v) for k, v in params.items()}
