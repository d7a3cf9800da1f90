"""Moving bytes: uploads to object storage and result downloads, with progress and resume.

Uploads go straight to storage, never through the API, in one of three ways, chosen by the
upload grant (``POST /uploads``):

- **COS** (grant has ``credentials.provider == "cos"``): cos-python-sdk-v5 with the STS keys;
  ``upload_file`` does multipart above one part and resumes by asking COS for the key's
  unfinished upload and its parts (``ListMultipartUploads`` + ``ListParts``, each part checked
  by size and MD5), so a retry after a dropped connection sends only the missing parts.
- **S3 / MinIO** (``provider == "s3"``): boto3 with the AssumeRole credentials, multipart driven
  here: the key's unfinished upload (``ListMultipartUploads``: an earlier run, or this one under
  expired credentials) or a new one, then rounds of ``ListParts`` -> send the parts not stored
  (or stored with another size/MD5) with ``Content-MD5`` -> ``CompleteMultipartUpload``.
- **Signed URLs** (no credentials: the embedded server's ``/storage`` URLs, S3 presigned POST
  policies, COS presigned PUTs): one streamed request per file, repeated whole on failure.

The credentials live in memory (the objects built here) only. Transfers retry connection
failures and 5xx with jittered exponential backoff (``RetryPolicy``) until the policy's deadline.

Downloads stream to a hidden temporary file next to the destination (``.<name>.<hex>.part``),
resume with ``Range`` after a dropped connection, check the size and a checksum, then fsync
and rename: a destination is either absent or complete. The checksum is the best the storage
offers: a server-provided SHA-256 (``audio_sha256`` in a job result, when the server sends
it), else the S3/COS ETag when it is a content MD5 (single-part, or multipart ``md5-N``
recomputed for the usual part sizes; never for SSE-KMS objects), else the size alone (the
embedded server's ETag is not a content hash).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, cast
from urllib.parse import urlsplit

import httpx

from cloud.http import (
    CONNECT_ERRORS,
    DEFAULT_TIMEOUT,
    TRANSFER_ERRORS,
    USER_AGENT,
    CloudError,
    RetryPolicy,
    origin,
    parse_retry_after,
    redact_url,
    unreachable,
)
from cloud.texts import T
from engine.atomic import AtomicFile
from engine.progress import CancelToken
from engine.schema.errors import ErrorCode
from engine.schema.jobs import TemporaryCredentials, UploadTarget

log = logging.getLogger(__name__)

MiB = 1024 * 1024
MAX_PARTS = 10_000
CHUNK = 256 * 1024
# transfers may wait out a longer outage than API calls
STORAGE_RETRY = RetryPolicy(attempts=8, base_s=0.5, cap_s=20.0, deadline_s=300.0)

BytesProgress = Callable[[int, int], None]  # (bytes done, bytes total) of one file


def _check(cancel: CancelToken | None) -> None:
    if cancel is not None:
        cancel.check()


def _cos_address_from_env() -> tuple[str, int] | None:
    v = os.environ.get("AUDIO_STYLE_COS_ADDRESS", "").strip()
    if not v or ":" not in v:
        return None
    host, _, port = v.rpartition(":")
    return (host, int(port)) if port.isdigit() else None


@dataclass(frozen=True)
class TransferOptions:
    """Knobs of uploads and downloads.

    ``part_size``: multipart part size (S3 needs >= 5 MiB except the last part; raised as needed
    to stay within 10,000 parts; COS takes whole MiB). ``threads``: parts in flight.
    ``sdk_retries``: retries of one request inside boto3 / the COS SDK before a resume
    round takes over. ``cos_address``: send COS traffic to this ``(ip, port)`` while keeping the bucket's host
    name (private endpoints; tests) — default from ``AUDIO_STYLE_COS_ADDRESS=ip:port``.
    """

    part_size: int = 8 * MiB
    threads: int = 4
    sdk_retries: int = 2
    retry: RetryPolicy = STORAGE_RETRY
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    cos_address: tuple[str, int] | None = field(default_factory=_cos_address_from_env)

    def part_size_for(self, size: int) -> int:
        return max(self.part_size, math.ceil(size / MAX_PARTS))


@dataclass
class TransferStats:
    """What a transfer did (for tests and diagnostics): requests that carried file data."""

    parts_sent: int = 0
    parts_skipped: int = 0
    rounds: int = 0
    bytes_sent: int = 0

    def add(self, parts: int = 0, skipped: int = 0, nbytes: int = 0) -> None:
        with _stats_lock:
            self.parts_sent += parts
            self.parts_skipped += skipped
            self.bytes_sent += nbytes


_stats_lock = threading.Lock()


class CredentialsExpired(Exception):
    """The temporary storage credentials (or signed URL) expired: ask for a new grant."""


class _Retry(Exception):
    """A transient storage failure: wait and try again (resuming)."""

    def __init__(self, why: str, retry_after: float | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.retry_after = retry_after


def _run_rounds(
    what: str,
    endpoint: str,
    policy: RetryPolicy,
    cancel: CancelToken | None,
    body: Callable[[], None],
    stats: TransferStats | None = None,
) -> None:
    """Call ``body`` until it returns; on :class:`_Retry` wait (backoff) and call it again."""
    start = time.monotonic()
    attempt = 0
    while True:
        _check(cancel)
        attempt += 1
        if stats is not None:
            stats.rounds += 1
        try:
            body()
            return
        except _Retry as e:
            delay = policy.delay(attempt, e.retry_after)
            if attempt >= policy.attempts or time.monotonic() - start + delay > policy.deadline_s:
                log.warning("%s: %s, giving up after %d rounds", what, e.why, attempt)
                raise unreachable(endpoint) from None
            log.info("%s: %s; resuming in %.2f s (round %d)", what, e.why, delay, attempt + 1)
            _sleep(delay, cancel)


def _sleep(seconds: float, cancel: CancelToken | None) -> None:
    end = time.monotonic() + seconds
    while True:
        _check(cancel)
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(0.1, left))


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _read_part(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(size)
    if len(data) != size:
        raise CloudError(ErrorCode.NOT_READABLE, path=str(path))
    return data


# --- S3 / MinIO: boto3 multipart ----------------------------------------------------------------


_S3_EXPIRED = {"ExpiredToken", "TokenRefreshRequired", "RequestExpired", "InvalidToken"}
_S3_TRANSIENT = {
    "RequestTimeout",
    "SlowDown",
    "InternalError",
    "ServiceUnavailable",
    "Throttling",
    "ThrottlingException",
    "RequestTimeTooSkewed",
}


class S3Uploader:
    """Multipart uploads to S3/MinIO with temporary credentials; resumes from ``ListParts``."""

    def __init__(
        self,
        creds: TemporaryCredentials,
        opts: TransferOptions,
        stats: TransferStats | None = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.creds = creds
        self.opts = opts
        self.stats = stats or TransferStats()
        cfg = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": opts.sdk_retries + 1, "mode": "standard"},
            connect_timeout=opts.timeout.connect or 5.0,
            read_timeout=max(opts.timeout.read or 30.0, 60.0),
            max_pool_connections=opts.threads + 2,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=creds.endpoint,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            region_name=creds.region,
            config=cfg,
        )

    def _classify(self, e: Exception) -> Exception:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
        )
        from botocore.exceptions import (
            ConnectionError as BotoConnectionError,
        )

        if isinstance(e, ClientError):
            err = e.response.get("Error", {})
            code = str(err.get("Code", ""))
            status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code in _S3_EXPIRED:
                return CredentialsExpired(code)
            if code in _S3_TRANSIENT or status >= 500 or status == 429:
                return _Retry(f"{code or status}")
            if code == "EntityTooLarge":
                return CloudError(ErrorCode.UPLOAD_TOO_LARGE, size_mb="?", limit_mb="?")
            if status == 403:
                # AccessDenied after the credentials' expiry means "expired"
                if self.creds.expiration.timestamp() <= time.time() + 30:
                    return CredentialsExpired(code)
                return CloudError(ErrorCode.FORBIDDEN, status=403)
            return CloudError(
                ErrorCode.SERVICE_UNAVAILABLE, status=status, reason=f"storage: {code}"
            )
        if isinstance(e, (BotoConnectionError, BotoCoreError)):
            return _Retry(type(e).__name__)
        return e

    def upload(
        self,
        path: Path,
        key: str,
        on_bytes: BytesProgress | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        size = path.stat().st_size
        part = self.opts.part_size_for(size)
        if size <= part:
            self._single(path, key, size, on_bytes, cancel)
        else:
            self._multipart(path, key, size, part, on_bytes, cancel)

    def _single(
        self,
        path: Path,
        key: str,
        size: int,
        on_bytes: BytesProgress | None,
        cancel: CancelToken | None,
    ) -> None:
        def body() -> None:
            data = _read_part(path, 0, size)
            md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
            try:
                self.client.put_object(Bucket=self.creds.bucket, Key=key, Body=data, ContentMD5=md5)
            except Exception as e:
                raise self._classify(e) from None
            self.stats.add(parts=1, nbytes=size)
            if on_bytes:
                on_bytes(size, size)

        _run_rounds(
            f"upload {path.name}", self.creds.endpoint, self.opts.retry, cancel, body, self.stats
        )

    def _find_upload(self, key: str) -> str | None:
        """The newest unfinished multipart upload of ``key`` (``ListMultipartUploads``), or
        None (also when listing is not allowed: then the upload starts over)."""
        try:
            r = self.client.list_multipart_uploads(Bucket=self.creds.bucket, Prefix=key)
        except Exception as e:
            err = self._classify(e)
            if isinstance(err, (_Retry, CredentialsExpired)):
                raise err from None
            return None
        mine = [u for u in r.get("Uploads", []) if u.get("Key") == key]
        if not mine:
            return None
        newest = max(mine, key=lambda u: str(u.get("Initiated", "")))
        log.info("resuming the multipart upload of %s", key.rsplit("/", 1)[-1])
        return str(newest["UploadId"])

    def _list_parts(self, key: str, upload_id: str) -> dict[int, tuple[str, int]]:
        out: dict[int, tuple[str, int]] = {}
        marker = 0
        while True:
            try:
                r = self.client.list_parts(
                    Bucket=self.creds.bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
                )
            except Exception as e:
                raise self._classify(e) from None
            for p in r.get("Parts", []):
                out[int(p["PartNumber"])] = (str(p["ETag"]).strip('"').lower(), int(p["Size"]))
            if not r.get("IsTruncated"):
                return out
            marker = int(r.get("NextPartNumberMarker", 0))

    def _multipart(
        self,
        path: Path,
        key: str,
        size: int,
        part: int,
        on_bytes: BytesProgress | None,
        cancel: CancelToken | None,
    ) -> None:
        n_parts = math.ceil(size / part)
        state: dict[str, Any] = {"upload_id": None}
        done_lock = threading.Lock()

        def spans() -> Iterator[tuple[int, int, int]]:
            for i in range(n_parts):
                off = i * part
                yield i + 1, off, min(part, size - off)

        def body() -> None:
            if state["upload_id"] is None and not state.get("looked"):
                # an earlier run (or the same run under other credentials) may have started it
                state["upload_id"] = self._find_upload(key)
                state["looked"] = True
            if state["upload_id"] is None:
                try:
                    r = self.client.create_multipart_upload(Bucket=self.creds.bucket, Key=key)
                except Exception as e:
                    raise self._classify(e) from None
                state["upload_id"] = str(r["UploadId"])
                stored: dict[int, tuple[str, int]] = {}
            else:
                try:
                    stored = self._list_parts(key, state["upload_id"])
                except _Retry:
                    raise
                except CloudError as e:
                    if e.status == 404:  # NoSuchUpload: aborted meanwhile; start over
                        state["upload_id"] = None
                        raise _Retry("upload vanished") from None
                    raise
            etags: dict[int, str] = {}
            todo: list[tuple[int, int, int]] = []
            done_bytes = 0
            for num, off, length in spans():
                have = stored.get(num)
                if (
                    have is not None
                    and have[1] == length
                    and have[0] == _md5(_read_part(path, off, length))
                ):
                    etags[num] = have[0]
                    done_bytes += length
                    continue
                todo.append((num, off, length))
            self.stats.add(skipped=len(etags) if stored else 0)
            progress = [done_bytes]
            if on_bytes:
                on_bytes(done_bytes, size)
            failures: list[BaseException] = []

            def send(num: int, off: int, length: int) -> None:
                if failures or (cancel is not None and cancel.cancelled):
                    return
                try:
                    send_part(num, off, length)
                except BaseException as e:  # a callback's error or a cancel: stop the rest
                    failures.append(e)
                    raise

            def send_part(num: int, off: int, length: int) -> None:
                data = _read_part(path, off, length)
                digest = hashlib.md5(data, usedforsecurity=False)
                try:
                    r = self.client.upload_part(
                        Bucket=self.creds.bucket,
                        Key=key,
                        UploadId=state["upload_id"],
                        PartNumber=num,
                        Body=data,
                        ContentMD5=base64.b64encode(digest.digest()).decode(),
                    )
                except Exception as e:
                    failures.append(self._classify(e))
                    return
                with done_lock:
                    etags[num] = str(r["ETag"]).strip('"')
                    progress[0] += length
                    self.stats.add(parts=1, nbytes=length)
                    if on_bytes:
                        on_bytes(progress[0], size)

            pool = ThreadPoolExecutor(max_workers=max(1, self.opts.threads))
            try:
                for f in [pool.submit(send, *s) for s in todo]:
                    f.result()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            _check(cancel)
            if failures:
                hard = [f for f in failures if not isinstance(f, _Retry)]
                raise hard[0] if hard else failures[0]
            parts = [{"PartNumber": n, "ETag": f'"{etags[n]}"'} for n in sorted(etags)]
            try:
                self.client.complete_multipart_upload(
                    Bucket=self.creds.bucket,
                    Key=key,
                    UploadId=state["upload_id"],
                    MultipartUpload={"Parts": parts},
                )
            except Exception as e:
                raise self._classify(e) from None

        _run_rounds(
            f"upload {path.name}", self.creds.endpoint, self.opts.retry, cancel, body, self.stats
        )


# --- COS: cos-python-sdk-v5 ---------------------------------------------------------------------


_COS_EXPIRED = {"ExpiredToken", "InvalidAccessKeyId", "RequestTimeTooSkewed", "TokenExpired"}


class CosUploader:
    """COS uploads through the COS SDK with STS keys; the SDK's ``upload_file`` resumes a
    multipart upload of the same key from the parts COS already holds."""

    def __init__(
        self,
        creds: TemporaryCredentials,
        opts: TransferOptions,
        stats: TransferStats | None = None,
    ) -> None:
        from qcloud_cos import CosConfig, CosS3Client

        self.creds = creds
        self.opts = opts
        self.stats = stats or TransferStats()
        u = urlsplit(creds.endpoint if "://" in creds.endpoint else f"https://{creds.endpoint}")
        ip, port = opts.cos_address or (None, None)
        conf = CosConfig(
            Region=creds.region,
            SecretId=creds.access_key_id,
            SecretKey=creds.secret_access_key,
            Token=creds.session_token,
            Scheme=u.scheme or "https",
            Endpoint=u.netloc or None,
            IP=ip,
            Port=port,
            Timeout=int(max(opts.timeout.read or 30.0, 60.0)),
            PoolConnections=opts.threads + 2,
            PoolMaxSize=opts.threads + 2,
        )
        self.client: Any = CosS3Client(conf, retry=opts.sdk_retries)
        self._wrap_part_counter()

    def _wrap_part_counter(self) -> None:
        """Count the requests that carry file data (for :class:`TransferStats`)."""
        client, stats = self.client, self.stats
        upload_part, put_object = client.upload_part, client.put_object

        def counted_part(*a: Any, **kw: Any) -> Any:
            r = upload_part(*a, **kw)
            data = a[2] if len(a) > 2 else kw.get("Body", b"")
            stats.add(parts=1, nbytes=len(data) if isinstance(data, (bytes, bytearray)) else 0)
            return r

        def counted_put(*a: Any, **kw: Any) -> Any:
            r = put_object(*a, **kw)
            stats.add(parts=1)
            return r

        client.upload_part = counted_part
        client.put_object = counted_put

    def upload(
        self,
        path: Path,
        key: str,
        on_bytes: BytesProgress | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        from qcloud_cos.cos_exception import CosClientError, CosServiceError

        size = path.stat().st_size
        part_mb = max(1, math.ceil(self.opts.part_size_for(size) / MiB))

        def progress(done: int, total: int) -> None:
            # called by the SDK's part threads: raising here stops the upload after the parts
            # in flight (the SDK reports a failed part, the round ends, CANCELED follows)
            _check(cancel)
            if on_bytes:
                on_bytes(min(done, total), total)

        def body() -> None:
            try:
                self.client.upload_file(
                    Bucket=self.creds.bucket,
                    Key=key,
                    LocalFilePath=str(path),
                    PartSize=part_mb,
                    MAXThread=max(1, self.opts.threads),
                    EnableMD5=True,
                    progress_callback=progress,
                )
            except CosServiceError as e:
                code, status = str(e.get_error_code()), int(e.get_status_code() or 0)
                if code in _COS_EXPIRED or (
                    status == 403 and self.creds.expiration.timestamp() <= time.time() + 30
                ):
                    raise CredentialsExpired(code) from None
                if status >= 500 or status == 429 or code in _S3_TRANSIENT:
                    raise _Retry(f"{code or status}") from None
                if status == 403:
                    raise CloudError(ErrorCode.FORBIDDEN, status=403) from None
                raise CloudError(
                    ErrorCode.SERVICE_UNAVAILABLE, status=status, reason=f"storage: {code}"
                ) from None
            except CosClientError as e:  # network, or "some upload_part fail": resume
                raise _Retry(f"CosClientError: {str(e)[:80]}") from None
            if on_bytes:
                on_bytes(size, size)

        _run_rounds(
            f"upload {path.name}", self.creds.endpoint, self.opts.retry, cancel, body, self.stats
        )


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


def storage_http(opts: TransferOptions | None = None) -> httpx.Client:
    """The HTTP client for storage URLs: no base URL, never the API's Authorization header."""
    o = opts or TransferOptions()
    return httpx.Client(
        timeout=o.timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
    )
