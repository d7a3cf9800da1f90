"""``audio-style server | scheduler | worker | users add`` (found by engine.cli through the
``audio_style.commands`` entry point; ``python -m server`` runs the same commands)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from server.config import DEFAULT_PORT, Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "data_dir", None), env_file=getattr(args, "env_file", None))


def _refuse_prod(s: Settings) -> bool:
    """Print why ``APP_ENV=prod`` cannot start with ``s``; True when it cannot."""
    from server.prodcheck import prod_problems

    problems = prod_problems(s)
    for p in problems:
        print(f"error: APP_ENV=prod: {p}", file=sys.stderr)
    return bool(problems)


def _logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("pika", "alembic", "botocore", "qcloud_cos", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def cmd_server(args: argparse.Namespace) -> int:
    """Serve the API; embedded mode (nothing configured) runs scheduler and workers inside."""
    _logging(args.verbose)
    import uvicorn

    from server.api import create_app
    from server.api.app import tune_gc
    from server.stack import api_services, core

    s = _settings(args)
    if not s.embedded and not s.jwt_secret_configured:
        print(
            "error: the full stack needs JWT_SECRET (shared by every API process)", file=sys.stderr
        )
        return 2
    if _refuse_prod(s):
        return 2
    if not s.public_url_configured:
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
        s = s.with_(public_url=f"http://{host}:{args.port}")
    if args.openapi:
        app = create_app(
            api_services(core(s, migrate=False, ensure_buckets=False), embedded_workers=0)
        )
        Path(args.openapi).write_text(json.dumps(app.openapi(), indent=1), encoding="utf-8")
        return 0
    if args.processes > 1:
        if s.embedded:
            print(
                "error: --processes needs the full stack (QUEUE_URL); embedded mode runs one "
                "process",
                file=sys.stderr,
            )
            return 2
        import socket

        from server.config import settings_env

        os.environ.update(settings_env(s))  # the processes' settings (server.asgi reads them)
        core(s)  # migrate once before the processes start
        if hasattr(socket, "SO_REUSEPORT"):
            return _serve_processes(args)
        uvicorn.run(
            "server.asgi:app",
            host=args.host,
            port=args.port,
            workers=args.processes,
            log_level="info",
            access_log=args.verbose,
            proxy_headers=False,  # server.api.proxy reads X-Forwarded-For (TRUSTED_PROXIES)
        )
        return 0
    c = core(s, migrate=not args.reuse_port)
    app = create_app(api_services(c, embedded_workers=args.workers))
    tune_gc()
    mode = "embedded" if s.embedded else "full stack"
    logging.getLogger("server").info(
        "audio-style server (%s) on http://%s:%d, data in %s",
        mode,
        args.host,
        args.port,
        s.data_dir,
    )
    # proxy_headers off: server.api.proxy reads X-Forwarded-For (TRUSTED_PROXIES)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        access_log=args.verbose,
        proxy_headers=False,
    )
    if args.reuse_port:  # one of several processes: its own socket, the kernel balances
        uvicorn.Server(config).run(sockets=[_reuse_port_socket(args.host, args.port)])
        return 0
    uvicorn.Server(config).run()
    return 0


def _reuse_port_socket(host: str, port: int) -> Any:
    """A listening socket with ``SO_REUSEPORT``: each API process has its own, and the kernel
    spreads new connections evenly over them (a shared socket lets whichever process wakes
    first take them: 132 of 200 connections went to one of two processes in a test)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _serve_processes(args: argparse.Namespace) -> int:
    """Run ``args.processes`` API processes on one port (``SO_REUSEPORT``) and supervise them:
    SIGTERM/SIGINT are passed on; when one process dies the others are stopped and its exit
    status returned (the container or service manager restarts the whole)."""
    import os
    import subprocess
    import time

    cmd = [sys.executable, "-m", "server", "server", "--host", args.host, "--port"]
    cmd += [str(args.port), "--workers", "0", "--reuse-port"]
    if args.data_dir is not None:
        cmd += ["--data-dir", str(args.data_dir)]
    if args.env_file is not None:
        cmd += ["--env-file", str(args.env_file)]
    if args.verbose:
        cmd.append("-v")
    children = [subprocess.Popen(cmd, env=os.environ.copy()) for _ in range(args.processes)]
    stop = _stop_on_signals()
    log = logging.getLogger("server")
    log.info("%d API processes on port %d (SO_REUSEPORT)", len(children), args.port)
    status = 0
    while not stop.is_set():
        dead = [c for c in children if c.poll() is not None]
        if dead:
            status = dead[0].returncode or 1
            log.error("API process %d exited with %s: stopping", dead[0].pid, dead[0].returncode)
            break
        stop.wait(0.2)
    for c in children:
        if c.poll() is None:
            c.terminate()
    deadline = time.monotonic() + 30
    for c in children:
        try:
            c.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            c.kill()
            c.wait()
    return status


