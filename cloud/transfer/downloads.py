"""Result downloads: streamed to a temporary file, resumed with ``Range``, checked (SHA-256, a
content-MD5 ETag, or the size), then renamed onto the destination.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

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
    MiB,
    TransferOptions,
    _check,
    _md5,
    _Retry,
    _run_rounds,
    log,
)
from engine.atomic import AtomicFile
from engine.progress import CancelToken
from engine.schema.errors import ErrorCode

# --- downloads ----------------------------------------------------------------------------------
Verified = Literal["sha256", "md5", "md5-multipart", "size"]


_S3_MARKERS = ("x-amz-request-id", "x-amz-id-2", "x-amzn-requestid", "x-cos-request-id")


_MD5_RE = re.compile(r"^[0-9a-f]{32}$")


_MULTI_RE = re.compile(r"^([0-9a-f]{32})-(\d+)$")


@dataclass(frozen=True)
class Downloaded:
    """A finished download: where, how big, and which check vouched for its content."""

    path: Path
    size: int
    verified: Verified


class ExpiredUrl(Exception):
    """A signed download URL was refused (expired, or a storage that answers "not found" to
    bad signatures, like the embedded server): fetch a fresh one."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def _etag_md5(headers: httpx.Headers) -> str | None:
    """The ETag when it is a content MD5 (``hex`` or ``hex-N``) of S3/COS, else None."""
    if not any(h in headers for h in _S3_MARKERS) and headers.get("server", "").lower() not in (
        "amazons3",
        "minio",
        "tencent-cos",
    ):
        return None  # e.g. the embedded server: its ETag hashes mtime and size, not content
    sse = (
        headers.get("x-amz-server-side-encryption", "")
        + headers.get("x-cos-server-side-encryption", "")
    ).lower()
    if "kms" in sse or "x-amz-server-side-encryption-customer-algorithm" in headers:
        return None  # SSE-KMS / SSE-C ETags are not MD5s
    etag = str(headers.get("etag", "")).strip()
    if etag.startswith("W/"):
        return None
    etag = etag.strip('"').lower()
    if _MD5_RE.match(etag) or _MULTI_RE.match(etag):
        return etag
    return None


def _file_digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MiB), b""):
            h.update(block)
    return h.hexdigest()


def _multipart_etag(path: Path, part: int) -> tuple[str, int]:
    md5s = b""
    n = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(part), b""):
            md5s += hashlib.md5(block, usedforsecurity=False).digest()
            n += 1
    return _md5(md5s), n


def verify_file(path: Path, sha256: str | None, etag: str | None) -> Verified | None:
    """Check ``path`` against what is known; the check used, or None on a mismatch."""
    if sha256:
        return "sha256" if _file_digest(path, "sha256") == sha256.lower() else None
    if etag and _MD5_RE.match(etag):
        return "md5" if _file_digest(path, "md5") == etag else None
    m = _MULTI_RE.match(etag or "")
    if m:
        want, n = m.group(1), int(m.group(2))
        size = path.stat().st_size
        candidates = {5 * MiB, 8 * MiB, 10 * MiB, 16 * MiB, 32 * MiB, 64 * MiB}
        if n > 1:
            candidates.add(math.ceil(size / n / MiB) * MiB)
            candidates.add(math.ceil(size / n))
        for p in sorted(candidates):
            if p > 0 and math.ceil(size / p) == n and _multipart_etag(path, p) == (want, n):
                return "md5-multipart"
        # the uploader's part size is unknown: the ETag proves nothing either way (a
        # mismatch could be another part size), so only the size was checked
        log.info("multipart ETag of %s not reproduced; size checked only", path.name)
        return "size"
    return "size"


def download(
    http: httpx.Client,
    url: str,
    dest: Path,
    *,
    force: bool = False,
    sha256: str | None = None,
    opts: TransferOptions | None = None,
    on_bytes: BytesProgress | None = None,
    cancel: CancelToken | None = None,
) -> Downloaded:
    """Download ``url`` to ``dest`` atomically (see the module doc)."""
    o = opts or TransferOptions()
    dest = Path(dest)
    if dest.exists() and not force:
        raise CloudError(ErrorCode.OUTPUT_EXISTS, path=str(dest))
    if dest.is_dir() or not dest.parent.is_dir():
        raise CloudError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(dest))
    state: dict[str, Any] = {"size": None, "etag": None, "have": 0}
    try:
        part = AtomicFile(dest)  # .<name>.<hex>.part next to dest
    except OSError as e:
        raise CloudError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(dest)) from e
    fh = part.file

    def body() -> None:
        have = state["have"]
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with http.stream("GET", url, headers=headers) as r:
                if r.status_code in (401, 403, 404):
                    raise ExpiredUrl(r.status_code)
                if r.status_code in (408, 429) or r.status_code >= 500:
                    raise _Retry(
                        f"HTTP {r.status_code}", parse_retry_after(r.headers.get("retry-after"))
                    )
                if r.status_code not in (200, 206):
                    raise CloudError(
                        ErrorCode.SERVICE_UNAVAILABLE,
                        status=r.status_code,
                        reason=T("download_failed", status=r.status_code, name=dest.name),
                    )
                etag = _etag_md5(r.headers)
                if r.status_code == 206 and have:
                    cr = r.headers.get("content-range", "")
                    m = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", cr)
                    same = state["etag"] == etag or state["etag"] is None
                    if not m or int(m.group(1)) != have or not same:
                        have = 0  # not the same object or range: start over
                        fh.seek(0)
                        fh.truncate()
                    if m and m.group(3) != "*":
                        state["size"] = int(m.group(3))
                else:
                    have = 0
                    fh.seek(0)
                    fh.truncate()
                    cl = r.headers.get("content-length")
                    state["size"] = int(cl) if cl and cl.isdigit() else None
                state["etag"] = etag
                total = state["size"] or 0
                for chunk in r.iter_bytes(CHUNK):
                    _check(cancel)
                    fh.write(chunk)
                    have += len(chunk)
                    state["have"] = have
                    if on_bytes:
                        on_bytes(have, max(total, have))
        except (*CONNECT_ERRORS, *TRANSFER_ERRORS) as e:
            raise _Retry(type(e).__name__) from None
        if state["size"] is not None and have != state["size"]:
            raise _Retry(T("size_mismatch", got=have, want=state["size"], name=dest.name))

    try:
        _run_rounds(f"download {dest.name}", origin(url), o.retry, cancel, body)
        fh.flush()
        verified = verify_file(part.tmp, sha256, state["etag"])
        if verified is None:
            log.warning("checksum mismatch downloading %s", redact_url(url))
            raise CloudError(
                ErrorCode.SERVICE_UNAVAILABLE, reason=T("checksum_mismatch", name=dest.name)
            )
        if dest.exists() and not force:  # appeared while we were downloading
            raise CloudError(ErrorCode.OUTPUT_EXISTS, path=str(dest))
        try:
            part.commit()  # fsync, rename, fsync the directory
        except OSError as e:
            raise CloudError(ErrorCode.OUTPUT_NOT_WRITABLE, path=str(dest)) from e
        return Downloaded(dest, int(state["have"]), verified)
    finally:
        part.discard()  # a no-op after the commit
