"""One interface over local disk, S3/MinIO and Tencent COS.

Buckets: ``audio`` (uploads and rendered audio), ``preset`` (preset JSON), ``viz`` (PNG curves).
Key layout (the user id is always the second path element, so ownership is a prefix check):

- ``uploads/<user>/<upload>/<n>.<ext>`` — client uploads (bucket ``audio``)
- ``results/<user>/<job>/<attempt>/<target>.<ext>`` — outputs of one attempt (all buckets);
  the database points at the winning attempt, other attempts are orphans (lifecycle-deleted)
- ``work/<job>/...`` — intermediate files of chunked rendering (bucket ``audio``)
"""

from __future__ import annotations

import abc
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.schema.jobs import TemporaryCredentials, UploadTarget

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,510}$")


def valid_key(key: str) -> bool:
    """Keys are plain relative paths: no ``..``, no empty or dot segments, no odd characters."""
    if not _KEY_RE.match(key) or "//" in key:
        return False
    return all(part not in ("", ".", "..") for part in key.split("/"))


def upload_prefix(user_id: str, upload_id: str) -> str:
    """Where one upload grant may write."""
    return f"uploads/{user_id}/{upload_id}/"


def owner_of(key: str) -> str | None:
    """The user id of an ``uploads/`` or ``results/`` key (None for other keys)."""
    parts = key.split("/")
    if len(parts) >= 3 and parts[0] in ("uploads", "results"):
        return parts[1]
    return None


Caps = int | Sequence[int]


def caps_of(max_bytes: Caps, keys: Sequence[str]) -> list[int]:
    """One size cap per key."""
    if isinstance(max_bytes, int):
        return [max_bytes] * len(keys)
    caps = [int(c) for c in max_bytes]
    if len(caps) != len(keys):
        raise ValueError("one size cap per key")
    return caps


@dataclass(frozen=True)
class ObjectInfo:
    """What a HEAD tells."""

    size: int
    etag: str = ""


@dataclass(frozen=True)
class UploadGrantParts:
    """What a backend hands out for one upload prefix."""

    targets: list[UploadTarget]
    credentials: TemporaryCredentials | None = None


class StorageError(Exception):
    """The storage backend failed (network, permissions...)."""


class Storage(abc.ABC):
    """Object storage. Implementations are thread-safe."""

    kind: str = "abstract"
    #: True when reading an object's metadata is a local file-system call (cheap enough for the
    #: API's event loop); False where it is a network round trip.
    local_io: bool = False

    def __init__(self, audio: str, preset: str, viz: str) -> None:
        self.bucket_audio, self.bucket_preset, self.bucket_viz = audio, preset, viz

    @property
    def buckets(self) -> tuple[str, str, str]:
        return (self.bucket_audio, self.bucket_preset, self.bucket_viz)

    # --- data ---
    @abc.abstractmethod
    def put_file(self, bucket: str, key: str, path: Path, content_type: str = "") -> None:
        """Upload a local file."""

    @abc.abstractmethod
    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str = "") -> None:
        """Upload bytes."""

    @abc.abstractmethod
    def get_file(self, bucket: str, key: str, dest: Path) -> None:
        """Download to ``dest`` (streamed)."""

    @abc.abstractmethod
    def get_bytes(self, bucket: str, key: str) -> bytes:
        """Download a small object."""

    @abc.abstractmethod
    def read_head(self, bucket: str, key: str, length: int) -> bytes:
        """The first ``length`` bytes (for magic-byte checks)."""

    @abc.abstractmethod
    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        """Size of an object, or None when it does not exist."""

    def probe(self, bucket: str, key: str, length: int) -> tuple[ObjectInfo, bytes] | None:
        """Size and first ``length`` bytes of an object, or None when it does not exist
        (backends override it to need one call)."""
        info = self.head(bucket, key)
        if info is None:
            return None
        return info, self.read_head(bucket, key, length)

    @abc.abstractmethod
    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        """Keys under ``prefix``."""

    @abc.abstractmethod
    def delete(self, bucket: str, keys: Iterable[str]) -> None:
        """Delete objects (missing ones are ignored)."""

    def delete_prefix(self, bucket: str, prefix: str) -> None:
        """Delete everything under ``prefix``."""
        self.delete(bucket, self.list_keys(bucket, prefix))

    # --- URLs and credentials ---
    @abc.abstractmethod
    def presign_get(self, bucket: str, key: str, ttl_s: int) -> str:
        """A time-limited download URL."""

    @abc.abstractmethod
    def upload_grant(
        self, bucket: str, prefix: str, keys: list[str], max_bytes: Caps, ttl_s: int
    ) -> UploadGrantParts:
        """Upload URLs (and temporary credentials where supported) for ``keys`` under
        ``prefix``: upload actions only, short-lived, size-capped (``max_bytes``: one cap for
        every key, or one per key: the sizes the client declared)."""

    @abc.abstractmethod
    def parse_signed_url(self, url: str) -> tuple[str, str] | None:
        """``(bucket, key)`` if ``url`` is a signed URL of *this* storage, else None."""

    # --- admin ---
    @abc.abstractmethod
    def ensure_buckets(self) -> None:
        """Create the buckets if missing (private)."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise :class:`StorageError` if the storage cannot be reached."""
