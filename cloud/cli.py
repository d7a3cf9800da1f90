"""``audio-style cloud login | submit | status | list | fetch | cancel | logout``.

Found by ``engine.cli`` through the ``audio_style.commands`` entry point. Failures are
``AudioStyleError``s: ``engine.cli.main`` prints them as one line (``error E509: Server
unreachable: https://...``) and exits 2. The server URL and account name are remembered in
``cloud.json`` (no secrets); the session in the keyring or the 0600 ``refresh-token`` file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from cloud.config import CloudSettings, normalize_server
from cloud.texts import T
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.options import AUDIO_FORMATS


def _notice(msg: str) -> None:
    print(msg, file=sys.stderr)


class _Bar:
    """One progress line on a terminal (stderr); silent otherwise or with ``--quiet``."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.last = 0.0

    def show(self, stage: str, fraction: float, detail: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and fraction < 1.0:
            return
        self.last = now
        width = 30
        filled = int(width * max(0.0, min(1.0, fraction)))
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%} {stage} {detail}"
        sys.stderr.write(line[:100].ljust(80))
        sys.stderr.flush()

    def transfer(self, t: Any) -> None:
        stage = T("stage_upload") if t.kind == "upload" else T("stage_download")
        self.show(stage, t.fraction, t.name)

    def job(self, v: Any) -> None:
        stage = T("stage_running") if v.state == "running" else T("stage_queued")
        self.show(stage, v.progress, v.stage if v.state == "running" else "")

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 100 + "\r")
            sys.stderr.flush()


def _client(args: argparse.Namespace) -> Any:
    from cloud.client import CloudClient

    saved = CloudSettings.load()
    server = getattr(args, "server", None) or saved.server
    if not server or not saved.username:
        print(T("not_logged_in_hint"), file=sys.stderr)
        raise AudioStyleError(ErrorCode.UNAUTHORIZED)
    return CloudClient(normalize_server(server), username=saved.username, on_notice=_notice)


def _state(s: str) -> str:
    key = f"state_{s}"
    try:
        return T(key)
    except KeyError:
        return s


def _job_line(v: Any) -> str:
    return T(
        "job_line",
        job=v.id,
        state=_state(str(v.state)),
        progress=v.progress,
        stage=v.stage if v.state == "running" else "",
        name=v.name,
    ).rstrip()


# --- commands ------------------------------------------------------------------------------------


