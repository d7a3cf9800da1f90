"""A cloud match as an engine-style generator of ``engine.progress.Progress`` (for the desktop's
task runner, which drives it exactly like ``engine.pipeline.match_files``).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloud.client_types import TransferProgress
from cloud.http import (
    CloudError,
)
from engine.progress import CancelToken, Progress
from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.jobs import (
    JobState,
    JobView,
)
from engine.schema.options import AudioFormat, MatchOptions

if TYPE_CHECKING:  # cloud.client re-exports match_in_cloud: no import at run time
    from cloud.client import CloudClient


@dataclass(frozen=True)
class CloudMatch:
    """The outcome of :func:`match_in_cloud`."""

    job: JobView
    outputs: list[Path]


UPLOAD_SHARE, RUN_SHARE = 0.25, 0.65  # download: the rest


def match_in_cloud(
    client: CloudClient,
    targets: Sequence[str | Path],
    references: Sequence[str | Path],
    outputs: str | Path | Sequence[str | Path],
    options: MatchOptions | None = None,
    *,
    fmt: AudioFormat | None = None,
    force: bool = False,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, CloudMatch]:
    """Upload, submit, wait, download — yielding ``Progress(stage, fraction)`` with stages
    ``upload``, ``queued``, ``running`` (message: the server's stage) and ``download``.

    Cancel (``cancel.cancel()``) cancels the job on the server when it was submitted, then
    raises ``CANCELED``. The blocking work runs on a helper thread; this generator only relays
    its progress, so it can be driven by ``engine.progress.drive`` or the app's TaskRunner."""
    token = cancel or CancelToken()
    q: queue.Queue[tuple[str, Any]] = queue.Queue()
    submitted: list[str] = []

    def put(p: Progress) -> None:
        q.put(("progress", p))

    def on_upload(t: TransferProgress) -> None:
        put(Progress("upload", UPLOAD_SHARE * t.fraction, t.name))

    def on_job(v: JobView) -> None:
        stage = "running" if v.state == JobState.RUNNING else v.state.value
        put(Progress(stage, UPLOAD_SHARE + RUN_SHARE * v.progress, v.stage))

    def on_download(t: TransferProgress) -> None:
        put(
            Progress(
                "download",
                UPLOAD_SHARE + RUN_SHARE + (1 - UPLOAD_SHARE - RUN_SHARE) * t.fraction,
                t.name,
            )
        )

    def work() -> None:
        try:
            acc = client.submit_files(
                targets, references, options, fmt=fmt, on_progress=on_upload, cancel=token
            )
            submitted.append(acc.id)
            view = client.wait(acc.id, on_update=on_job, cancel=token)
            if view.state != JobState.SUCCEEDED:
                if view.state == JobState.CANCELED:
                    raise AudioStyleError(ErrorCode.CANCELED)
                reason = view.error.message if view.error else view.state.value
                raise CloudError(ErrorCode.JOB_FAILED, reason=reason)
            files = client.download_results(
                view, outputs, force=force, on_progress=on_download, cancel=token
            )
            q.put(("done", CloudMatch(view, [f.path for f in files])))
        except BaseException as e:  # noqa: BLE001 - handed to the generator's caller
            q.put(("error", e))

    th = threading.Thread(target=work, name="cloud-match", daemon=True)
    th.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "progress":
                yield value
            elif kind == "done":
                yield Progress("done", 1.0)
                result: CloudMatch = value
                return result
            else:
                raise value
    finally:
        if th.is_alive():
            token.cancel()
        if token.cancelled and submitted:
            with contextlib.suppress(AudioStyleError):
                client.cancel(submitted[0])
