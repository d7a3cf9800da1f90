"""COS uploads: cos-python-sdk-v5 ``upload_file`` with the STS keys (multipart, resumed by COS)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cloud.http import (
    CloudError,
)
from cloud.transfer.common import (
    BytesProgress,
    CredentialsExpired,
    MiB,
    TransferOptions,
    TransferStats,
    _check,
    _Retry,
    _run_rounds,
)
from cloud.transfer.s3 import _S3_TRANSIENT
from engine.progress import CancelToken
from engine.schema.errors import ErrorCode
from engine.schema.jobs import TemporaryCredentials

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
