"""Tencent COS storage through cos-python-sdk-v5.

Buckets are named ``<name>-<appid>`` (e.g. ``audio-1250000000``). Uploads are granted as
presigned PUT URLs and, when ``COS_STS_ENABLED``, as STS temporary keys limited to the grant's
prefix (see :mod:`server.storage.tencent_sts`). ``COS_IP``/``COS_PORT`` send the data plane to
a fixed address (private endpoint, or a test server) while URLs keep the public host name.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosClientError, CosServiceError

from engine.schema.jobs import TemporaryCredentials, UploadTarget
from server.storage.base import Caps, ObjectInfo, Storage, StorageError, UploadGrantParts, caps_of
from server.storage.tencent_sts import cos_upload_policy, get_federation_token

_ERRORS = (CosClientError, CosServiceError)


class CosStorage(Storage):
    kind = "cos"

    def __init__(
        self,
        region: str,
        secret_id: str,
        secret_key: str,
        audio: str,
        preset: str,
        viz: str,
        *,
        scheme: str = "https",
        domain: str | None = None,
        ip: str | None = None,
        port: int | None = None,
        appid: str = "",
        sts_enabled: bool = False,
        sts_endpoint: str = "https://sts.tencentcloudapi.com",
    ) -> None:
        super().__init__(audio, preset, viz)
        self.region = region
        self.scheme = scheme
        self.endpoint_host = domain or f"cos.{region}.myqcloud.com"
        self.appid = appid
        self.sts_enabled = sts_enabled
        self.sts_endpoint = sts_endpoint
        self._secret = (secret_id, secret_key)
        common: dict[str, Any] = {
            "Region": region,
            "SecretId": secret_id,
            "SecretKey": secret_key,
            "Scheme": scheme,
            "Endpoint": self.endpoint_host,
            "PoolConnections": 16,
            "PoolMaxSize": 32,
        }
        self.client = CosS3Client(CosConfig(**common, IP=ip, Port=port), retry=3)
        self.public = CosS3Client(CosConfig(**common))

    # --- data ---
    def put_file(self, bucket: str, key: str, path: Path, content_type: str = "") -> None:
        try:
            self.client.upload_file(
                Bucket=bucket, Key=key, LocalFilePath=str(path), PartSize=8, MAXThread=4
            )
        except _ERRORS as e:
            raise StorageError(str(e)) from e

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str = "") -> None:
        kw = {"ContentType": content_type} if content_type else {}
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=data, **kw)
        except _ERRORS as e:
            raise StorageError(str(e)) from e

    def get_file(self, bucket: str, key: str, dest: Path) -> None:
        try:
            r = self.client.get_object(Bucket=bucket, Key=key)
            r["Body"].get_stream_to_file(str(dest))
        except _ERRORS as e:
            raise StorageError(str(e)) from e

    def get_bytes(self, bucket: str, key: str) -> bytes:
        try:
            r = self.client.get_object(Bucket=bucket, Key=key)
            data: bytes = r["Body"].get_raw_stream().read()
            return data
        except _ERRORS as e:
            raise StorageError(str(e)) from e

    def read_head(self, bucket: str, key: str, length: int) -> bytes:
        try:
            r = self.client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{length - 1}")
            data: bytes = r["Body"].get_raw_stream().read()
            return data[:length]
        except _ERRORS as e:
            raise StorageError(str(e)) from e

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        try:
            r = self.client.head_object(Bucket=bucket, Key=key)
        except CosServiceError as e:
            if e.get_status_code() == 404:
                return None
            raise StorageError(str(e)) from e
        except CosClientError as e:
            raise StorageError(str(e)) from e
        size = r.get("Content-Length") or r.get("content-length") or 0
        return ObjectInfo(size=int(size), etag=str(r.get("ETag", "")))

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        out: list[str] = []
        marker = ""
        try:
            while True:
                r = self.client.list_objects(Bucket=bucket, Prefix=prefix, Marker=marker)
                contents = r.get("Contents", [])
                out.extend(unquote(str(c["Key"])) for c in contents)
                if str(r.get("IsTruncated", "false")).lower() != "true" or not contents:
                    break
                marker = str(r.get("NextMarker") or contents[-1]["Key"])
        except _ERRORS as e:
            raise StorageError(str(e)) from e
        return out

    def delete(self, bucket: str, keys: Iterable[str]) -> None:
        ks = list(keys)
        try:
            for i in range(0, len(ks), 1000):
                objs = [{"Key": k} for k in ks[i : i + 1000]]
                self.client.delete_objects(Bucket=bucket, Delete={"Object": objs, "Quiet": "true"})
        except _ERRORS as e:
            raise StorageError(str(e)) from e

    # --- URLs and credentials ---
    def presign_get(self, bucket: str, key: str, ttl_s: int) -> str:
        url: str = self.public.get_presigned_url(
            Bucket=bucket, Key=key, Method="GET", Expired=ttl_s
        )
        return url

    def upload_grant(
        self, bucket: str, prefix: str, keys: list[str], max_bytes: Caps, ttl_s: int
    ) -> UploadGrantParts:
        targets = [
            UploadTarget(
                key=k,
                method="PUT",
                url=str(
                    self.public.get_presigned_url(Bucket=bucket, Key=k, Method="PUT", Expired=ttl_s)
                ),
            )
            for k in keys
        ]
        creds = None
        if self.sts_enabled:
            cap = max(caps_of(max_bytes, keys), default=0)  # the STS policy covers the prefix
            policy = cos_upload_policy(self.region, self.appid, bucket, prefix, cap)
            try:
                t = get_federation_token(
                    *self._secret, self.region, policy, ttl_s, endpoint=self.sts_endpoint
                )
            except Exception as e:
                raise StorageError(f"STS GetFederationToken failed: {e}") from e
            creds = TemporaryCredentials(
                provider="cos",
                access_key_id=t["tmp_secret_id"],
                secret_access_key=t["tmp_secret_key"],
                session_token=t["token"],
                expiration=datetime.fromtimestamp(t["expired_time"], UTC),
                endpoint=f"{self.scheme}://{self.endpoint_host}",
                region=self.region,
                bucket=bucket,
                prefix=prefix,
            )
        return UploadGrantParts(targets=targets, credentials=creds)

    def parse_signed_url(self, url: str) -> tuple[str, str] | None:
        try:
            u = urlsplit(url)
        except ValueError:
            return None
        if u.scheme != self.scheme or u.username or u.fragment or u.port not in (None,):
            return None
        host = (u.hostname or "").lower()
        suffix = "." + self.endpoint_host.lower()
        if not host.endswith(suffix):
            return None
        q = parse_qs(u.query)
        if "q-signature" not in q and "sign" not in q:
            return None
        bucket, key = host[: -len(suffix)], unquote(u.path).lstrip("/")
        if not bucket or "." in bucket or not key:
            return None
        return bucket, key

    # --- admin ---
    def ensure_buckets(self) -> None:
        for b in self.buckets:
            try:
                self.client.head_bucket(Bucket=b)
            except CosServiceError:
                try:
                    self.client.create_bucket(Bucket=b, ACL="private")
                except CosServiceError as e:
                    if e.get_error_code() not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise StorageError(str(e)) from e
            except CosClientError as e:
                raise StorageError(str(e)) from e

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket_audio)
        except _ERRORS as e:
            raise StorageError(str(e)) from e
