"""The worker: claim a task, stream its inputs from storage, run the engine in the sandbox,
write the outputs, commit (fenced), then ack the message.

A message is acked only after the database transaction that records the outcome committed
(or when there was nothing to claim). Killed before that, the broker redelivers the message;
the redelivery finds the task still leased and is dropped, and once the lease expires the
scheduler re-queues the task with a new attempt number, so the killed attempt's late writes
(if its process was merely frozen) match no row.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.atomic import atomic_path
from engine.schema.errors import ErrorCode
from engine.schema.jobs import JobSpec
from server import jobstore
from server import metrics as job_metrics
from server.config import Settings
from server.db.session import Database, now_epoch
from server.jobstore import Claim, ResultKeys
from server.queue.base import Delivery, TaskQueue
from server.scheduler import chunking
from server.storage.base import Storage, StorageError
from server.worker import metrics
from server.worker import sandbox as sb
from server.worker.public import display_name, public_params
from server.worker.scan import Infected, ScanUnavailable, scanner_for

log = logging.getLogger(__name__)
CONTENT_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "json": "application/json"}


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _export_files(work: Path) -> dict[str, str]:
    """Where the sandbox writes a result's preset exports, by format."""
    return {fmt: str(work / f"preset{sfx}") for fmt, sfx in jobstore.EXPORT_SUFFIXES.items()}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def gpu_enabled(settings: Settings) -> bool:
    """``ENABLE_GPU`` (the GPU worker's deployment sets it; default off)."""
    v = str(settings.extra.get("ENABLE_GPU", "")).strip().lower()
    return v in ("1", "true", "yes", "on")


def job_device(requested: str, settings: Settings) -> str:
    """The engine device a job runs with: a worker without ``ENABLE_GPU`` computes ``auto``
    jobs on the CPU (a ``gpu`` job fails there with the engine's E402, which is retryable, so
    another worker may take it); with it, ``auto`` uses the GPU when onnxruntime finds one."""
    if requested == "auto" and not gpu_enabled(settings):
        return "cpu"
    return requested


def events_job_id(db: Database, task_id: str) -> str | None:
    from server.db.models import Task

    with db.session() as s:
        return s.execute(select(Task.job_id).where(Task.id == task_id)).scalar_one_or_none()


class InputCache:
    """Downloaded inputs keyed by (bucket, key, etag), evicted least-recently-used."""

    def __init__(self, root: Path, max_bytes: int = 8 * 1024**3) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def get(self, storage: Storage, bucket: str, key: str) -> Path:
        info = storage.head(bucket, key)
        if info is None:
            raise StorageError(f"missing object {bucket}/{key}")
        digest = hashlib.sha256(f"{bucket}\n{key}\n{info.etag}\n{info.size}".encode()).hexdigest()
        suffix = Path(key).suffix.lower()[:8]
        path = self.root / f"{digest[:40]}{suffix}"
        if path.exists():
            with contextlib.suppress(OSError):
                os.utime(path)
            return path
        with atomic_path(path, prefix=".dl-") as tmp:  # fsynced, renamed, directory fsynced
            storage.get_file(bucket, key, tmp)
        self._evict()
        return path

    def _evict(self) -> None:
        with self._lock:
            files = [p for p in self.root.iterdir() if p.is_file() and not p.name.startswith(".")]
            stats = [(p.stat().st_atime, p.stat().st_size, p) for p in files]
            total = sum(s for _, s, _ in stats)
            for _, size, p in sorted(stats, key=lambda t: t[0]):
                if total <= self.max_bytes:
                    break
                p.unlink(missing_ok=True)
                total -= size