def cmd_scheduler(args: argparse.Namespace) -> int:
    """Run the scheduler (outbox relay, lease recovery, re-publishing, dead letters)."""
    s = _settings(args)
    if s.embedded:
        print(
            "error: QUEUE_URL is not set; in embedded mode `audio-style server` runs the "
            "scheduler itself",
            file=sys.stderr,
        )
        return 2
    _logging(args.verbose)
    if _refuse_prod(s):
        return 2
    from server.scheduler.service import Scheduler
    from server.stack import core

    c = core(s)
    port = args.metrics_port if args.metrics_port is not None else s.scheduler_metrics_port
    metrics = _start_metrics(args.metrics_host or s.metrics_host, port)
    logging.getLogger("server").info(
        "scheduler: queue %s on %s, database %s, metrics %s",
        s.queue_name,
        _redact(s.queue_url or ""),
        _redact(s.db_url),
        metrics,
    )
    stop = _stop_on_signals()
    Scheduler(s, c.db, c.queue).run(stop)
    return 0


def _start_metrics(host: str, port: int) -> str:
    """Serve Prometheus metrics on ``host:port`` (0: off); what the start-up line says."""
    if not port:
        return "off"
    from prometheus_client import start_http_server

    start_http_server(port, addr=host)
    return f"http://{host}:{port}/metrics"


def _redact(url: str) -> str:
    """``url`` without its password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def cmd_worker(args: argparse.Namespace) -> int:
    """Run a worker: consume tasks until SIGTERM (the running task is finished first)."""
    s = _settings(args)
    if s.embedded:
        print(
            "error: QUEUE_URL is not set; in embedded mode `audio-style server` runs the "
            "workers itself",
            file=sys.stderr,
        )
        return 2
    _logging(args.verbose)
    if _refuse_prod(s):
        return 2
    from server.stack import core
    from server.worker import metrics
    from server.worker.runner import Worker

    c = core(s, ensure_buckets=False)
    port = args.metrics_port if args.metrics_port is not None else s.worker_metrics_port
    where = _start_metrics(args.metrics_host or s.metrics_host, port)
    stop = _stop_on_signals()
    metrics.gpu_poller(stop)
    worker = Worker(s, c.db, c.storage, c.queue, worker_id=args.worker_id)
    logging.getLogger("server").info(
        "worker %s: queue %s on %s, concurrency 1, storage %s%s, metrics %s",
        worker.worker_id,
        s.queue_name,
        _redact(s.queue_url or ""),
        s.storage_backend,
        f" ({s.s3_endpoint})" if s.s3_endpoint else f" ({s.data_dir})",
        where,
    )
    worker.run(stop)
    return 0


def _read_password(args: argparse.Namespace) -> str | None:
    if not args.password_stdin:
        print("error: pass --password-stdin and the password on standard input", file=sys.stderr)
        return None
    return sys.stdin.readline().rstrip("\r\n")


def _users_db(s: Settings) -> Any:
    """The accounts' database (migrated)."""
    from server.db.migrate import upgrade
    from server.db.session import Database

    s.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(s.db_url)
    upgrade(db)
    return db


def _no_server_database(s: Settings) -> bool:
    """True when ``s`` names an embedded database file that does not exist yet (no server has
    run with this data directory: an account made here may be one nobody can log in as)."""
    prefix = "sqlite:///"
    return s.db_url.startswith(prefix) and not Path(s.db_url[len(prefix) :]).exists()