def cmd_login(args: argparse.Namespace) -> int:
    from cloud.client import CloudClient

    server = normalize_server(args.server)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        import getpass

        password = getpass.getpass(T("password_prompt"))
    else:
        raise AudioStyleError(
            ErrorCode.BAD_OPTION, name="--password-stdin", reason=T("need_password_stdin")
        )
    with CloudClient(server, username=args.username, on_notice=_notice) as client:
        client.login(args.username, password)
    CloudSettings(server=server, username=args.username).save()
    print(T("logged_in", server=server, username=args.username))
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    saved = CloudSettings.load()
    if not saved.server or not saved.username:
        print(T("logged_out"))
        return 0
    with _client(args) as client:
        confirmed = client.logout()
    print(T("logged_out") if confirmed else T("logged_out_local"))
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from engine.cli import options_from_args, parse_reference

    options = options_from_args(args)  # with the weights of `--reference R:0.7`
    references = [parse_reference(r)[0] for r in args.reference]
    wait = args.wait or args.output is not None
    if args.output is not None and len(args.targets) > 1 and Path(args.output).is_file():
        raise AudioStyleError(ErrorCode.BAD_OPTION, name="-o", reason="must be a directory")
    if args.output is not None and not args.force:  # before anything is uploaded
        from cloud.client import planned_outputs

        for dest in planned_outputs(args.output, args.targets, args.format):
            if dest.exists():
                raise AudioStyleError(ErrorCode.OUTPUT_EXISTS, path=str(dest))
    bar = _Bar(not args.quiet)
    with _client(args) as client:
        try:
            acc = client.submit_files(
                args.targets,
                references,
                options,
                fmt=args.format,
                name=args.name,
                on_progress=bar.transfer,
            )
        finally:
            bar.close()
        print(T("submitted", job=acc.id), flush=True)
        if not wait:
            return 0
        try:
            view = client.wait(acc.id, on_update=bar.job, timeout_s=args.timeout)
        finally:
            bar.close()
        if view.state == "canceled":
            raise AudioStyleError(ErrorCode.CANCELED)
        if view.state == "failed":
            reason = view.error.message if view.error else str(view.state)
            raise AudioStyleError(ErrorCode.JOB_FAILED, reason=reason)
        out = args.output if args.output is not None else Path.cwd()
        try:
            files = client.download_results(view, out, force=args.force, on_progress=bar.transfer)
        finally:
            bar.close()
    for f in files:
        print(f"{T('wrote')} {f.path}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with _client(args) as client:
        v = client.job(args.job)
    if args.json:
        doc = v.model_dump(mode="json")
        for r in doc.get("results", []):  # signed URLs are capabilities: not for terminals
            for k in ("audio_url", "preset_url", "viz_url"):
                r.pop(k, None)
        print(json.dumps(doc, indent=1, ensure_ascii=False))
        return 0
    print(_job_line(v))
    if v.error is not None:
        print(f"  {v.error.code}: {v.error.message}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from engine.schema.jobs import JobState

    state = JobState(args.state) if args.state else None
    with _client(args) as client:
        page = client.jobs(limit=args.limit, state=state)
    if args.json:
        items = [
            {
                k: v.model_dump(mode="json")[k]
                for k in ("id", "state", "stage", "progress", "name", "created_at", "finished_at")
            }
            for v in page.items
        ]
        print(json.dumps(items, indent=1, ensure_ascii=False))
        return 0
    if not page.items:
        print(T("no_jobs"))
    for v in page.items:
        print(_job_line(v))
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    kinds = ("audio", "preset", "viz") if args.all else ("audio",)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise AudioStyleError(ErrorCode.BAD_OPTION, name="-o", reason="must be a directory")
    out.mkdir(parents=True, exist_ok=True)
    bar = _Bar(not args.quiet)
    with _client(args) as client:
        try:
            files = client.download_results(
                args.job, out, kinds=kinds, force=args.force, on_progress=bar.transfer
            )
        finally:
            bar.close()
    for f in files:
        print(f"{T('wrote')} {f.path}")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    with _client(args) as client:
        client.cancel(args.job)
    print(T("canceled_job", job=args.job))
    return 0


# --- parser ----------------------------------------------------------------------------------------


def _server_opt(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", default=None, help=T("opt_server"))


def register(subparsers: Any) -> None:
    """Add ``cloud`` and its subcommands to the ``audio-style`` parser."""
    from engine.cli import _add_match_options

    cloud = subparsers.add_parser("cloud", help=T("cmd_cloud"), description=T("cmd_cloud"))
    sub = cloud.add_subparsers(dest="cloud_command", required=True, metavar="COMMAND")

    p = sub.add_parser("login", help=T("cmd_login"), description=T("cmd_login"))
    p.add_argument("--server", required=True, help=T("opt_server"))
    p.add_argument("--username", required=True, help=T("opt_username"))
    p.add_argument("--password-stdin", action="store_true", help=T("opt_password_stdin"))
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("submit", help=T("cmd_submit"), description=T("cmd_submit"))
    p.add_argument("targets", nargs="+", metavar="TARGET", help=T("opt_targets"))
    p.add_argument(
        "--reference", "-r", action="append", required=True, metavar="REF", help=T("opt_reference")
    )
    p.add_argument("--format", choices=AUDIO_FORMATS, default=None, help=T("opt_format"))
    p.add_argument("--wait", action="store_true", help=T("opt_wait"))
    p.add_argument("--timeout", type=float, default=None, metavar="S", help=T("opt_timeout"))
    p.add_argument("-o", "--output", default=None, metavar="OUT", help=T("opt_out_submit"))
    p.add_argument("--force", action="store_true", help=T("opt_force"))
    p.add_argument("--name", default=None, help=T("opt_name"))
    p.add_argument("-q", "--quiet", action="store_true", help=T("opt_quiet"))
    _server_opt(p)
    _add_match_options(p)
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("status", help=T("cmd_status"), description=T("cmd_status"))
    p.add_argument("job", metavar="JOB", help=T("opt_job"))
    p.add_argument("--json", action="store_true", help=T("opt_json"))
    _server_opt(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("list", help=T("cmd_list"), description=T("cmd_list"))
    p.add_argument("--limit", type=int, default=20, help=T("opt_limit"))
    p.add_argument(
        "--state",
        choices=("queued", "running", "succeeded", "failed", "canceled"),
        default=None,
        help=T("opt_state"),
    )
    p.add_argument("--json", action="store_true", help=T("opt_json"))
    _server_opt(p)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("fetch", help=T("cmd_fetch"), description=T("cmd_fetch"))
    p.add_argument("job", metavar="JOB", help=T("opt_job"))
    p.add_argument("-o", "--output", required=True, metavar="DIR", help=T("opt_out_fetch"))
    p.add_argument("--all", action="store_true", help=T("opt_all_files"))
    p.add_argument("--force", action="store_true", help=T("opt_force"))
    p.add_argument("-q", "--quiet", action="store_true", help=T("opt_quiet"))
    _server_opt(p)
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("cancel", help=T("cmd_cancel"), description=T("cmd_cancel"))
    p.add_argument("job", metavar="JOB", help=T("opt_job"))
    _server_opt(p)
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("logout", help=T("cmd_logout"), description=T("cmd_logout"))
    _server_opt(p)
    p.set_defaults(func=cmd_logout)
