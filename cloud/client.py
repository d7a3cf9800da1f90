"""``CloudClient``: the desktop's and the CLI's one object for talking to an audio-style server.

Session: :meth:`CloudClient.login` exchanges name + password for an access token (kept in
memory only) and a refresh token (kept by a :class:`cloud.tokens.TokenStore`: the OS keyring,
else a 0600 file). Every API call refreshes the access token shortly before it expires, and
once more when the server answers 401; a refresh token the server refuses (revoked, reused,
expired) ends the session: the stored token is deleted and ``SESSION_EXPIRED`` ("please log in
again") is raised.

Work: :meth:`upload` (grant + direct-to-storage transfer with progress), :meth:`submit`
(Idempotency-Key, safe to retry), :meth:`job` / :meth:`jobs` / :meth:`cancel`, :meth:`wait`
(polling with backoff: 1 s x1.5 up to 10 s, reset when something changes) and
:meth:`download_results` (progress, checksum, atomic). :func:`match_in_cloud` chains them as a
generator of ``engine.progress.Progress`` like ``engine.pipeline.match_files``, so the app's
task runner can drive a cloud match exactly like a local one.

Thread safety: one client may be shared by threads (a jobs panel polling while an upload runs);
token refresh is serialised, also across processes (``tokens.refresh_lock``).

Beside this module: :mod:`cloud.client_types` (value types), :mod:`cloud.outputs` (input checks,
result names) and :mod:`cloud.match` (:func:`match_in_cloud`); their public names are importable
from here.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from cloud import transfer
from cloud.client_types import (
    ClientStats,
    JobCallback,
    PollPolicy,
    ResultFile,
    TransferCallback,
    TransferProgress,
)
from cloud.config import config_dir as default_config_dir
from cloud.config import normalize_server
from cloud.http import (
    DEFAULT_TIMEOUT,
    CloudError,
    Http,
    RetryPolicy,
    error_from_response,
)
from cloud.journal import UploadJournal
from cloud.match import RUN_SHARE, UPLOAD_SHARE, CloudMatch, match_in_cloud
from cloud.outputs import _check_input, _result_stems, os_access_read, planned_outputs
from cloud.texts import T
from cloud.tokens import MemoryStore, Notice, TokenStore, open_store, refresh_lock
from engine.progress import CancelToken
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.jobs import (
    JobAccepted,
    JobList,
    JobResult,
    JobSpec,
    JobState,
    JobView,
    TokenResponse,
    UploadFileRequest,
    UploadGrant,
    UploadRequest,
)
from engine.schema.options import AudioFormat, MatchOptions

__all__ = [
    "RUN_SHARE",
    "UPLOAD_SHARE",
    "ClientStats",
    "CloudClient",
    "CloudMatch",
    "JobCallback",
    "PollPolicy",
    "ResultFile",
    "TransferCallback",
    "TransferProgress",
    "match_in_cloud",
    "os_access_read",
    "planned_outputs",
]

log = logging.getLogger(__name__)


class CloudClient:
    """A client of one server for one account. See the module doc.

    Parameters
    ----------
    server : str
        ``https://host[:port]`` of the API.
    username : str
        The account (names the refresh token in the keyring).
    store : TokenStore, optional
        Where the refresh token lives; default: keyring, else the 0600 file in ``config_dir``.
    config_dir : Path, optional
        Default ``cloud.config.config_dir()``.
    retry, timeout, transport
        HTTP behaviour of API calls (``transport``: an httpx transport, for tests).
    transfer_options : TransferOptions, optional
        Part size, threads, retry policy of uploads and downloads.
    poll : PollPolicy, optional
        Job polling.
    refresh_margin_s : float, optional
        Refresh the access token this long before it expires (default: a fifth of its lifetime,
        at most 60 s, plus 1 s); 0 = only when the server answers 401.
    on_notice : callable, optional
        Receives one-off notices for the user (e.g. "no system keyring, kept in <file>").
    resume_uploads : bool, optional
        Remember unfinished uploads in ``<config_dir>/uploads.json`` (no secrets) so that a
        later run resumes them (``cloud.journal``). Default: when the session is persistent
        (an account and no explicit ``store``).
    """

    def __init__(
        self,
        server: str,
        *,
        username: str = "",
        store: TokenStore | None = None,
        config_dir: Path | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        transfer_options: transfer.TransferOptions | None = None,
        poll: PollPolicy | None = None,
        refresh_margin_s: float | None = None,
        on_notice: Notice | None = None,
        resume_uploads: bool | None = None,
    ) -> None:
        self.server = normalize_server(server)
        self.username = username
        self._on_notice = on_notice
        self.config_dir = config_dir or default_config_dir()
        # an explicit store is kept; otherwise the account's keyring entry (or 0600 file),
        # opened once the account is known (here, or at login)
        self._own_store = store is None
        self.store: TokenStore = store if store is not None else MemoryStore()
        self._lock_dir: Path | None = None
        if store is None and username:
            self._open_store(username)
        self.http = Http(self.server, timeout=timeout, retry=retry, transport=transport)
        self.transfer_options = transfer_options or transfer.TransferOptions(timeout=timeout)
        self.storage = transfer.storage_http(self.transfer_options)
        self.poll = poll or PollPolicy()
        self.refresh_margin_s = refresh_margin_s
        self.stats = ClientStats()
        self._resume = resume_uploads
        self._access: str | None = None
        self._access_deadline = 0.0
        self._refresh_guard = threading.Lock()

    # --- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Close connections and forget the access token."""
        self._access = None
        self.http.close()
        self.storage.close()

    def __enter__(self) -> CloudClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- session ----------------------------------------------------------------------------

    @property
    def logged_in(self) -> bool:
        """True when a refresh token is stored (the server may still refuse it)."""
        return self._access is not None or bool(self.store.get())

    def login(self, username: str, password: str) -> None:
        """Password grant; stores the refresh token, keeps the access token in memory.

        Raises ``BAD_CREDENTIALS`` (E514) for a wrong name or password, ``RATE_LIMITED``
        while the account or this address is throttled."""
        if self._own_store and (username != self.username or self._lock_dir is None):
            self._open_store(username)
        self.username = username
        r = self.http.send(
            "POST",
            "/auth/token",
            retry_safe=True,  # a repeated login only starts another session
            data={"grant_type": "password", "username": username, "password": password},
        )
        if r.status_code != 200:
            raise error_from_response(r)
        previous = self.store.get()
        self._accept_tokens(TokenResponse.model_validate(r.json()))
        if previous:  # signing in again: end the session it replaces (best effort)
            with contextlib.suppress(AudioStyleError):
                self.http.send(
                    "POST",
                    "/auth/logout",
                    retry_safe=True,
                    data={"refresh_token": previous},
                    policy=RetryPolicy(attempts=1),
                )

    def logout(self) -> bool:
        """Revoke the session on the server (best effort) and forget it here. False when a
        session was forgotten here but the server could not be told."""
        token = self.store.get()
        self._access = None
        confirmed = not token  # nothing to revoke
        if token:
            try:
                r = self.http.send(
                    "POST",
                    "/auth/logout",
                    retry_safe=True,
                    data={"refresh_token": token},
                    policy=RetryPolicy(attempts=2, deadline_s=10.0),
                )
                confirmed = r.status_code in (200, 204)
            except AudioStyleError:
                confirmed = False
        self.store.delete()
        return confirmed

    def _open_store(self, username: str) -> None:
        self.store = open_store(self.config_dir, self.server, username, self._on_notice)
        self._lock_dir = self.config_dir  # refreshes of several processes take turns

    def _accept_tokens(self, tr: TokenResponse) -> None:
        self.store.set(tr.refresh_token)
        self._access = tr.access_token
        margin = self.refresh_margin_s
        if margin is None:
            # a fifth of the lifetime (at most a minute), plus a second: JWT times are whole
            # seconds, so a token may die up to 1 s before "received + expires_in"
            margin = min(60.0, 0.2 * tr.expires_in) + 1.0
        self._access_deadline = time.monotonic() + max(0.0, tr.expires_in - margin)

    def _access_token(self) -> str:
        token = self._access
        if token is not None and (
            self.refresh_margin_s == 0 or time.monotonic() < self._access_deadline
        ):
            return token
        return self._refresh(token)

    def _refresh(self, stale: str | None) -> str:
        """A fresh access token from the stored refresh token (one refresh at a time, across
        threads and processes). ``stale``: the access token the caller found unusable."""
        with self._refresh_guard:
            if self._access is not None and self._access != stale:
                return self._access  # another thread refreshed meanwhile
            with refresh_lock(self._lock_dir):
                token = self.store.get()  # re-read: another process may have rotated it
                if not token:
                    raise CloudError(ErrorCode.UNAUTHORIZED)
                r = self.http.send(
                    "POST",
                    "/auth/token",
                    retry_safe=False,  # a lost answer may have spent the token: never resend
                    data={"grant_type": "refresh_token", "refresh_token": token},
                )
                if r.status_code in (400, 401, 403):
                    self._access = None
                    self.store.delete()
                    log.info("refresh refused (HTTP %d): session ended", r.status_code)
                    raise CloudError(ErrorCode.SESSION_EXPIRED, status=r.status_code)
                if r.status_code != 200:
                    raise error_from_response(r)
                self._accept_tokens(TokenResponse.model_validate(r.json()))
                self.stats.refreshes += 1
                assert self._access is not None
                return self._access

    def _api(
        self,
        method: str,
        path: str,
        *,
        retry_safe: bool,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        """An authenticated API call: refresh when due, and once more on a 401."""
        token = self._access_token()
        h = {**(headers or {}), "Authorization": f"Bearer {token}"}
        r = self.http.send(method, path, retry_safe=retry_safe, headers=h, **kw)
        if r.status_code == 401:
            self.stats.unauthorized_retries += 1
            log.info("%s %s: 401, refreshing the access token", method, path)
            token = self._refresh(token)
            h["Authorization"] = f"Bearer {token}"
            r = self.http.send(method, path, retry_safe=retry_safe, headers=h, **kw)
        if r.status_code >= 400:
            raise error_from_response(r)
        return r

    # --- uploads ----------------------------------------------------------------------------

    def upload(
        self,
        paths: Sequence[str | Path],
        *,
        on_progress: TransferCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[str]:
        """Upload files straight to storage; returns their object keys (same order).

        The same file named twice is uploaded once. Temporary storage credentials live only in
        memory; when they (or the signed URLs) expire, the grant is renewed (same keys) and the
        transfer resumes. An upload of the same files interrupted earlier (even by another
        process) is resumed, see ``cloud.journal``."""
        files = [Path(p) for p in paths]
        unique: list[Path] = []
        index: dict[Path, int] = {}
        for p in files:
            rp = p.resolve()
            if rp not in index:
                _check_input(p)
                index[rp] = len(unique)
                unique.append(p)
        keys = self._upload_unique(unique, on_progress, cancel)
        return [keys[index[p.resolve()]] for p in files]

    @property
    def journal(self) -> UploadJournal | None:
        """Where unfinished uploads are remembered (None: not remembered)."""
        on = self._resume if self._resume is not None else self._lock_dir is not None
        return UploadJournal(self.config_dir) if on and self.username else None

    def _upload_unique(
        self,
        files: list[Path],
        on_progress: TransferCallback | None,
        cancel: CancelToken | None,
    ) -> list[str]:
        journal = self.journal
        grant: UploadGrant | None = None
        done: set[int] = set()
        entry = journal.find(self.server, self.username, files) if journal else None
        if entry is not None and journal is not None:
            try:
                grant = self._renew(str(entry["upload_id"]))
            except CloudError as e:
                if e.code != ErrorCode.NOT_FOUND:
                    raise
            if grant is not None and [t.key for t in grant.files] == [
                f.get("key") for f in entry["files"]
            ]:
                done = {i for i, f in enumerate(entry["files"]) if f.get("done")}
                log.info("resuming upload %s (%d of %d files done)", grant.upload_id,
                         len(done), len(files))  # fmt: skip
            else:
                journal.remove(str(entry["upload_id"]))
                grant = None
        if grant is None:
            grant = self._grant(files)
            if journal is not None:
                journal.start(
                    self.server, self.username, grant.upload_id, files,
                    [t.key for t in grant.files],
                )  # fmt: skip
        for attempt in (1, 2, 3):
            try:
                self._send_files(files, grant, done, on_progress, cancel)
                break
            except transfer.CredentialsExpired:
                if attempt == 3:
                    raise CloudError(
                        ErrorCode.SERVICE_UNAVAILABLE, reason=T("credentials_expired")
                    ) from None
                log.info("upload credentials expired; renewing the grant")
                grant = self._renew(grant.upload_id)
        if journal is not None:
            journal.remove(grant.upload_id)
        return [t.key for t in grant.files]

    def _renew(self, upload_id: str) -> UploadGrant:
        """``POST /uploads/{id}/renew``: the same keys with fresh credentials / URLs."""
        r = self._api("POST", f"/uploads/{_safe_id(upload_id)}/renew", retry_safe=True)
        return UploadGrant.model_validate(r.json())

    def _grant(self, files: Sequence[Path]) -> UploadGrant:
        body = UploadRequest(
            files=[UploadFileRequest(name=p.name, size=p.stat().st_size) for p in files]
        )
        r = self._api("POST", "/uploads", retry_safe=True, json=body.model_dump(mode="json"))
        return UploadGrant.model_validate(r.json())

    def _send_files(
        self,
        files: Sequence[Path],
        grant: UploadGrant,
        done: set[int],
        on_progress: TransferCallback | None,
        cancel: CancelToken | None,
    ) -> None:
        """Send every file not in ``done`` (adding each to it once stored)."""
        sizes = [p.stat().st_size for p in files]
        total = sum(sizes)
        before = [sum(sizes[:i]) for i in range(len(files))]
        creds = grant.credentials
        opts = self.transfer_options
        stats = self.stats.upload
        uploader: transfer.S3Uploader | transfer.CosUploader | None = None
        if creds is not None and creds.provider == "s3":
            uploader = transfer.S3Uploader(creds, opts, stats)
        elif creds is not None and creds.provider == "cos":
            uploader = transfer.CosUploader(creds, opts, stats)
        journal = self.journal
        for i, (p, target) in enumerate(zip(files, grant.files, strict=True)):
            if i in done:
                if on_progress is not None:
                    n = sizes[i]
                    on_progress(
                        TransferProgress(
                            "upload", p.name, i, len(files), n, n, before[i] + n, total
                        )
                    )
                continue

            def on_bytes(done: int, tot: int, i: int = i, p: Path = p) -> None:
                if on_progress is not None:
                    on_progress(
                        TransferProgress(
                            "upload", p.name, i, len(files), done, tot, before[i] + done, total
                        )
                    )

            if uploader is not None:
                uploader.upload(p, target.key, on_bytes, cancel)
            else:
                try:
                    transfer.upload_signed(self.storage, p, target, opts, on_bytes, cancel, stats)
                except CloudError as e:
                    # refused (403; the embedded server says 404) after the grant's end
                    expired = grant.expires_at.timestamp() <= time.time() + 30
                    if e.status in (403, 404) and expired:
                        raise transfer.CredentialsExpired("signed URL expired") from None
                    raise
            done.add(i)
            if journal is not None:
                journal.mark_done(grant.upload_id, i)

    # --- jobs -------------------------------------------------------------------------------

    def submit(
        self,
        targets: Sequence[str],
        references: Sequence[str],
        options: MatchOptions | None = None,
        *,
        fmt: AudioFormat | None = None,
        name: str = "",
        idempotency_key: str | None = None,
    ) -> JobAccepted:
        """``POST /jobs`` with an Idempotency-Key (a new UUID unless given): retries and
        repeated calls with the same key and body return the same job."""
        spec = JobSpec(
            targets=list(targets),
            references=list(references),
            options=options or MatchOptions(),
            format=fmt,
            name=name[:200],
        )
        key = idempotency_key or uuid.uuid4().hex
        r = self._api(
            "POST",
            "/jobs",
            retry_safe=True,
            json=spec.model_dump(mode="json"),
            headers={"Idempotency-Key": key},
        )
        return JobAccepted.model_validate(r.json())

    def submit_files(
        self,
        targets: Sequence[str | Path],
        references: Sequence[str | Path],
        options: MatchOptions | None = None,
        *,
        fmt: AudioFormat | None = None,
        name: str | None = None,
        on_progress: TransferCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> JobAccepted:
        """Upload local files and submit them; the job's name defaults to the target file
        names (``a.wav | b.wav``), which :meth:`download_results` uses to name outputs."""
        tpaths, rpaths = [Path(t) for t in targets], [Path(r) for r in references]
        keys = self.upload([*tpaths, *rpaths], on_progress=on_progress, cancel=cancel)
        if name is None:
            name = " | ".join(p.name for p in tpaths)
        return self.submit(keys[: len(tpaths)], keys[len(tpaths) :], options, fmt=fmt, name=name)

    def job(self, job_id: str) -> JobView:
        """``GET /jobs/{id}``: state, progress and, once succeeded, fresh result URLs."""
        r = self._api("GET", f"/jobs/{_safe_id(job_id)}", retry_safe=True)
        return JobView.model_validate(r.json())

    def jobs(
        self, *, limit: int = 20, cursor: str | None = None, state: JobState | None = None
    ) -> JobList:
        """``GET /jobs``: newest first; pass ``next_cursor`` on for the next page."""
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        if state is not None:
            params["state"] = state.value
        r = self._api("GET", "/jobs", retry_safe=True, params=params)
        return JobList.model_validate(r.json())

    def cancel(self, job_id: str) -> JobView:
        """``DELETE /jobs/{id}``; ``CONFLICT`` when the job already finished (a repeat of a
        cancel whose answer was lost finds the job canceled: that is success)."""
        try:
            r = self._api("DELETE", f"/jobs/{_safe_id(job_id)}", retry_safe=True)
        except CloudError as e:
            if e.code == ErrorCode.CONFLICT:
                view = self.job(job_id)
                if view.state == JobState.CANCELED:
                    return view
            raise
        return JobView.model_validate(r.json())

    def wait(
        self,
        job_id: str,
        *,
        on_update: JobCallback | None = None,
        cancel: CancelToken | None = None,
        timeout_s: float | None = None,
    ) -> JobView:
        """Poll until the job is succeeded, failed or canceled (see :class:`PollPolicy`).

        ``cancel`` stops waiting (``CANCELED``) without canceling the job on the server.
        ``timeout_s`` raises ``SERVICE_UNAVAILABLE`` when exceeded (the job goes on)."""
        delay = self.poll.first_s
        last: tuple[Any, ...] | None = None
        start = time.monotonic()
        while True:
            if cancel is not None:
                cancel.check()
            view = self.job(job_id)
            sig = (view.state, view.stage, round(view.progress, 3), view.attempt)
            if sig != last:
                last = sig
                delay = self.poll.first_s
                if on_update is not None:
                    on_update(view)
            if view.state.terminal:
                return view
            if timeout_s is not None and time.monotonic() - start > timeout_s:
                raise CloudError(
                    ErrorCode.SERVICE_UNAVAILABLE,
                    reason=T("wait_timeout", job=job_id, seconds=timeout_s),
                )
            transfer._sleep(delay, cancel)
            delay = min(self.poll.max_s, delay * self.poll.factor)

    def download_results(
        self,
        job: str | JobView,
        out: str | Path | Sequence[str | Path],
        *,
        kinds: Sequence[str] = ("audio",),
        force: bool = False,
        on_progress: TransferCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[ResultFile]:
        """Download a succeeded job's results.

        ``out``: a directory (files named after the targets: ``<stem>.matched.<ext>``,
        ``<stem>.preset.json``, ``<stem>.curves.png``), or one audio path per target.
        ``kinds``: any of ``audio``, ``preset``, ``viz``. Expired URLs are renewed once."""
        view = self.job(job.id if isinstance(job, JobView) else job)  # fresh signed URLs
        if view.state != JobState.SUCCEEDED:
            if view.state == JobState.FAILED:
                reason = view.error.message if view.error else view.state.value
                raise CloudError(ErrorCode.JOB_FAILED, reason=reason)
            raise CloudError(
                ErrorCode.CONFLICT, reason=T("job_not_finished", job=view.id, state=view.state)
            )
        if not view.results:
            raise CloudError(ErrorCode.JOB_FAILED, reason=T("no_results"))
        plan = self._download_plan(view, out, kinds)
        sizes_known = 0
        results: list[ResultFile] = []
        for n, (i, kind, dest) in enumerate(plan):

            def on_bytes(
                done: int, tot: int, n: int = n, dest: Path = dest, base: int = sizes_known
            ) -> None:
                if on_progress is not None:
                    on_progress(
                        TransferProgress(
                            "download",
                            dest.name,
                            n,
                            len(plan),
                            done,
                            tot,
                            base + done,
                            base + max(tot, done),
                        )
                    )

            got = self._download_one(view, i, kind, dest, force, on_bytes, cancel)
            sizes_known += got.size
            results.append(ResultFile(got.path, kind, i, got.verified))
        return results

    def _download_plan(
        self, view: JobView, out: str | Path | Sequence[str | Path], kinds: Sequence[str]
    ) -> list[tuple[int, str, Path]]:
        n = len(view.results)
        if isinstance(out, (str, Path)):
            o = Path(out)
            if o.is_dir() or n > 1 or (o.suffix == "" and not o.exists()):
                o.mkdir(parents=True, exist_ok=True)
                stems = _result_stems(view)
                audio = [
                    o / f"{stems[i]}.matched{Path(r.audio_key).suffix}"
                    for i, r in enumerate(view.results)
                ]
                base = [o / stems[i] for i in range(n)]
            else:
                audio = [o]
                base = [o.with_suffix("")]
        else:
            audio = [Path(p) for p in out]
            if len(audio) != n:
                raise CloudError(ErrorCode.BAD_OPTION, name="-o", reason=f"need {n} outputs")
            base = [p.with_suffix("") for p in audio]
        plan: list[tuple[int, str, Path]] = []
        for i in range(n):
            for kind in kinds:
                if kind == "audio":
                    plan.append((i, kind, audio[i]))
                elif kind == "preset":
                    plan.append((i, kind, base[i].with_name(base[i].name + ".preset.json")))
                elif kind == "viz":
                    plan.append((i, kind, base[i].with_name(base[i].name + ".curves.png")))
                else:
                    raise CloudError(ErrorCode.BAD_OPTION, name="kinds", reason=kind)
        return plan

    def _download_one(
        self,
        view: JobView,
        i: int,
        kind: str,
        dest: Path,
        force: bool,
        on_bytes: transfer.BytesProgress,
        cancel: CancelToken | None,
    ) -> transfer.Downloaded:
        for attempt in (1, 2):
            res: JobResult = view.results[i]
            url = {"audio": res.audio_url, "preset": res.preset_url, "viz": res.viz_url}[kind]
            sha = res.audio_sha256 if kind == "audio" else None
            try:
                return transfer.download(
                    self.storage,
                    url,
                    dest,
                    force=force,
                    sha256=sha,
                    opts=self.transfer_options,
                    on_bytes=on_bytes,
                    cancel=cancel,
                )
            except transfer.ExpiredUrl as e:
                if attempt == 2:
                    code = ErrorCode.NOT_FOUND if e.status == 404 else ErrorCode.FORBIDDEN
                    raise CloudError(code, status=e.status) from None
                view = self.job(view.id)  # fresh signed URLs
        raise AssertionError("unreachable")


def _safe_id(job_id: str) -> str:
    j = job_id.strip()
    if not j or len(j) > 64 or not all(c.isalnum() or c in "-_" for c in j):
        raise CloudError(ErrorCode.BAD_OPTION, name="JOB", reason="not a job id")
    return j
