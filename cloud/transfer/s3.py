"""S3 / MinIO uploads: boto3 multipart driven here, resumed from the key's unfinished upload."""

from __future__ import annotations

import base64
import hashlib
import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cloud.http import (
    CloudError,
)
from cloud.transfer.common import (
    BytesProgress,
    CredentialsExpired,
    TransferOptions,
    TransferStats,
    _check,
    _md5,
    _read_part,
    _Retry,
    _run_rounds,
    log,
)
from engine.progress import CancelToken
from engine.schema.errors import ErrorCode
from engine.schema.jobs import TemporaryCredentials

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
