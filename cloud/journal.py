"""Interrupted uploads, remembered so that the next run resumes them instead of starting over.

``<config>/uploads.json`` (0600) lists, per unfinished upload grant: the server and account,
the grant's id, when it started, and per file its absolute path, size, modification time, the
object key the server chose and whether it is complete. It holds no token, no credential, no
signed URL. When the same files are uploaded again (same paths, sizes and mtimes, same order),
the client asks the server to renew that grant (``POST /uploads/{id}/renew``: same keys, fresh
credentials) and the storage tells what it already holds: COS and S3 multipart uploads resume
from their stored parts, completed files are skipped. Entries older than
:data:`MAX_AGE_S` (storage lifecycles abort unfinished multipart uploads after 2 days) are
dropped.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cloud.config import write_private

JOURNAL_FILE = "uploads.json"
MAX_AGE_S = 36 * 3600.0
MAX_ENTRIES = 50
_lock = threading.Lock()


def _fingerprint(p: Path) -> dict[str, Any]:
    st = p.stat()
    return {"path": str(p.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


class UploadJournal:
    """The journal file of one config directory (see the module doc)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / JOURNAL_FILE

    def _load(self) -> list[dict[str, Any]]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        if not isinstance(raw, list):
            return []
        now = time.time()
        return [
            e for e in raw if isinstance(e, dict) and now - float(e.get("started", 0)) < MAX_AGE_S
        ]

    def _save(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            self.path.unlink(missing_ok=True)
            return
        write_private(self.path, json.dumps(entries[-MAX_ENTRIES:], indent=1).encode())

    def find(self, server: str, username: str, files: Sequence[Path]) -> dict[str, Any] | None:
        """The unfinished upload of exactly these files (unchanged since), if any."""
        want = [_fingerprint(p) for p in files]
        with _lock:
            for e in reversed(self._load()):
                if e.get("server") != server or e.get("username") != username:
                    continue
                have = [
                    {k: f.get(k) for k in ("path", "size", "mtime_ns")} for f in e.get("files", [])
                ]
                if have == want:
                    found: dict[str, Any] = e
                    return found
        return None

    def start(
        self, server: str, username: str, upload_id: str, files: Sequence[Path], keys: list[str]
    ) -> dict[str, Any]:
        entry = {
            "server": server,
            "username": username,
            "upload_id": upload_id,
            "started": time.time(),
            "files": [
                {**_fingerprint(p), "key": k, "done": False}
                for p, k in zip(files, keys, strict=True)
            ],
        }
        with _lock:
            entries = [e for e in self._load() if e.get("upload_id") != upload_id]
            self._save([*entries, entry])
        return entry

    def mark_done(self, upload_id: str, index: int) -> None:
        with _lock:
            entries = self._load()
            for e in entries:
                if e.get("upload_id") == upload_id and index < len(e.get("files", [])):
                    e["files"][index]["done"] = True
            self._save(entries)

    def remove(self, upload_id: str) -> None:
        with _lock:
            self._save([e for e in self._load() if e.get("upload_id") != upload_id])
