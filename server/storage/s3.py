"""S3 / MinIO storage through boto3 (SigV4, path-style addressing).

Uploads are granted as presigned POST policies (exact key, ``content-length-range`` so the
storage itself refuses oversize files) and, when ``S3_STS_ENABLED``, as AssumeRole credentials
whose inline session policy allows upload actions under the grant's prefix only (MinIO: the
intersection with the parent user's policy; DurationSeconds >= 900).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from engine.schema.jobs import TemporaryCredentials, UploadTarget
from server.storage.base import Caps, ObjectInfo, Storage, StorageError, UploadGrantParts, caps_of

STS_MIN_DURATION_S = 900


def upload_session_policy(bucket: str, prefix: str) -> dict[str, Any]:
    """IAM session policy: upload actions on ``bucket/prefix*`` only (no Get, List, Delete)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "s3:PutObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": [f"arn:aws:s3:::{bucket}/{prefix}*"],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucketMultipartUploads"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
            },
        ],
    }


class S3Storage(Storage):
    kind = "s3"

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        region: str,
        audio: str,
        preset: str,
        viz: str,
        *,
        public_endpoint: str | None = None,
        sts_enabled: bool = False,
        sts_role_arn: str = "",
    ) -> None:
        super().__init__(audio, preset, viz)
        self.endpoint = endpoint.rstrip("/")
        self.public_endpoint = (public_endpoint or endpoint).rstrip("/")
        self.region = region
        self.sts_enabled = sts_enabled
        self.sts_role_arn = sts_role_arn
        self._creds = (access_key, secret_key)
        self._local = threading.local()
        cfg = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=32,
        )
        self._cfg = cfg
        self.client = self._make("s3", self.endpoint)
        self.public = self._make("s3", self.public_endpoint)

    def _make(self, service: str, endpoint: str) -> BaseClient:
        client: BaseClient = boto3.session.Session().client(
            service,
            endpoint_url=endpoint,
            aws_access_key_id=self._creds[0],
            aws_secret_access_key=self._creds[1],
            region_name=self.region,
            config=self._cfg,
        )
        return client

    # --- data ---
    def put_file(self, bucket: str, key: str, path: Path, content_type: str = "") -> None:
        extra = {"ContentType": content_type} if content_type else None
        try:
            self.client.upload_file(str(path), bucket, key, ExtraArgs=extra)
        except (BotoCoreError, ClientError) as e:
            raise StorageError(str(e)) from e

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str = "") -> None:
        kw: dict[str, Any] = {"ContentType": content_type} if content_type else {}
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=data, **kw)
        except (BotoCoreError, ClientError) as e:
            raise StorageError(str(e)) from e

    def get_file(self, bucket: str, key: str, dest: Path) -> None:
        try:
            self.client.download_file(bucket, key, str(dest))
        except (BotoCoreError, ClientError) as e:
            raise StorageError(str(e)) from e

    def get_bytes(self, bucket: str, key: str) -> bytes:
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
            data: bytes = body.read()
            return data
        except (BotoCoreError, ClientError) as e:
            raise StorageError(str(e)) from e

    def read_head(self, bucket: str, key: str, length: int) -> bytes:
        try:
            r = self.client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{length - 1}")
            data: bytes = r["Body"].read()
            return data[:length]
        except (BotoCoreError, ClientError) as e:
            raise StorageError(str(e)) from e

    def probe(self, bucket: str, key: str, length: int) -> tuple[ObjectInfo, bytes] | None:
        """One ranged GET: the first bytes, and the size from ``Content-Range``."""
        try:
            r = self.client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{length - 1}")
            with contextlib.closing(r["Body"]) as body:
                data: bytes = body.read(length)  # (a server ignoring Range sends it all)
        except ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                return None
            if code == "InvalidRange":  # an empty object
                info = self.head(bucket, key)
                return None if info is None else (info, b"")
            raise StorageError(str(e)) from e
        except BotoCoreError as e:
            raise StorageError(str(e)) from e
        content_range = str(r.get("ContentRange") or "")
        total = content_range.rpartition("/")[2]
        if total.isdigit():
            size = int(total)
        elif not content_range:  # the whole object came back
            size = int(r["ContentLength"])
        else:  # "bytes 0-63/*": ask
            info = self.head(bucket, key)
            if info is None:
                return None
            size = info.size
        return ObjectInfo(size=size, etag=str(r.get("ETag", ""))), data

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        try:
            r = self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as e:
            code = str(e.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageError(str(e)) from e
        except BotoCoreError as e:
            raise StorageError(str(e)) from e
        return ObjectInfo(size=int(r["ContentLength"]), etag=str(r.get("ETag", "")))

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        out: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            )
            for page in pages:
                out.extend(str(o["Key"]) for o in page.get("Contents", []))
        except (BotoCoreError, ClientError) as e:
            raise StorageError(str(e)) from e
        return out

    def delete(self, bucket: str, keys: Iterable[str]) -> None:
        ks = list(keys)
        try:
            for i in range(0, len(ks), 1000):
                objs = [{"Key": k} for k in ks[i : i + 1000]]
                self.client.delete_objects(Bucket=bucket, Delete={"Objects": objs, "Quiet": True})
        except (BotoCoreError, ClientError) as e:
            raise StorageError(str(e)) from e

    # --- URLs and credentials ---
    def presign_get(self, bucket: str, key: str, ttl_s: int) -> str:
        url: str = self.public.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=ttl_s
        )
        return url

    def upload_grant(
        self, bucket: str, prefix: str, keys: list[str], max_bytes: Caps, ttl_s: int
    ) -> UploadGrantParts:
        targets = []
        for k, cap in zip(keys, caps_of(max_bytes, keys), strict=True):
            post = self.public.generate_presigned_post(
                bucket,
                k,
                Conditions=[["content-length-range", 1, cap]],
                ExpiresIn=ttl_s,
            )
            targets.append(
                UploadTarget(
                    key=k,
                    method="POST",
                    url=str(post["url"]),
                    fields={str(a): str(b) for a, b in post["fields"].items()},
                )
            )
        creds = self._assume_role(bucket, prefix, ttl_s) if self.sts_enabled else None
        return UploadGrantParts(targets=targets, credentials=creds)

    def _assume_role(self, bucket: str, prefix: str, ttl_s: int) -> TemporaryCredentials:
        sts = self._make("sts", self.endpoint)
        try:
            r = sts.assume_role(
                RoleArn=self.sts_role_arn,
                RoleSessionName="audio-style-upload",
                Policy=json.dumps(upload_session_policy(bucket, prefix), separators=(",", ":")),
                DurationSeconds=max(STS_MIN_DURATION_S, ttl_s),
            )
        except (BotoCoreError, ClientError) as e:
            raise StorageError(f"STS AssumeRole failed: {e}") from e
        c = r["Credentials"]
        exp = c.get("Expiration")
        if not isinstance(exp, datetime):
            exp = datetime.now(UTC) + timedelta(seconds=ttl_s)
        return TemporaryCredentials(
            provider="s3",
            access_key_id=str(c["AccessKeyId"]),
            secret_access_key=str(c["SecretAccessKey"]),
            session_token=str(c["SessionToken"]),
            expiration=exp,
            endpoint=self.public_endpoint,
            region=self.region,
            bucket=bucket,
            prefix=prefix,
        )

    def parse_signed_url(self, url: str) -> tuple[str, str] | None:
        try:
            u = urlsplit(url)
        except ValueError:
            return None
        mine = urlsplit(self.public_endpoint)
        if u.scheme != mine.scheme or u.username or u.fragment or not u.hostname:
            return None
        q = parse_qs(u.query)
        if "X-Amz-Signature" not in q and "Signature" not in q:
            return None
        path = unquote(u.path)
        if u.netloc == mine.netloc:  # path style: /bucket/key
            bucket, _, key = path.lstrip("/").partition("/")
        elif u.netloc.endswith("." + mine.netloc):  # virtual-host style
            bucket, key = u.netloc[: -len(mine.netloc) - 1], path.lstrip("/")
        else:
            return None
        if not bucket or not key:
            return None
        return bucket, key

    # --- admin ---
    def ensure_buckets(self) -> None:
        for b in self.buckets:
            try:
                self.client.head_bucket(Bucket=b)
            except ClientError:
                try:
                    self.client.create_bucket(Bucket=b)
                except ClientError as e:
                    code = str(e.response.get("Error", {}).get("Code", ""))
                    if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise StorageError(str(e)) from e
            self._lifecycle(b)

    def _lifecycle(self, bucket: str) -> None:
        """Abort multipart uploads left unfinished for 2 days; expire work/ files after 7."""
        rules = [
            {
                "ID": "abort-incomplete-multipart",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
            },
            {
                "ID": "expire-work",
                "Status": "Enabled",
                "Filter": {"Prefix": "work/"},
                "Expiration": {"Days": 7},
            },
        ]
        # best effort: some S3-compatible stores lack lifecycle support
        with contextlib.suppress(BotoCoreError, ClientError):
            self.client.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration={"Rules": rules}
            )

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket_audio)
        except (BotoCoreError, ClientError) as e:
            raise StorageError(str(e)) from e
