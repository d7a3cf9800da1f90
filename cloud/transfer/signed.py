"""Uploads to signed URLs (the embedded server's ``/storage``, S3 presigned POST policies, COS
presigned PUTs): one streamed request per file, repeated whole on failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

import httpx

from cloud.http import (
    CONNECT_ERRORS,
    TRANSFER_ERRORS,
    CloudError,
    origin,
    parse_retry_after,
    redact_url,
)
from cloud.texts import T
from cloud.transfer.common import (
    CHUNK,
    BytesProgress,
    CredentialsExpired,
    TransferOptions,
    TransferStats,
    _check,
    _Retry,
    _run_rounds,
    log,
)
from engine.progress import CancelToken
from engine.schema.errors import ErrorCode
from engine.schema.jobs import UploadTarget


# --- signed URLs (embedded server, presigned POST/PUT) ------------------------------------------
class _ProgressReader:
    """A read-only file object that reports bytes read (httpx's multipart reads it)."""

    def __init__(self, f: IO[bytes], total: int, on_bytes: BytesProgress | None) -> None:
        self.f = f
        self.total = total
        self.done = 0
        self.on_bytes = on_bytes

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.done += len(data)
        if self.on_bytes and data:
            self.on_bytes(min(self.done, self.total), self.total)
        return data

    def fileno(self) -> int:
        return self.f.fileno()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.f.seek(offset, whence)

    def tell(self) -> int:
        return self.f.tell()


def _file_chunks(
    path: Path, total: int, on_bytes: BytesProgress | None, cancel: CancelToken | None
) -> Iterator[bytes]:
    done = 0
    with open(path, "rb") as f:
        while True:
            _check(cancel)
            data = f.read(CHUNK)
            if not data:
                return
            done += len(data)
            if on_bytes:
                on_bytes(min(done, total), total)
            yield data


def upload_signed(
    http: httpx.Client,
    path: Path,
    target: UploadTarget,
    opts: TransferOptions,
    on_bytes: BytesProgress | None = None,
    cancel: CancelToken | None = None,
    stats: TransferStats | None = None,
) -> None:
    """One streamed PUT (or POST policy form) to a signed URL, repeated whole on failure."""
    size = path.stat().st_size
    where = origin(target.url)

    def body() -> None:
        try:
            if target.method == "POST":
                with open(path, "rb") as f:
                    reader = _ProgressReader(f, size, on_bytes)
                    r = http.post(
                        target.url,
                        data=dict(target.fields),
                        files={
                            "file": (path.name, cast(IO[bytes], reader), "application/octet-stream")
                        },
                        headers=dict(target.headers),
                    )
            else:
                headers = {**target.headers, "Content-Length": str(size)}
                r = http.put(
                    target.url,
                    content=_file_chunks(path, size, on_bytes, cancel),
                    headers=headers,
                )
        except (*CONNECT_ERRORS, *TRANSFER_ERRORS) as e:
            raise _Retry(type(e).__name__) from None
        if stats is not None:
            stats.add(parts=1, nbytes=size)
        if r.status_code in (200, 201, 204):
            return
        if r.status_code in (408, 429) or r.status_code >= 500:
            raise _Retry(f"HTTP {r.status_code}", parse_retry_after(r.headers.get("retry-after")))
        if r.status_code == 403 and b"xpired" in r.content[:2000]:
            raise CredentialsExpired(f"HTTP {r.status_code}")
        if r.status_code == 413:
            raise CloudError(ErrorCode.UPLOAD_TOO_LARGE, status=413, size_mb="?", limit_mb="?")
        log.warning("upload to %s: HTTP %d", redact_url(target.url), r.status_code)
        raise CloudError(
            ErrorCode.SERVICE_UNAVAILABLE,
            status=r.status_code,
            reason=T("upload_failed", status=r.status_code, name=path.name),
        )

    _run_rounds(f"upload {path.name}", where, opts.retry, cancel, body, stats)