class _Heartbeat:
    """Extends the lease while a task runs; flags ``lost`` when the attempt is no longer ours
    (re-claimed after a lease expiry, or the job was canceled)."""

    def __init__(self, w: Worker, c: Claim) -> None:
        self.w, self.c = w, c
        self.lost = threading.Event()
        self.stop = threading.Event()
        self.progress, self.stage = 0.0, c.kind
        self.t = threading.Thread(target=self._run, name=f"hb-{c.task_id[:8]}", daemon=True)
        self.t.start()

    def _run(self) -> None:
        s = self.w.settings
        while not self.stop.wait(s.heartbeat_s):
            try:
                with self.w.db.session() as db:
                    ok = jobstore.heartbeat(
                        db, self.c.task_id, self.c.attempt, s.lease_s, self.progress, self.stage
                    )
                if not ok:
                    self.lost.set()
                    return
            except Exception as e:  # database blip: the lease may expire; commit is fenced
                log.warning("heartbeat failed: %r", e)

    def update(self, fraction: float, stage: str) -> None:
        self.progress, self.stage = max(0.0, min(1.0, fraction)), stage or self.stage

    def close(self) -> None:
        self.stop.set()
        self.t.join(timeout=5)


class Worker:
    """Runs tasks delivered by a :class:`TaskQueue`."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        storage: Storage,
        queue: TaskQueue,
        *,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.storage = storage
        self.queue = queue
        self.worker_id = worker_id or default_worker_id()
        self._names: dict[str, str] = {}  # scratch input path -> the user's name for it
        self.cache = InputCache(settings.data_dir / "cache" / "inputs")
        self.scanner = scanner_for(settings.clamd_socket, settings.clamd_timeout_s)
        self.work_root = settings.data_dir / "cache" / "work"
        self.work_root.mkdir(parents=True, exist_ok=True)

    # --- queue side ---
    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set (the sandbox forkserver warms up meanwhile)."""
        threading.Thread(target=sb.warm, name="sandbox-warm-up", daemon=True).start()
        self.queue.consume(self.handle, stop)

    def handle(self, d: Delivery) -> None:
        if d.task_id is None:
            log.warning("malformed message dead-lettered")
            d.reject(requeue=False)
            return
        events: list[str] = []
        try:
            with self.db.session() as s:
                c = jobstore.claim(s, d.task_id, self.worker_id, self.settings.lease_s, events)
        except Exception as e:
            log.warning("claim failed (%r); message requeued", e)
            time.sleep(1.0)
            d.reject(requeue=True)
            return
        if "failed" in events:
            self._job_finished(events_job_id(self.db, d.task_id))
        if c is None:
            metrics.TASKS.labels(kind="-", outcome="dropped").inc()
            d.ack()  # done, held by a live worker, canceled or not due: nothing to do
            return
        if c.job_started:
            job_metrics.JOBS_TOTAL.labels(state="running").inc()
        try:
            self.execute(c)
        finally:
            d.ack()

    # --- task side ---
    def execute(self, c: Claim) -> None:
        t0 = time.monotonic()
        hb = _Heartbeat(self, c)
        work = Path(tempfile.mkdtemp(prefix=f"{c.kind}-", dir=self.work_root))
        metrics.BUSY.set(1)
        outcome = "succeeded"
        try:
            runner = {
                "match": self._match,
                "stats": self._stats,
                "gains": self._gains,
                "join": self._join,
            }[c.kind]
            committed = runner(c, work, hb)
            outcome = "succeeded" if committed else "lost"
        except sb.Cancelled:
            outcome = "lost"
        except sb.SandboxError as e:
            outcome = self._fail(c, e.code, e.params, permanent=e.permanent)
        except StorageError as e:
            outcome = self._fail(c, ErrorCode.INTERNAL.value, {"reason": f"storage: {e}"[:300]})
        except Exception as e:
            log.exception("task %s failed", c.task_id)
            outcome = self._fail(c, ErrorCode.INTERNAL.value, {"reason": repr(e)[:300]})
        finally:
            hb.close()
            metrics.BUSY.set(0)
            shutil.rmtree(work, ignore_errors=True)
            self._names.clear()
        metrics.TASKS.labels(kind=c.kind, outcome=outcome).inc()
        metrics.DURATION.labels(kind=c.kind).observe(time.monotonic() - t0)

    def _fail(self, c: Claim, code: str, params: dict[str, Any], *, permanent: bool = False) -> str:
        s = self.settings
        params = public_params(params, self._names)  # the user's names, never server paths
        log.warning(
            "task %s (%s, attempt %d) failed: %s %s", c.task_id, c.kind, c.attempt, code, params
        )
        with self.db.session() as db:
            state = jobstore.fail(
                db,
                c,
                code,
                params,
                permanent=permanent,
                retry_base_s=s.retry_base_s,
                retry_max_s=s.retry_max_s,
            )
        if state == "failed":
            self._job_finished(c.job_id)
        return {"queued": "retry", "failed": "failed"}.get(state, "lost")

    def _sandbox(
        self, op: str, args: dict[str, Any], work: Path, hb: _Heartbeat, lo: float, hi: float
    ) -> dict[str, Any]:
        s = self.settings
        return sb.run(
            op,
            args,
            workdir=work,
            mem_mb=s.sandbox_mem_mb,
            timeout_s=s.sandbox_timeout_s,
            cancelled=hb.lost.is_set,
            on_progress=lambda f, st: hb.update(lo + (hi - lo) * f, st),
        )

    def _inputs(self, keys: Sequence[str], work: Path) -> list[Path]:
        out = []
        for i, k in enumerate(keys):
            src = self.cache.get(self.storage, self.storage.bucket_audio, k)
            self._scan(src, k)
            dest = work / f"in{i}{Path(k).suffix.lower()[:8]}"
            self._names[str(dest)] = display_name(k)
            try:
                os.link(src, dest)
            except OSError:
                shutil.copyfile(src, dest)
            out.append(dest)
        return out

    def _scan(self, path: Path, key: str) -> None:
        """Fail-closed virus scan of an input (:mod:`server.worker.scan`; off without
        ``CLAMD_SOCKET``): infected fails the job, unscannable retries the task later."""
        if self.scanner is None:
            return
        try:
            self.scanner.scan(path)
        except Infected as e:
            log.warning("input %s refused by the virus scanner: %s", key, e.signature)
            params = {"name": display_name(key), "signature": e.signature}
            raise sb.SandboxError(ErrorCode.UPLOAD_INFECTED.value, params, permanent=True) from e
        except ScanUnavailable as e:
            log.warning("input %s not scanned (%s): the task waits", key, e)
            raise sb.SandboxError(ErrorCode.SCAN_UNAVAILABLE.value, {}, permanent=False) from e

    def _commit(
        self,
        c: Claim,
        *,
        output: dict[str, Any] | None = None,
        result: ResultKeys | None = None,
    ) -> bool:
        """Fenced commit; a chunked target's next phase is created in the same transaction."""
        with self.db.session() as db:
            if not jobstore.complete(db, c, output=output, result=result):
                return False
            if result is None:
                chunking.advance(db, c, self.settings.max_attempts)
            job_done = result is not None and jobstore.job_state(db, c.job_id) == "succeeded"
        if job_done:
            self._job_finished(c.job_id)
        return True

    def _job_finished(self, job_id: str | None) -> None:
        """Count a job this worker brought to a terminal state (after the commit)."""
        if job_id is None:
            return
        with self.db.session() as db:
            state, started, finished = jobstore.job_times(db, job_id)
        job_metrics.job_finished(state, started, finished)

    def _result_prefix(self, c: Claim) -> str:
        return f"results/{c.user_id}/{c.job_id}/{c.task_id[:8]}-{c.attempt}"

    def _work_prefix(self, c: Claim) -> str:
        return f"work/{c.job_id}/t{c.target_index}"

    def _upload_results(
        self, c: Claim, audio: Path, preset: Path, viz: Path, metrics_: dict[str, float]
    ) -> ResultKeys:
        st, prefix = self.storage, self._result_prefix(c)
        ext = audio.suffix.lstrip(".")
        keys = ResultKeys(
            audio_key=f"{prefix}/{c.target_index}.{ext}",
            preset_key=f"{prefix}/{c.target_index}.json",
            viz_key=f"{prefix}/{c.target_index}.png",
            metrics=metrics_,
            audio_sha256=_sha256(audio),
        )
        st.put_file(st.bucket_audio, keys.audio_key, audio, CONTENT_TYPES.get(ext, ""))
        st.put_file(st.bucket_preset, keys.preset_key, preset, "application/json")
        st.put_file(st.bucket_viz, keys.viz_key, viz, "image/png")
        files = _export_files(viz.parent)
        for fmt, key in jobstore.export_keys(keys.preset_key).items():
            if Path(files[fmt]).is_file():  # exports and report for the web console
                ctype = "application/json" if fmt == "report" else "text/plain; charset=utf-8"
                st.put_file(st.bucket_preset, key, Path(files[fmt]), ctype)
        return keys

    def _discard(self, keys: ResultKeys) -> None:
        st = self.storage
        with contextlib.suppress(StorageError):
            st.delete(st.bucket_audio, [keys.audio_key])
            st.delete(
                st.bucket_preset, [keys.preset_key, *jobstore.export_keys(keys.preset_key).values()]
            )
            st.delete(st.bucket_viz, [keys.viz_key])

    # --- task kinds ---
    def _match(self, c: Claim, work: Path, hb: _Heartbeat) -> bool:
        from engine.schema.options import output_extension

        s = self.settings
        spec = JobSpec.model_validate(c.spec)
        t0 = time.monotonic()
        hb.update(0.0, "download")
        target, *refs = self._inputs([spec.targets[c.target_index], *spec.references], work)
        ext = output_extension(spec.format, target.name)
        out = {
            "audio": work / f"out.{ext}",
            "preset": work / "preset.json",
            "report": Path(_export_files(work)["report"]),  # stored with the result
            "viz": work / "viz.png",
        }
        chunking = s.chunk_enabled and s.chunk_min_s > 0
        options = spec.options.model_dump(mode="json")
        options["device"] = job_device(str(options.get("device", "auto")), s)
        r = self._sandbox(
            "match",
            {
                "target": str(target),
                "references": [str(p) for p in refs],
                "options": options,
                "format": spec.format,
                "max_duration_s": s.max_duration_s,
                "chunk_min_s": s.chunk_min_s if chunking else 0,
                "chunk_s": s.chunk_s,
                "out_audio": str(out["audio"]),
                "out_preset": str(out["preset"]),
                "out_report": str(out["report"]),
                "out_viz": str(out["viz"]),
                "out_exports": _export_files(work),
            },
            work,
            hb,
            0.05,
            0.95,
        )
        if r.get("split"):
            preset_key = f"{self._work_prefix(c)}/preset-{c.attempt}.json"
            self.storage.put_file(self.storage.bucket_audio, preset_key, out["preset"])
            plan = {
                "preset_key": preset_key,
                "frames": r["frames"],
                "sample_rate": r["sample_rate"],
                "channels": r["channels"],
                "chunks": r["chunks"],
                "ext": ext,
                "loudness": r.get("loudness") or {},  # for the result's metrics (join)
            }
            return self._commit(c, output=plan)
        m: dict[str, float] = dict(r.get("metrics") or {})
        elapsed = max(1e-6, time.monotonic() - t0)
        if m.get("duration_s"):
            m["render_speed_x"] = m["duration_s"] / elapsed
            label = "cpu" if options["device"] == "cpu" else "gpu"
            metrics.SPEED.labels(device=label).observe(m["render_speed_x"])
        keys = self._upload_results(c, out["audio"], out["preset"], out["viz"], m)
        if hb.lost.is_set() or not self._commit(c, result=keys):
            self._discard(keys)
            return False
        metrics.record_quality(m)
        return True

    def _download_work(self, key: str, dest: Path) -> Path:
        self.storage.get_file(self.storage.bucket_audio, key, dest)
        return dest

    def _stats(self, c: Claim, work: Path, hb: _Heartbeat) -> bool:
        t0 = time.monotonic()
        spec = JobSpec.model_validate(c.spec)
        p = c.payload
        (target,) = self._inputs([spec.targets[c.target_index]], work)
        preset = self._download_work(p["preset_key"], work / "preset.json")
        out, out_eq = work / "stats.npz", work / "eq.f32"
        self._sandbox(
            "stats",
            {
                "preset": str(preset),
                "target": str(target),
                "start": p["start"],
                "stop": p["stop"],
                "out": str(out),
                "out_eq": str(out_eq),
            },
            work,
            hb,
            0.1,
            0.9,
        )
        seconds = (int(p["stop"]) - int(p["start"])) / int(p["sample_rate"])
        metrics.SPEED.labels(device="cpu").observe(seconds / max(1e-6, time.monotonic() - t0))
        base = f"{self._work_prefix(c)}/chunk{c.chunk_index}-{c.attempt}"
        self.storage.put_file(self.storage.bucket_audio, f"{base}.npz", out)
        self.storage.put_file(self.storage.bucket_audio, f"{base}.f32", out_eq)
        return self._commit(c, output={"key": f"{base}.npz", "eq_key": f"{base}.f32"})

    def _gains(self, c: Claim, work: Path, hb: _Heartbeat) -> bool:
        p = c.payload
        with self.db.session() as db:
            stats = [
                o["key"] for o in jobstore.phase_outputs(db, c.job_id, c.target_index, "stats")
            ]
        preset = self._download_work(p["preset_key"], work / "preset.json")
        paths = [self._download_work(k, work / f"s{i}.npz") for i, k in enumerate(stats)]
        out = work / "gains.npz"
        r = self._sandbox(
            "gains",
            {
                "preset": str(preset),
                "stats": [str(x) for x in paths],
                "sample_rate": p["sample_rate"],
                "out": str(out),
            },
            work,
            hb,
            0.1,
            0.9,
        )
        key = f"{self._work_prefix(c)}/gains-{c.attempt}.npz"
        self.storage.put_file(self.storage.bucket_audio, key, out)
        return self._commit(c, output={"key": key, "metrics": r.get("metrics", {})})

    def _join(self, c: Claim, work: Path, hb: _Heartbeat) -> bool:
        spec = JobSpec.model_validate(c.spec)
        p = c.payload
        with self.db.session() as db:
            chunk_keys = [
                o["eq_key"] for o in jobstore.phase_outputs(db, c.job_id, c.target_index, "stats")
            ]
            gains_key = jobstore.phase_outputs(db, c.job_id, c.target_index, "gains")[0]["key"]
            started = jobstore.job_started_at(db, c.job_id)
        chunks = [self._download_work(k, work / f"c{i}.f32") for i, k in enumerate(chunk_keys)]
        refs = self._inputs(list(spec.references), work)
        preset = self._download_work(p["preset_key"], work / "preset.json")
        gains = self._download_work(gains_key, work / "gains.npz")
        out_audio, viz = work / f"out.{p['ext']}", work / "viz.png"
        r = self._sandbox(
            "join",
            {
                "chunks": [str(x) for x in chunks],
                "gains": str(gains),
                "sample_rate": p["sample_rate"],
                "channels": p["channels"],
                "out_audio": str(out_audio),
                "format": spec.format,
                "preset": str(preset),
                "references": [str(x) for x in refs],
                "out_viz": str(viz),
                "out_exports": _export_files(work),
            },
            work,
            hb,
            0.1,
            0.9,
        )
        m: dict[str, float] = dict(r.get("metrics") or {})
        m.update(p.get("loudness") or {})  # target and reference, measured by the match task
        m["chunks"] = float(len(chunks))
        with self.db.session() as db:
            now = float(db.execute(select(now_epoch())).scalar_one())
        wall = max(1e-6, now - (started or now))
        if m.get("duration_s"):
            m["render_speed_x"] = m["duration_s"] / wall  # whole job, all chunks
        keys = self._upload_results(c, out_audio, preset, viz, m)
        if hb.lost.is_set() or not self._commit(c, result=keys):
            self._discard(keys)
            return False
        metrics.record_quality(m)
        with contextlib.suppress(StorageError):
            self.storage.delete_prefix(self.storage.bucket_audio, self._work_prefix(c) + "/")
        return True
