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

Modules: :mod:`cloud.transfer.common` (options, statistics, resume rounds),
:mod:`cloud.transfer.s3`, :mod:`cloud.transfer.cos` and :mod:`cloud.transfer.signed` (the three
upload ways), :mod:`cloud.transfer.downloads`. Import from ``cloud.transfer``.
"""

from __future__ import annotations

from cloud.transfer.common import (
    CHUNK,
    MAX_PARTS,
    STORAGE_RETRY,
    BytesProgress,
    CredentialsExpired,
    MiB,
    TransferOptions,
    TransferStats,
    storage_http,
)
from cloud.transfer.common import _sleep as _sleep  # the client's polling waits with it
from cloud.transfer.cos import CosUploader
from cloud.transfer.downloads import Downloaded, ExpiredUrl, Verified, download, verify_file
from cloud.transfer.s3 import S3Uploader
from cloud.transfer.signed import upload_signed

__all__ = [
    "CHUNK",
    "MAX_PARTS",
    "STORAGE_RETRY",
    "BytesProgress",
    "CosUploader",
    "CredentialsExpired",
    "Downloaded",
    "ExpiredUrl",
    "MiB",
    "S3Uploader",
    "TransferOptions",
    "TransferStats",
    "Verified",
    "download",
    "storage_http",
    "upload_signed",
    "verify_file",
]
