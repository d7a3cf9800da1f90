"""Cloud offload from the desktop: the account, submitting, the jobs panel's state, results.

Every network call runs as a job on the main controller's one task runner (never on the GUI
thread): sign in/out, upload + submit, polls of the jobs in flight (quiet jobs: no status text,
not "busy"), cancel, and downloads. Polls are scheduled by a timer with backoff (1 s x1.5 up to
10 s, back to 1 s when something changed), so local work can run between them.

The account's server URL and name live in the app settings; the refresh token only in cloud's
token store (the OS keyring, else a 0600 file); access tokens and storage credentials never
leave the ``CloudClient``'s memory.

Results come back as the lossless ``wav32f`` working copy plus the plan (preset JSON), into the
session's temporary directory, and are shown through ``MainController.open_result`` like a
local match; "Download…" saves them to a folder of the user's choice.

An unreachable server (``SERVER_UNREACHABLE``) at submit time emits ``offer_local``: the window
offers the local engine; nothing of the session (files, options, the cloud choice) changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, QTimer, Signal

from app.controllers.engine_api import Steps
from app.controllers.main_controller import MainController
from app.controllers.session import ExternalResult
from app.models import CloudJobRow, fmt_number
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.options import MatchOptions

if TYPE_CHECKING:
    from cloud.client import CloudClient, ResultFile, TransferProgress
    from engine.facade import CancelToken
    from engine.schema.jobs import JobAccepted, JobList, JobResult, JobView
    from engine.schema.preset import Preset

BIG_TOTAL_S = 600.0  # suggest the cloud above 10 minutes of targets...
BIG_BATCH = 5  # ...or more than 5 targets
RESULT_FORMAT: Final = "wav32f"  # the lossless working copy, as a local match renders it
PROGRESS_INTERVAL_S = 0.1
ACTIVE = ("queued", "running", "canceling")
TERMINAL = ("succeeded", "failed", "canceled")
LOGIN_NEEDED = (ErrorCode.SESSION_EXPIRED, ErrorCode.UNAUTHORIZED)

ClientFactory = Callable[[str, str], "CloudClient"]  # (server, username) -> client


@dataclass
class CloudJob:
    """A job of the panel: submitted from this session (local paths known) or found on the
    server (``targets`` empty: it can be downloaded, not opened)."""

    key: str
    name: str
    targets: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    job_id: str = ""
    state: str = "uploading"
    progress: float = 0.0
    stage: str = ""
    error: str = ""
    results: list[JobResult] = field(default_factory=list)
    cached: dict[int, tuple[str, Preset]] = field(default_factory=dict)  # i -> (audio, plan)
    auto_open: bool = False
    token: CancelToken | None = None  # the upload's cancel token while it runs
    saved_to: str = ""
    codec_safe: str = ""  # the job's codec-safe option ("" = none), named in its result lines


class CloudController(QObject):
    """See the module docstring. Views call the public methods and listen to the signals."""

    account_changed = Signal()
    jobs_changed = Signal()
    status_changed = Signal(str)  # "" = fine; else why the jobs are not being updated
    suggestion = Signal(str)  # a visible hint to process a big job in the cloud ("" = none)
    offer_local = Signal(str)  # the server cannot be reached: offer the local engine
    login_needed = Signal(str)  # open the account dialog with this message
    login_result = Signal(bool, str)  # for the account dialog
    enabled_changed = Signal(bool)
    notice = Signal(str)  # one-off notices of the client (no keyring: where the token went)
    _transfer = Signal(str, str, float, str)  # key, stage, fraction, name (any thread)

    def __init__(
        self,
        main: MainController,
        *,
        client_factory: ClientFactory | None = None,
        persist: Callable[[], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent or main)
        self.main = main
        self.settings = main.settings
        self.client_factory: ClientFactory = client_factory or self._default_client
        self._persist = persist
        self._client: CloudClient | None = None
        self._client_lock = threading.Lock()
        self.signed_in = False
        self.enabled = False
        self.jobs: dict[str, CloudJob] = {}
        self._seq = 0
        self.status = ""
        self.poll_first_s, self.poll_factor, self.poll_max_s = 1.0, 1.5, 10.0
        self._poll_delay_s = self.poll_first_s
        self._poll_timer = QTimer(self)
        self._poll_timer.setSingleShot(True)
        self._poll_timer.timeout.connect(self._poll)
        self._suggested_for: frozenset[str] | None = None
        self._closed = False
        self._last_emit = 0.0
        self._transfer.connect(self._on_transfer)
        main.files_changed.connect(self.check_suggestion)
        if self.settings.cloud_server and self.settings.cloud_username:
            self._check_session()

    # -- the client ----------------------------------------------------------------------------

    def _default_client(self, server: str, username: str) -> CloudClient:
        from cloud.client import CloudClient

        return CloudClient(server, username=username, on_notice=self.notice.emit)

    def _client_for(self, server: str, username: str) -> CloudClient:
        """The client of ``username`` on ``server`` (worker thread: opening the token store
        may talk to the OS keyring)."""
        with self._client_lock:
            c = self._client
            if c is not None and (c.server, c.username) == (server, username):
                return c
            if c is not None:
                c.close()
            self._client = self.client_factory(server, username)
            return self._client

    def _account(self) -> tuple[str, str]:
        return self.settings.cloud_server, self.settings.cloud_username

    @property
    def account_text(self) -> str:
        server, user = self._account()
        if self.signed_in:
            return self.tr("Signed in as {user} on {server}").format(user=user, server=server)
        return self.tr("Not signed in")

    def _check_session(self) -> None:
        """At start: is a session stored for the saved account? Then list its jobs."""
        server, user = self._account()

        def run(token: CancelToken) -> Steps[bool]:
            yield self.main.make_progress("probe", 0.0)
            return bool(self._client_for(server, user).logged_in)

        def done(ok: bool) -> None:
            self._set_signed_in(ok)
            if ok:
                self.refresh()

        self.main.run_task("cloud-session", "", run, done, lambda e: None, quiet=True)

    def _set_signed_in(self, on: bool) -> None:
        if on != self.signed_in:
            self.signed_in = on
            self.account_changed.emit()

    # -- account -------------------------------------------------------------------------------

    def login(self, server: str, username: str, password: str) -> None:
        """Sign in (in the background); ``login_result`` tells the dialog how it went."""
        from cloud.config import normalize_server

        try:
            server = normalize_server(server)
        except AudioStyleError as e:
            self.login_result.emit(False, e.message())
            return
        username = username.strip()
        if not username or not password:
            self.login_result.emit(False, self.tr("Enter the account name and the password."))
            return

        def run(token: CancelToken) -> Steps[None]:
            yield self.main.make_progress("probe", 0.1)
            client = self._client_for(server, username)
            client.login(username, password)
            yield self.main.make_progress("done", 1.0)

        def done(_: None) -> None:
            changed = (server, username) != self._account()
            self.settings.cloud_server, self.settings.cloud_username = server, username
            if changed:
                self.jobs.clear()
                self.jobs_changed.emit()
            if self._persist is not None:
                self._persist()
            self.signed_in = False  # always announce the (new) account
            self._set_signed_in(True)
            self._set_status("")
            self.login_result.emit(True, self.account_text)
            self.refresh()

        def fail(e: AudioStyleError) -> None:
            self.login_result.emit(False, e.message())

        label = self.tr("Signing in to {server}").format(server=server)
        self.main.run_task("cloud-login", label, run, done, fail)

    def logout(self) -> None:
        """Sign out here and on the server (best effort); the panel forgets the jobs (they go
        on in the cloud and are listed again after the next sign-in)."""
        server, user = self._account()

        def run(token: CancelToken) -> Steps[bool]:
            yield self.main.make_progress("probe", 0.1)
            return bool(self._client_for(server, user).logout())

        def done(confirmed: bool) -> None:
            self._poll_timer.stop()
            self.jobs = {k: j for k, j in self.jobs.items() if j.state == "uploading"}
            self._set_signed_in(False)
            self.jobs_changed.emit()
            if not confirmed:
                self.main.info.emit(
                    self.tr("Signed out on this computer (the server was not reached).")
                )
            self.login_result.emit(False, self.account_text)

        self.main.run_task("cloud-logout", self.tr("Signing out"), run, done)

    # -- the cloud choice and the big-job suggestion --------------------------------------------

    def set_enabled(self, on: bool) -> None:
        if on != self.enabled:
            self.enabled = on
            self.enabled_changed.emit(on)
        if on and not self.signed_in:
            self.login_needed.emit(self.tr("Sign in to process in the cloud."))

    def is_big(self) -> bool:
        m = self.main
        return len(m.targets) > BIG_BATCH or m.total_target_length_s() > BIG_TOTAL_S

    def check_suggestion(self) -> None:
        """Suggest the cloud (visibly, once per set of targets) for a big job."""
        key = frozenset(self.main.targets)
        if self.enabled or not self.is_big():
            if self._suggested_for is not None:
                self._suggested_for = None
                self.suggestion.emit("")
            return
        if key == self._suggested_for:
            return
        self._suggested_for = key
        total = int(round(self.main.total_target_length_s()))
        length = f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"
        self.suggestion.emit(
            self.tr(
                "A big job: {n} target(s), {length} of audio in all. Processing it in the cloud "
                "keeps this computer free."
            ).format(length=length, n=len(self.main.targets))
        )

    # -- submitting ----------------------------------------------------------------------------

    def submit(self) -> bool:
        """Upload every target with the references and submit one job (the current options).
        False when nothing was queued (no files, not signed in)."""
        m = self.main
        if not m.targets or not m.references:
            m.error.emit(self.tr("Add a reference and a target first."))
            return False
        if not self.signed_in:
            self.login_needed.emit(self.tr("Sign in to process in the cloud."))
            return False
        targets = list(m.targets)
        if m.current_target in targets:  # the current one first: its result opens first
            targets.remove(m.current_target)
            targets.insert(0, m.current_target)
        refs = list(m.references)
        options: MatchOptions = m.options
        server, user = self._account()
        self._seq += 1
        key = f"local-{self._seq}"
        name = " | ".join(Path(t).name for t in targets)
        job = CloudJob(key, name, targets, refs, auto_open=True)
        self.jobs = {key: job, **self.jobs}
        self.jobs_changed.emit()

        def run(token: CancelToken) -> Steps[JobAccepted]:
            job.token = token
            client = self._client_for(server, user)
            yield m.make_progress("upload", 0.0)

            def on_upload(t: TransferProgress) -> None:
                self._report(key, "upload", t.fraction, t.name)

            acc = client.submit_files(
                targets, refs, options, fmt=RESULT_FORMAT, on_progress=on_upload, cancel=token
            )
            yield m.make_progress("done", 1.0)
            return acc

        def done(acc: JobAccepted) -> None:
            job.token = None
            job.job_id, job.state, job.progress = acc.id, str(acc.state), 0.0
            if job.state in TERMINAL and job.state != "succeeded":
                job.auto_open = False
            self.jobs_changed.emit()
            m.info.emit(self.tr("Submitted to the cloud as job {job}.").format(job=acc.id))
            self._poll_soon()

        def fail(e: AudioStyleError) -> None:
            job.token = None
            if e.code == ErrorCode.SERVER_UNREACHABLE or e.code in LOGIN_NEEDED:
                self.jobs.pop(key, None)  # nothing was submitted: nothing to follow
                self.jobs_changed.emit()
            if e.code == ErrorCode.SERVER_UNREACHABLE:
                self.offer_local.emit(e.message())
            elif e.code in LOGIN_NEEDED:
                self._set_signed_in(False)
                self.login_needed.emit(e.message())
            else:
                job.state, job.error = "failed", e.message()
                self.jobs_changed.emit()
                m.error.emit(e.message())

        def canceled() -> None:
            job.token = None
            job.state, job.auto_open = "canceled", False
            self.jobs_changed.emit()
            m.info.emit(self.tr("Upload canceled; nothing was submitted."))

        label = self.tr("Uploading to the cloud: {name}").format(name=Path(targets[0]).name)
        m.run_task(f"cloud-submit-{key}", label, run, done, fail, canceled=canceled)
        return True

    def process_locally(self) -> None:
        """The fallback the window offers when the server is down: the local engine."""
        self.main.match()

    def _report(self, key: str, stage: str, fraction: float, name: str) -> None:
        """Transfer progress from the worker thread (throttled), relayed to the GUI thread."""
        now = time.monotonic()
        if fraction < 1.0 and now - self._last_emit < PROGRESS_INTERVAL_S:
            return
        self._last_emit = now
        self._transfer.emit(key, stage, float(fraction), name)

    def _on_transfer(self, key: str, stage: str, fraction: float, name: str) -> None:
        job = self.jobs.get(key)
        if job is None:
            return
        if stage == "upload" and job.state == "uploading":
            job.progress, job.stage = fraction, name
            self.jobs_changed.emit()
        if self.main.current_kind in (f"cloud-submit-{key}", f"cloud-fetch-{key}"):
            self.main.emit_progress(stage, fraction, name)

    # -- following the jobs ----------------------------------------------------------------

    def refresh(self) -> None:
        """List the account's recent jobs (those from earlier sessions or the CLI too)."""
        if not self.signed_in or self.main.queued("cloud-list"):
            return
        server, user = self._account()

        def run(token: CancelToken) -> Steps[JobList]:
            yield self.main.make_progress("probe", 0.0)
            return self._client_for(server, user).jobs(limit=20)

        def done(listing: JobList) -> None:
            self._set_status("")
            known = {j.job_id: j for j in self.jobs.values() if j.job_id}
            for view in reversed(listing.items):
                job = known.get(view.id)
                if job is None:
                    job = CloudJob(view.id, view.name or view.id, job_id=view.id)
                    self.jobs[view.id] = job
                self._update(job, view)
            order = sorted(
                self.jobs.values(),
                key=lambda j: (j.state != "uploading", -self._created(j, listing)),
            )
            self.jobs = {j.key: j for j in order}
            self.jobs_changed.emit()
            self._poll_soon()

        self.main.run_task("cloud-list", "", run, done, self._poll_failed, quiet=True)

    @staticmethod
    def _created(job: CloudJob, listing: JobList) -> float:
        for v in listing.items:
            if v.id == job.job_id:
                return float(v.created_at.timestamp())
        return float("inf")  # submitted in this session, newer than the listing

    def _poll_soon(self) -> None:
        if self._closed:
            return
        self._poll_delay_s = self.poll_first_s
        self._poll_timer.start(int(self.poll_first_s * 1000))

    def _poll(self) -> None:
        if self._closed:
            return
        ids = [j.job_id for j in self.jobs.values() if j.job_id and j.state in ACTIVE]
        if not ids or not self.signed_in:
            return
        if self.main.queued("cloud-poll"):
            self._poll_timer.start(int(self._poll_delay_s * 1000))
            return
        server, user = self._account()

        def run(token: CancelToken) -> Steps[list[JobView]]:
            client = self._client_for(server, user)
            views = []
            for i, job_id in enumerate(ids):
                token.check()
                views.append(client.job(job_id))
                yield self.main.make_progress("probe", (i + 1) / len(ids))
            return views

        def done(views: list[JobView]) -> None:
            self._set_status("")
            changed = False
            by_id = {j.job_id: j for j in self.jobs.values()}
            for v in views:
                job = by_id.get(v.id)
                if job is not None:
                    changed = self._update(job, v) or changed
            if changed:
                self.jobs_changed.emit()
                self._poll_delay_s = self.poll_first_s
            else:
                self._poll_delay_s = min(self.poll_max_s, self._poll_delay_s * self.poll_factor)
            self._poll_timer.start(int(self._poll_delay_s * 1000))

        self.main.run_task(
            "cloud-poll", "", run, done, self._poll_failed, quiet=True, canceled=self._poll_later
        )

    def _poll_later(self) -> None:
        if self._closed:
            return
        self._poll_delay_s = min(self.poll_max_s, self._poll_delay_s * self.poll_factor)
        self._poll_timer.start(int(self._poll_delay_s * 1000))

    def _poll_failed(self, e: AudioStyleError) -> None:
        if e.code in LOGIN_NEEDED:
            self._set_signed_in(False)
            self.login_needed.emit(e.message())
            return
        self._set_status(
            self.tr("{reason} Your cloud jobs are kept; checking again shortly.").format(
                reason=e.message()
            )
        )
        self._poll_later()

    def _set_status(self, text: str) -> None:
        if text != self.status:
            self.status = text
            self.status_changed.emit(text)

    def _update(self, job: CloudJob, view: JobView) -> bool:
        """Take the server's view of ``job``; True when something shown changed."""
        before = (job.state, job.stage, round(job.progress, 3), job.error)
        state = str(view.state)
        if job.state == "canceling" and state not in TERMINAL:
            state = "canceling"
        job.state, job.stage, job.progress = state, view.stage or "", float(view.progress)
        if view.error is not None:
            job.error = view.error.message
        if state == "succeeded":
            job.progress = 1.0
            job.results = list(view.results)
            job.codec_safe = view.spec.options.codec_safe or ""
        changed = before != (job.state, job.stage, round(job.progress, 3), job.error)
        if changed and state == "failed":
            self.main.error.emit(
                self.tr("Cloud job {name} failed: {reason}").format(
                    name=job.name, reason=job.error or state
                )
            )
        if changed and state == "succeeded" and job.auto_open:
            job.auto_open = False
            if self.main.current_target in job.targets:
                self.open(job.key)
            else:
                self.main.info.emit(self.tr("Cloud job {name} finished.").format(name=job.name))
        return changed

    # -- cancel, download, open ------------------------------------------------------------

    def cancel(self, key: str) -> None:
        """Stop an upload, or cancel the job on the server."""
        job = self.jobs.get(key)
        if job is None or job.state in TERMINAL or job.state == "canceling":
            return
        if not job.job_id:
            if job.token is not None:
                job.token.cancel()  # the upload stops; ``canceled`` updates the row
            elif self.main.unqueue(f"cloud-submit-{key}"):
                job.state, job.auto_open = "canceled", False
                self.jobs_changed.emit()
            return
        prev = job.state
        job.state, job.auto_open = "canceling", False
        self.jobs_changed.emit()
        server, user = self._account()
        job_id = job.job_id

        def run(token: CancelToken) -> Steps[JobView]:
            yield self.main.make_progress("probe", 0.0)
            return self._client_for(server, user).cancel(job_id)

        def done(view: JobView) -> None:
            job.state = "canceled" if str(view.state) == "canceled" else job.state
            self._update(job, view)
            self.jobs_changed.emit()

        def fail(e: AudioStyleError) -> None:
            if job.state == "canceling":
                job.state = prev
            self.jobs_changed.emit()
            self.main.error.emit(e.message())

        self.main.run_task(f"cloud-cancel-{key}", "", run, done, fail, quiet=True)

    def download(self, key: str, folder: str) -> None:
        """Save the job's results (audio and preset of every target) into ``folder``."""
        self._fetch(key, Path(folder), open_after=False)

    def open(self, key: str) -> None:
        """Show the job's result (the current target's, else the first) in the views."""
        job = self.jobs.get(key)
        if job is None or job.state != "succeeded" or not job.targets:
            return
        i = self._result_index(job)
        if i in job.cached:
            self._open_cached(job, i)
        else:
            self._fetch(key, self.main.work_dir / "cloud" / job.job_id, open_after=True)

    def _result_index(self, job: CloudJob) -> int:
        cur = self.main.current_target
        return job.targets.index(cur) if cur in job.targets else 0

    def _fetch(self, key: str, dest: Path, *, open_after: bool) -> None:
        job = self.jobs.get(key)
        if job is None or job.state != "succeeded":
            return
        server, user = self._account()
        presets = self.main.engine.presets
        job_id = job.job_id

        def run(token: CancelToken) -> Steps[list[tuple[ResultFile, Preset | None]]]:
            client = self._client_for(server, user)
            yield self.main.make_progress("download", 0.0)

            def on_download(t: TransferProgress) -> None:
                self._report(key, "download", t.fraction, t.name)

            files = client.download_results(
                job_id,
                dest,
                kinds=("audio", "preset"),
                force=open_after,  # the session's cache may be refreshed; a user's folder not
                on_progress=on_download,
                cancel=token,
            )
            out = []
            for f in files:  # read the plans here, not on the GUI thread
                plan = presets.load_preset(f.path) if f.kind == "preset" else None
                out.append((f, plan))
            yield self.main.make_progress("done", 1.0)
            return out

        def done(files: list[tuple[ResultFile, Preset | None]]) -> None:
            audio: dict[int, str] = {}
            plans: dict[int, Preset] = {}
            for f, plan in files:
                if f.kind == "audio":
                    audio[f.target_index] = str(f.path)
                elif plan is not None:
                    plans[f.target_index] = plan
            if open_after:
                for i, path in audio.items():
                    if i in plans:
                        job.cached[i] = (path, plans[i])
                i = self._result_index(job)
                if i in job.cached:
                    self._open_cached(job, i)
            else:
                job.saved_to = str(dest)
                self.jobs_changed.emit()
                self.main.info.emit(
                    self.tr("Downloaded {n} files to {folder}").format(n=len(files), folder=dest)
                )

        label = self.tr("Downloading the result of {name}").format(name=job.name)
        self.main.run_task(f"cloud-fetch-{key}", label, run, done)

    def _open_cached(self, job: CloudJob, i: int) -> None:
        audio, plan = job.cached[i]
        metrics = job.results[i].metrics if job.results else {}
        fast = metrics.get("fast_stage_db")  # absent from results of older workers
        self.main.open_result(
            ExternalResult(
                target=job.targets[i],
                references=list(job.references),
                audio_path=audio,
                preset=plan,
                gain_db=float(metrics.get("gain_db", 0.0)),
                fast_stage_db=None if fast is None else float(fast),
            )
        )

    # -- for the panel -----------------------------------------------------------------------

    def rows(self) -> list[CloudJobRow]:
        out = []
        for j in self.jobs.values():
            # a finished job's last stage ("done") says nothing its state does not
            stage = j.error or ("" if j.state == "succeeded" else j.stage)
            detail = "\n".join(x for x in (j.name, stage) if x)
            names = [n for n in j.name.split(" | ") if n]  # the job name lists the targets
            if j.state == "succeeded":
                detail += "".join("\n" + line for line in self._result_lines(j, names))
                if j.saved_to:
                    detail += "\n" + self.tr("saved to {folder}").format(folder=j.saved_to)
            short = names[0] + (f" +{len(names) - 1}" if len(names) > 1 else "") if names else j.key
            out.append(
                CloudJobRow(
                    key=j.key,
                    name=short,
                    state=j.state,
                    progress=j.progress,
                    detail=detail,
                    can_cancel=j.state in ("uploading", "queued", "running"),
                    can_download=j.state == "succeeded",
                    can_open=j.state == "succeeded" and bool(j.targets),
                )
            )
        return out

    def _result_lines(self, job: CloudJob, names: list[str]) -> list[str]:
        """One line per result, from the worker's metrics: its loudness and true peak, and
        for a codec-safe job the true peak after that codec (what the search aimed at)."""
        out = []
        for i, r in enumerate(job.results):
            m = r.metrics
            if "output_lufs" not in m or "output_true_peak_dbtp" not in m:
                continue  # an older worker's result
            name = names[i] if len(names) == len(job.results) else Path(r.target).name
            # no-break spaces: a narrow dock wraps between results, not between value and unit
            line = self.tr("{name}: {lufs}\u00a0LUFS, {tp}\u00a0dBTP").format(
                name=name,
                lufs=fmt_number(m["output_lufs"]),
                tp=fmt_number(m["output_true_peak_dbtp"]),
            )
            if "codec_true_peak_dbtp" in m:
                line += self.tr("; after {codec}: {tp}\u00a0dBTP").format(
                    codec=job.codec_safe or self.tr("the codec"),
                    tp=fmt_number(m["codec_true_peak_dbtp"]),
                )
            out.append(line)
        return out

    def shutdown(self) -> None:
        """Stop polling and close connections (jobs on the server go on)."""
        self._closed = True
        self._poll_timer.stop()
        for job in self.jobs.values():
            job.cached.clear()
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None