def cmd_users_add(args: argparse.Namespace) -> int:
    """Create an account; the password is read from stdin (one line)."""
    from server.auth import create_user

    password = _read_password(args)
    if password is None:
        return 2
    s = _settings(args)
    if _no_server_database(s):
        print(
            f"warning: no server database in {s.data_dir} yet: the account is created there; "
            "a server started with another --data-dir will not know it",
            file=sys.stderr,
        )
    db = _users_db(s)
    try:
        with db.session() as session:
            user = create_user(session, args.name, password)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"user {user.name} created ({user.id})")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    """One line per account: name, id, created (UTC), enabled/disabled."""
    import datetime as dt

    from sqlalchemy import select

    from server.db.models import User

    db = _users_db(_settings(args))
    with db.session() as session:
        users = session.execute(select(User).order_by(User.name)).scalars().all()
        for u in users:
            created = dt.datetime.fromtimestamp(u.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M")
            state = "disabled" if u.disabled else "enabled"
            print(f"{u.name}\t{u.id}\t{created}\t{state}")
    return 0


def _change_user(args: argparse.Namespace, action: str) -> int:
    """``disable``/``enable``/``delete``/``set-password`` of the account ``args.name``; every
    change but ``enable`` ends the account's sessions (its refresh tokens are revoked)."""
    from sqlalchemy import delete, select, update

    from server.auth import hash_password, revoke_family
    from server.db.models import RefreshToken, User
    from server.db.session import now_epoch

    password = None
    if action == "set-password":
        password = _read_password(args)
        if password is None:
            return 2
        if len(password) < 8:
            print("error: passwords need at least 8 characters", file=sys.stderr)
            return 1
    db = _users_db(_settings(args))
    with db.session() as session:
        user = session.execute(select(User).where(User.name == args.name)).scalar_one_or_none()
        if user is None:
            print(f"error: no user {args.name!r}", file=sys.stderr)
            return 1
        if action != "enable":
            now = float(session.execute(select(now_epoch())).scalar_one())
            families = session.execute(
                select(RefreshToken.family_id).where(RefreshToken.user_id == user.id).distinct()
            ).scalars()
            for family in list(families):
                revoke_family(session, family, now)
        if action == "delete":
            session.execute(delete(User).where(User.id == user.id))  # jobs etc. cascade
        elif action == "set-password":
            assert password is not None
            values = {"password_hash": hash_password(password)}
            session.execute(update(User).where(User.id == user.id).values(**values))
        else:
            disabled = action == "disable"
            session.execute(update(User).where(User.id == user.id).values(disabled=disabled))
    done = {"set-password": "password set", "delete": "deleted"}.get(action, action + "d")
    print(f"user {args.name} {done}")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=None, help="where embedded data lives")
    p.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help="settings file (KEY=VALUE lines); default: $AUDIO_STYLE_ENV_FILE, else none",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def _metrics_args(p: argparse.ArgumentParser, default_port: str) -> None:
    """``--metrics-port``/``--metrics-host``; unset: the settings (``*_METRICS_PORT``,
    ``METRICS_HOST``)."""
    p.add_argument(
        "--metrics-port", type=int, default=None, help=f"Prometheus port (0: off; {default_port})"
    )
    p.add_argument(
        "--metrics-host",
        default=None,
        help="address the metrics listen on ($METRICS_HOST, else 127.0.0.1; the images: 0.0.0.0)",
    )


def register(subparsers: Any) -> None:
    """Add ``server``, ``scheduler``, ``worker`` and ``users`` to the CLI."""
    p = subparsers.add_parser("server", help="run the HTTP API (embedded when unconfigured)")
    _common(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--workers", type=int, default=None, help="in-process workers (embedded)")
    p.add_argument(
        "--processes", type=int, default=1, help="API processes (full stack only; default 1)"
    )
    p.add_argument("--openapi", metavar="FILE", help="write the OpenAPI spec and exit")
    p.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)  # --processes
    p.set_defaults(func=cmd_server)

    p = subparsers.add_parser("scheduler", help="run the job scheduler (full stack)")
    _common(p)
    _metrics_args(p, "$SCHEDULER_METRICS_PORT")
    p.set_defaults(func=cmd_scheduler)

    p = subparsers.add_parser("worker", help="run a processing worker (full stack)")
    _common(p)
    _metrics_args(p, "$WORKER_METRICS_PORT")
    p.add_argument("--worker-id", default=None)
    p.set_defaults(func=cmd_worker)

    p = subparsers.add_parser("users", help="manage accounts")
    sub = p.add_subparsers(dest="users_command", required=True)
    a = sub.add_parser("add", help="create an account")
    a.add_argument("name")
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _common(a)
    a.set_defaults(func=cmd_users_add)
    a = sub.add_parser("list", help="list the accounts")
    _common(a)
    a.set_defaults(func=cmd_users_list)
    for action, text in (
        ("disable", "refuse the account's logins and end its sessions"),
        ("enable", "allow a disabled account again"),
        ("delete", "delete the account with its jobs and sessions"),
        ("set-password", "set a new password (read from stdin) and end the sessions"),
    ):
        a = sub.add_parser(action, help=text)
        a.add_argument("name")
        if action == "set-password":
            a.add_argument("--password-stdin", action="store_true", help="read it from stdin")
        _common(a)
        a.set_defaults(func=lambda args, action=action: _change_user(args, action))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="audio-style")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    rc: int = args.func(args)
    return rc
