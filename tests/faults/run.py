"""Faults at scale (``make faults``, not part of ``make test``): the full stack on a private
PostgreSQL cluster and a private RabbitMQ node (started here, on their own ports and data
directories under ``--workdir``: the machine's shared services are never touched), moto for
S3, the API and scheduler in this process, workers as child processes.

While jobs run, workers are killed with SIGKILL at random points (``--kills``, a new worker
started for each), RabbitMQ is stopped and started (``--rabbit-restarts``) and PostgreSQL is
crashed (``pg_ctl restart -m immediate``, ``--pg-restarts``). Jobs are submitted with
idempotency keys and resubmitted on any error until acknowledged; submission goes on in batches
until at least ``--jobs`` jobs ran and every fault was injected.

Then the checker reads the database and the object storage (Jepsen's vocabulary):
acknowledged-but-lost (a 202 whose job is missing or never finishes), duplicated (one key, two
jobs), double-committed (more than one result per target, or a result not the winning
attempt's), failed, and every result's SHA-256 against the local engine's output for the same
inputs; outputs of killed attempts that were never committed are counted (they are garbage, not
results). Exit status 1 if any of those is not 0."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1:] or [Path("/usr/bin")]


def _as_postgres(*cmd: str) -> list[str]:
    """PostgreSQL refuses to run as root: its tools run as the ``postgres`` user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb, trust on 127.0.0.1 only)."""

    def __init__(self, base: Path, port: int) -> None:
        self.data = base / "pg"
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/faults"
        self.log = base / "pg.log"
        self.bin = PG_BIN[0]

    def _ctl(self, *args: str) -> None:
        cmd = _as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log))
        subprocess.run([*cmd, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if not self.data.exists():
            self.data.mkdir(parents=True)
            if os.geteuid() == 0:
                shutil.chown(self.data, "postgres", "postgres")
                shutil.chown(self.data.parent, "postgres", "postgres")
            subprocess.run(
                _as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres")
                + ["-A", "trust", "--no-sync", "-E", "UTF8"],
                check=True, capture_output=True, timeout=300,
            )  # fmt: skip
            with (self.data / "postgresql.conf").open("a") as f:
                f.write(
                    f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                    f"unix_socket_directories = '{self.data}'\nmax_connections = 200\n"
                )
        self._ctl("start", "-w", "-t", "120")
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as c:
            if not c.execute("SELECT 1 FROM pg_database WHERE datname='faults'").fetchone():
                c.execute("CREATE DATABASE faults")

    def crash_restart(self) -> None:
        """Stop without a checkpoint (as a crash), then start: recovery replays the WAL."""
        self._ctl("restart", "-m", "immediate", "-w", "-t", "120")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._ctl("stop", "-m", "fast", "-w", "-t", "60")


class PrivateRabbit:
    """A RabbitMQ node of its own: ``harden@localhost`` style node name, own ports and dirs."""

    def __init__(self, base: Path, name: str, port: int) -> None:
        self.dir = base / "rmq"
        self.node = f"{name}@localhost"
        self.port = port
        self.url = f"amqp://guest:guest@127.0.0.1:{port}/%2F"
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(port),
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_DIST_PORT": str(port + 1),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_PID_FILE": str(self.dir / "pid"),
        }

    def start(self) -> None:
        if not self.dir.exists():
            for d in ("mnesia", "log"):
                (self.dir / d).mkdir(parents=True)
            (self.dir / "enabled_plugins").write_text("[].\n")  # no management port clash
            (self.dir / "rabbitmq.conf").write_text(
                f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users.guest = false\n"
                "consumer_timeout = 21600000\ndisk_free_limit.absolute = 50MB\n"
            )
            if os.geteuid() == 0:
                subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(self.dir)], check=True)
        out = (self.dir / "server.out").open("ab")
        subprocess.Popen(
            ["rabbitmq-server"], env=self.env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        out.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self._ctl("await_startup", "--timeout", "60") == 0:
                return
            time.sleep(1)
        raise RuntimeError(f"RabbitMQ node {self.node} did not start")

    def _ctl(self, *args: str) -> int:
        r = subprocess.run(
            ["rabbitmqctl", "-q", "-n", self.node, *args],
            env=self.env, capture_output=True, timeout=180, check=False,
        )  # fmt: skip
        return r.returncode

    def stop(self) -> None:
        self._ctl("stop")

    def restart(self, down_s: float) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()


@dataclass
class Run:
    kills: int = 0
    kills_mid_task: int = 0  # the victim had a sandbox running (a task in flight)
    rabbit_restarts: int = 0
    pg_restarts: int = 0
    worker_exits: int = 0  # workers that ended on their own (e.g. broker gone): restarted
    submitted: dict[str, set[str]] = field(default_factory=dict)  # idempotency key -> job ids
    inputs: dict[str, int] = field(default_factory=dict)  # job id -> input index
    errors: Counter[str] = field(default_factory=Counter)


def _submit(st: Any, api: Any, run: Run, key: str, target: str, ref: str, index: int) -> None:
    """Submit until acknowledged (the same key every time: retries are one job)."""
    while True:
        try:
            r = api.post(
                "/jobs",
                json={"targets": [target], "references": [ref]},
                headers={"Idempotency-Key": key},
            )
            if r.status_code in (200, 202):
                jid = r.json()["id"]
                run.submitted.setdefault(key, set()).add(jid)
                run.inputs[jid] = index
                return
            run.errors[f"submit {r.status_code}"] += 1
        except Exception as e:  # the database restarting under the in-process API
            run.errors[f"submit {type(e).__name__}"] += 1
        time.sleep(0.5)


def _busy(st: Any, proc: Any) -> bool:
    """Whether the worker ``proc`` (of ``st``) has a sandbox running a task right now."""
    i = st.procs.index(proc)
    for pidfile in (st.tmp / f"worker{i}").glob("cache/work/*/sandbox.pid"):
        try:
            pid = int(pidfile.read_text())
            stat = Path(f"/proc/{pid}/stat").read_text().split()
        except (OSError, ValueError):
            continue
        if stat[2] != "Z":
            return True
    return False


def _states(st: Any, ids: list[str]) -> dict[str, str]:
    from sqlalchemy import select

    from server.db.models import Job

    try:
        with st.core.db.session() as s:
            return dict(s.execute(select(Job.id, Job.state).where(Job.id.in_(ids))).all())
    except Exception:
        return {}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.faults.run")
    ap.add_argument("--jobs", type=int, default=100)
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--rabbit-restarts", type=int, default=3)
    ap.add_argument("--pg-restarts", type=int, default=2)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--kill-every", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"))
    ap.add_argument(
        "--submit-every", type=float, nargs=2, default=(1.0, 4.0), metavar=("MIN", "MAX")
    )
    ap.add_argument(
        "--mid-task", type=float, default=0.7, help="share of kills aimed at busy workers"
    )
    ap.add_argument("--pg-port", type=int, default=18610)
    ap.add_argument("--rabbit-port", type=int, default=18672)
    ap.add_argument("--rabbit-node", default="harden")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--seed", type=int, default=20)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    base = args.workdir or Path(tempfile.mkdtemp(prefix="audio-style-faults-"))
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    sys.path.insert(0, str(ROOT))
    from tests.server.conftest import (
        FullStack,
        MotoServer,
        local_match,
        make_music,
        make_settings,
        s3_env,
    )

    pg = PrivatePostgres(base, args.pg_port)
    rabbit = PrivateRabbit(base, args.rabbit_node, args.rabbit_port)
    print(f"fault run in {base}: PostgreSQL :{args.pg_port}, RabbitMQ {rabbit.node} "
          f":{args.rabbit_port}", flush=True)  # fmt: skip
    pg.start()
    rabbit.start()
    moto = MotoServer()
    audio = base / "audio"
    audio.mkdir(exist_ok=True)
    targets = [
        make_music(audio / f"t{i}.wav", 1.5, seed=10 + i, level=0.1 + 0.05 * i, channels=1)
        for i in range(4)
    ]
    ref = make_music(audio / "ref.wav", 1.5, seed=5, bright=0.6, level=0.6, channels=1)
    env = {
        "DB_URL": pg.url,
        "QUEUE_URL": rabbit.url,
        "QUEUE_NAME": "faults.tasks",
        "MAX_ATTEMPTS": "1000",
        "DELIVERY_LIMIT": "100000",
        "LEASE_S": "4",
        "HEARTBEAT_S": "0.5",
        **s3_env(moto, "faults"),
    }
    settings = make_settings(base / "api", **env)
    run = Run()
    t0 = time.monotonic()
    st = FullStack(settings, base / "stack", workers=args.workers)
    status = 1
    try:
        api = st.api("faults")
        keys = api.upload(*targets, ref)
        tkeys, rkey = keys[:-1], keys[-1]
        alive = list(st.procs)
        born = {id(p): time.monotonic() for p in alive}
        n_submitted = 0

        def submit_batch(n: int) -> None:
            nonlocal n_submitted
            for _ in range(n):
                i = n_submitted % len(tkeys)
                _submit(st, api, run, f"faults-{n_submitted}", tkeys[i], rkey, i)
                n_submitted += 1
                time.sleep(rng.uniform(*args.submit_every))  # submissions span the faults

        submit_thread = threading.Thread(target=submit_batch, args=(args.jobs,), daemon=True)
        submit_thread.start()
        rabbit_at = sorted(rng.sample(range(10, max(11, args.kills - 10)), args.rabbit_restarts))
        pg_at = sorted(rng.sample(range(10, max(11, args.kills - 10)), args.pg_restarts))
        deadline = t0 + args.timeout
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(*args.kill_every))
            # replace workers that ended on their own
            for p in list(alive):
                if p.p.poll() is not None:
                    alive.remove(p)
                    run.worker_exits += 1
                    q = st.start_worker()
                    alive.append(q)
                    born[id(q)] = time.monotonic()
            if run.kills < args.kills and alive:
                busy = [p for p in alive if _busy(st, p)]
                mid = bool(busy) and rng.random() < args.mid_task
                victim = rng.choice(busy if mid else alive)
                run.kills_mid_task += victim in busy
                victim.kill9()
                alive.remove(victim)
                run.kills += 1
                q = st.start_worker()
                alive.append(q)
                born[id(q)] = time.monotonic()
                if (
                    run.rabbit_restarts < len(rabbit_at)
                    and run.kills >= rabbit_at[run.rabbit_restarts]
                ):
                    print(f"  kill {run.kills}: RabbitMQ restart", flush=True)
                    rabbit.restart(rng.uniform(1, 5))
                    run.rabbit_restarts += 1
                if run.pg_restarts < len(pg_at) and run.kills >= pg_at[run.pg_restarts]:
                    print(f"  kill {run.kills}: PostgreSQL crash + restart", flush=True)
                    pg.crash_restart()
                    run.pg_restarts += 1
                if run.kills % 25 == 0:
                    done = sum(
                        1 for s in _states(st, list(run.inputs)).values() if s == "succeeded"
                    )
                    print(f"  {run.kills} kills, {done}/{len(run.inputs)} jobs done, "
                          f"{time.monotonic() - t0:.0f} s", flush=True)  # fmt: skip
            states = _states(st, list(run.inputs))
            finished = states and all(
                s in ("succeeded", "failed", "canceled") for s in states.values()
            )
            if finished and not submit_thread.is_alive():
                if run.kills >= args.kills:
                    break
                # every job done but faults remain: keep jobs in flight while they are injected
                submit_thread = threading.Thread(target=submit_batch, args=(10,), daemon=True)
                submit_thread.start()
        elapsed = time.monotonic() - t0
        print(
            f"fault run: {len(run.submitted)} jobs acknowledged, {args.workers} workers, "
            f"{run.kills} worker kill -9s ({run.kills_mid_task} with a task in flight), "
            f"{run.rabbit_restarts} RabbitMQ restarts, "
            f"{run.pg_restarts} PostgreSQL crash-restarts, {run.worker_exits} workers exited "
            f"on their own (restarted), {elapsed:.0f} s; submit retries: {dict(run.errors)}",
            flush=True,
        )
        status = check(st, run, targets, ref, base, local_match)
    finally:
        st.close()
        moto.close()
        rabbit.stop()
        pg.stop()
    return status


def check(st: Any, run: Run, targets: list[Path], ref: Path, base: Path, local_match: Any) -> int:
    """The checker (see the module docstring); prints one line, returns the exit status."""
    from sqlalchemy import select

    from engine.schema.options import MatchOptions
    from server.db.models import Job, JobResultRow, Task

    expected = []
    for i, t in enumerate(targets):
        out = local_match(t, ref, base / f"local{i}.wav", MatchOptions.model_validate({}), None)
        expected.append(hashlib.sha256(out.read_bytes()).hexdigest())
    lost = duplicated = double = failed = mismatched = orphaned = checked = 0
    storage = st.core.storage
    with st.core.db.session() as s:
        for ids in run.submitted.values():
            if len(ids) > 1:
                duplicated += len(ids) - 1
            for jid in ids:
                job = s.get(Job, jid)
                if job is None or job.state not in ("succeeded", "failed"):
                    lost += 1
                    continue
                if job.state == "failed":
                    failed += 1
                    continue
                rows = list(
                    s.execute(select(JobResultRow).where(JobResultRow.job_id == jid)).scalars()
                )
                if len(rows) != job.n_targets:
                    double += abs(len(rows) - job.n_targets)
                for row in rows:
                    task = s.get(Task, row.task_id)
                    if task is None or task.state != "succeeded" or task.attempt != row.attempt:
                        double += 1
                    data = storage.get_bytes(storage.bucket_audio, row.audio_key)
                    digest = hashlib.sha256(data).hexdigest()
                    checked += 1
                    if digest != expected[run.inputs[jid]] or digest != row.audio_sha256:
                        mismatched += 1
                prefix = f"results/{job.user_id}/{jid}/"
                keys = storage.list_keys(storage.bucket_audio, prefix)
                attempts = {k[len(prefix) :].split(".", 1)[0] for k in keys}
                orphaned += max(0, len(attempts) - len(rows))
    print(
        f"checker: {len(run.submitted)} acknowledged jobs, {checked} results read back; "
        f"acknowledged-but-lost {lost}, duplicated {duplicated}, double-committed {double}, "
        f"failed {failed}, hash mismatches vs the local engine {mismatched} "
        f"({len(set(expected))} distinct inputs); uncommitted outputs of killed attempts "
        f"{orphaned} (garbage, never served)",
        flush=True,
    )
    bad = lost + duplicated + double + failed + mismatched
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
