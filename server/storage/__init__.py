"""Object storage: one interface (:class:`Storage`) over local disk, S3/MinIO and COS."""

from __future__ import annotations

from urllib.parse import urlsplit

from server.config import Settings
from server.storage.base import (
    ObjectInfo,
    Storage,
    StorageError,
    UploadGrantParts,
    owner_of,
    upload_prefix,
    valid_key,
)


def make_storage(s: Settings) -> Storage:
    """The backend the settings name."""
    if s.storage_backend == "local":
        from server.storage.local import LocalStorage

        return LocalStorage(s.data_dir / "objects", s.jwt_secret, s.public_url, *s.buckets)
    if s.storage_backend == "cos":
        from server.storage.cos import CosStorage

        endpoint = urlsplit(s.s3_endpoint or "")
        return CosStorage(
            s.s3_region,
            s.s3_access_key,
            s.s3_secret_key,
            *s.buckets,
            scheme=s.cos_scheme,
            domain=endpoint.netloc or None,
            ip=s.cos_ip,
            port=s.cos_port,
            appid=s.cos_appid,
            sts_enabled=s.cos_sts_enabled,
            sts_endpoint=s.cos_sts_endpoint,
        )
    from server.storage.s3 import S3Storage

    return S3Storage(
        s.s3_endpoint or "",
        s.s3_access_key,
        s.s3_secret_key,
        s.s3_region,
        *s.buckets,
        public_endpoint=s.s3_public_endpoint,
        sts_enabled=s.s3_sts_enabled,
        sts_role_arn=s.s3_sts_role_arn,
    )


__all__ = [
    "ObjectInfo",
    "Storage",
    "StorageError",
    "UploadGrantParts",
    "make_storage",
    "owner_of",
    "upload_prefix",
    "valid_key",
]
