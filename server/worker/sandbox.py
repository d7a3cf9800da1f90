"""Decode, validate and run the engine in a child process with memory and time limits.

The child (``python -m server.worker.sandbox REQUEST RESULT``) limits itself before importing
the engine: address space (``RLIMIT_AS``), CPU time, file size, no core dumps, a new session,
death with its parent (``PR_SET_PDEATHSIG``), and, where the kernel lets it, an empty network
namespace. A crafted file can at worst kill the child: the parent turns that into a failed
job (never a dead worker) and the wall-clock limit ends hangs. Progress comes back as lines on
the child's stdout; the result (or an error code with parameters) as a JSON file.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.schema.errors import ErrorCode

PR_SET_PDEATHSIG = 1
CLONE_NEWNET = 0x40000000


class SandboxError(Exception):
    """The sandboxed operation failed; ``permanent`` errors are not retried."""

    def __init__(self, code: str, params: dict[str, Any], *, permanent: bool) -> None:
        super().__init__(f"{code} {params}")
        self.code = code
        self.params = params
        self.permanent = permanent


class Cancelled(Exception):
    """The operation was stopped because the task was canceled or its lease lost."""


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
    req.write_text(
        json.dumps({"op": op, "args": args, "mem_mb": mem_mb, "cpu_s": int(timeout_s) + 30}),
        encoding="utf-8",
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MALLOC_ARENA_MAX": "2",  # fewer 64 MB arena reservations under RLIMIT_AS
        "AUDIO_STYLE_SANDBOX_PARENT": str(os.getpid()),
    }
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES"):
        if k in os.environ:
            env[k] = os.environ[k]
    stderr_path = workdir / "sandbox-stderr.txt"
    with open(stderr_path, "wb") as err:
        p = subprocess.Popen(
            [sys.executable, "-m", "server.worker.sandbox", str(req), str(res)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=workdir,
            env=env,
            start_new_session=True,
        )
        reader = threading.Thread(target=_read_progress, args=(p, on_progress), daemon=True)
        reader.start()
        deadline = time.monotonic() + timeout_s
        reason = ""
        while p.poll() is None:
            if cancelled():
                reason = "canceled"
            elif time.monotonic() > deadline:
                reason = "timeout"
            if reason:
                _kill(p)
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(0.2)
        reader.join(timeout=5)
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
    rc = p.returncode
    tail = _tail(stderr_path)
    if rc is not None and rc < 0:
        sig = signal.Signals(-rc).name if -rc in signal.Signals._value2member_map_ else str(-rc)
        raise SandboxError(
            ErrorCode.INTERNAL.value,
            {"reason": f"decoder process killed by {sig}"},
            permanent=False,
        )
    raise SandboxError(
        ErrorCode.INTERNAL.value,
        {"reason": f"decoder process failed (exit {rc}): {tail}"},
        permanent=False,
    )


def _kill(p: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(p.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        p.kill()
    p.wait()


def _read_progress(p: subprocess.Popen[bytes], on_progress: Callable[[float, str], None]) -> None:
    assert p.stdout is not None
    for line in p.stdout:
        parts = line.decode("utf-8", "replace").split()
        if len(parts) >= 2 and parts[0] == "progress":
            try:
                on_progress(float(parts[1]), parts[2] if len(parts) > 2 else "")
            except ValueError:
                continue


def _tail(path: Path, n: int = 400) -> str:
    try:
        data = path.read_bytes()[-n:]
    except OSError:
        return ""
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


# --- child side -----------------------------------------------------------------------------


def _limit_self(mem_mb: int, cpu_s: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    with contextlib.suppress(Exception):
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    parent = os.environ.get("AUDIO_STYLE_SANDBOX_PARENT")
    if parent and os.getppid() != int(parent):
        os._exit(3)  # the parent died before we could ask to die with it
    with contextlib.suppress(Exception):
        libc.unshare(CLONE_NEWNET)  # no network, where permitted
    mem = mem_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    big = 64 * 1024**3
    resource.setrlimit(resource.RLIMIT_FSIZE, (big, big))


def main(argv: list[str]) -> int:
    req_path, res_path = Path(argv[0]), Path(argv[1])
    req = json.loads(req_path.read_text(encoding="utf-8"))
    _limit_self(int(req["mem_mb"]), int(req["cpu_s"]))
    progress_fd = os.dup(1)
    os.dup2(2, 1)  # library prints go to stderr; fd `progress_fd` carries progress lines
    sys.stdout = sys.stderr

    def progress(fraction: float, stage: str) -> None:
        with contextlib.suppress(OSError):
            os.write(progress_fd, f"progress {fraction:.4f} {stage or '-'}\n".encode())

    def write(obj: dict[str, Any]) -> None:
        tmp = res_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(obj), encoding="utf-8")
        os.replace(tmp, res_path)

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
            return 0
        write({"ok": True, "result": result})
        return 0
    except MemoryError:
        write(
            {
                "ok": False,
                "code": ErrorCode.JOB_FAILED.value,
                "params": {"reason": f"needs more than {req['mem_mb']} MB of memory"},
                "permanent": True,
            }
        )
        return 0
    except Exception as e:
        traceback.print_exc()
        write(
            {
                "ok": False,
                "code": ErrorCode.INTERNAL.value,
                "params": {"reason": f"{type(e).__name__}: {e}"[:300]},
                "permanent": False,
            }
        )
        return 0


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, str | int | float | bool) else str(v) for k, v in params.items()}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
