"""Local-disk storage for embedded mode: ``<root>/<bucket>/<key>``.

Signed URLs point at the API itself (``/storage/<bucket>/<key>?op=..&exp=..&sig=..``), signed
with an HMAC key derived from the server secret; uploads carry their size cap in the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shutil
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from engine.atomic import AtomicFile
from engine.schema.jobs import UploadTarget
from server.storage.base import (
    Caps,
    ObjectInfo,
    Storage,
    StorageError,
    UploadGrantParts,
    caps_of,
    valid_key,
)

CHUNK = 1 << 20
PROBE_CACHE_SIZE = 4096


def _identity(st: os.stat_result) -> tuple[int, ...]:
    """What changes when a file is replaced or rewritten (the head read from it is then stale)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class LocalStorage(Storage):
    kind = "local"
    local_io = True

    def __init__(
        self, root: Path, secret: str, public_url: str, audio: str, preset: str, viz: str
    ) -> None:
        super().__init__(audio, preset, viz)
        self.root = Path(root)
        self._root_s = str(self.root)
        self.public_url = public_url.rstrip("/")
        self._key = hmac.new(secret.encode(), b"audio-style local storage v1", "sha256").digest()
        # probe results of checked objects, reused while a stat finds the same file
        self._probed: dict[tuple[str, str, int], tuple[tuple[int, ...], ObjectInfo, bytes]] = {}

    # --- paths ---
    def path(self, bucket: str, key: str) -> Path:
        """The file of an object (validates bucket and key)."""
        if bucket not in self.buckets or not valid_key(key):
            raise StorageError(f"invalid object name {bucket}/{key}")
        return self.root / bucket / key

    # --- data ---
    def put_file(self, bucket: str, key: str, path: Path, content_type: str = "") -> None:
        with self.atomic_file(bucket, key) as out, open(path, "rb") as src:
            shutil.copyfileobj(src, out.file, CHUNK)

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str = "") -> None:
        with self.atomic_file(bucket, key) as out:
            out.file.write(data)

    def put_stream(self, bucket: str, key: str, chunks: Iterable[bytes], max_bytes: int) -> int:
        """Write a stream atomically; raises ValueError past ``max_bytes`` (nothing written)."""
        total = 0
        with self.atomic_file(bucket, key) as out:
            for c in chunks:
                total += len(c)
                if total > max_bytes:
                    raise ValueError("too large")
                out.file.write(c)
        return total

    def atomic_file(self, bucket: str, key: str) -> AtomicFile:
        """A temporary ``.up-`` file next to the object's (hidden from listings) that becomes
        the object on ``commit`` (fsynced, renamed, directory fsynced: ``engine.atomic``)."""
        dest = self.path(bucket, key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        return AtomicFile(dest, prefix=".up-")

    def get_file(self, bucket: str, key: str, dest: Path) -> None:
        src = self.path(bucket, key)
        try:
            shutil.copyfile(src, dest)
        except FileNotFoundError as e:
            raise StorageError(f"no such object {bucket}/{key}") from e

    def get_bytes(self, bucket: str, key: str) -> bytes:
        try:
            return self.path(bucket, key).read_bytes()
        except FileNotFoundError as e:
            raise StorageError(f"no such object {bucket}/{key}") from e

    def read_head(self, bucket: str, key: str, length: int) -> bytes:
        try:
            with open(self.path(bucket, key), "rb") as f:
                return f.read(length)
        except FileNotFoundError as e:
            raise StorageError(f"no such object {bucket}/{key}") from e

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        try:
            st = self.path(bucket, key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return ObjectInfo(size=st.st_size, etag=f"{st.st_mtime_ns:x}-{st.st_size:x}")

    def probe(self, bucket: str, key: str, length: int) -> tuple[ObjectInfo, bytes] | None:
        path = os.path.join(self._root_s, bucket, key)
        hit = self._probed.get((bucket, key, length))
        if hit is not None:  # seen before: one stat tells whether it is still the same file
            try:
                st = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                return None
            if _identity(st) == hit[0]:
                return hit[1], hit[2]
        if bucket not in self.buckets or not valid_key(key):
            raise StorageError(f"invalid object name {bucket}/{key}")
        try:  # os-level calls and a string path: this runs for every source of POST /jobs
            fd = os.open(path, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            head = os.read(fd, length)
        finally:
            os.close(fd)
        info = ObjectInfo(size=st.st_size, etag=f"{st.st_mtime_ns:x}-{st.st_size:x}")
        if len(self._probed) >= PROBE_CACHE_SIZE:
            self._probed.clear()
        self._probed[(bucket, key, length)] = (_identity(st), info, head)
        return info, head

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        base = self.root / bucket
        start = base / prefix if prefix and valid_key(prefix.rstrip("/")) else base
        if not start.exists():
            return []
        out = []
        for p in start.rglob("*") if start.is_dir() else [start]:
            if p.is_file() and not p.name.startswith(".up-"):
                rel = p.relative_to(base).as_posix()
                if rel.startswith(prefix):
                    out.append(rel)
        return sorted(out)

    def delete(self, bucket: str, keys: Iterable[str]) -> None:
        for k in keys:
            self.path(bucket, k).unlink(missing_ok=True)

    # --- signing ---
    def _sign(self, op: str, bucket: str, key: str, exp: int, max_bytes: int) -> str:
        msg = f"{op}\n{bucket}\n{key}\n{exp}\n{max_bytes}".encode()
        mac = hmac.new(self._key, msg, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def signed_url(self, op: str, bucket: str, key: str, ttl_s: int, max_bytes: int = 0) -> str:
        """A URL of this server's ``/storage`` route, valid for ``ttl_s`` seconds."""
        exp = int(time.time()) + ttl_s
        sig = self._sign(op, bucket, key, exp, max_bytes)
        q = f"op={op}&exp={exp}&sig={sig}" + (f"&max={max_bytes}" if op == "put" else "")
        return f"{self.public_url}/storage/{bucket}/{quote(key)}?{q}"

    def verify(
        self, op: str, bucket: str, key: str, exp: str, sig: str, max_bytes: str = "0"
    ) -> int | None:
        """Check a signature; returns the size cap (0 for GET) or None when invalid/expired."""
        try:
            exp_i, max_i = int(exp), int(max_bytes or "0")
        except ValueError:
            return None
        if exp_i < time.time() or bucket not in self.buckets or not valid_key(key):
            return None
        good = self._sign(op, bucket, key, exp_i, max_i)
        return max_i if hmac.compare_digest(good, sig) else None

    def presign_get(self, bucket: str, key: str, ttl_s: int) -> str:
        return self.signed_url("get", bucket, key, ttl_s)

    def upload_grant(
        self, bucket: str, prefix: str, keys: list[str], max_bytes: Caps, ttl_s: int
    ) -> UploadGrantParts:
        return UploadGrantParts(
            targets=[
                UploadTarget(
                    key=k,
                    method="PUT",
                    url=self.signed_url("put", bucket, k, ttl_s, cap),
                    headers={"Content-Type": "application/octet-stream"},
                )
                for k, cap in zip(keys, caps_of(max_bytes, keys), strict=True)
            ]
        )

    def parse_signed_url(self, url: str) -> tuple[str, str] | None:
        try:
            u = urlsplit(url)
        except ValueError:
            return None
        mine = urlsplit(self.public_url)
        if (u.scheme, u.netloc) != (mine.scheme, mine.netloc) or u.username or u.fragment:
            return None
        prefix = mine.path.rstrip("/") + "/storage/"
        if not u.path.startswith(prefix):
            return None
        bucket, _, key = unquote(u.path[len(prefix) :]).partition("/")
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if q.get("op") != "get":
            return None
        if self.verify("get", bucket, key, q.get("exp", ""), q.get("sig", "")) is None:
            return None
        return bucket, key

    # --- admin ---
    def ensure_buckets(self) -> None:
        for b in self.buckets:
            (self.root / b).mkdir(parents=True, exist_ok=True)

    def check(self) -> None:
        for b in self.buckets:
            if not (self.root / b).is_dir():
                raise StorageError(f"bucket directory missing: {self.root / b}")
