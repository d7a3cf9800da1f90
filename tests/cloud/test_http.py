"""Retry policy, typed errors, downloads (resume, checksums) and the token file, against
httpx mock transports: no server, milliseconds."""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from cloud.http import CloudError, Http, RetryPolicy, error_from_response, parse_retry_after
from cloud.tokens import FileStore
from cloud.transfer import TransferOptions, download, verify_file
from engine.schema.errors import ErrorCode

FAST = RetryPolicy(attempts=4, base_s=0.01, cap_s=0.02, deadline_s=5.0)


def _http(handler: object, sleeps: list[float]) -> Http:
    return Http(
        "http://api.test",
        retry=FAST,
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
        sleep=sleeps.append,
    )


def test_503_and_429_are_retried_honouring_retry_after() -> None:
    answers = iter(
        [
            httpx.Response(503, headers={"Retry-After": "2"}, json={"code": "E511"}),
            httpx.Response(429, headers={"Retry-After": "1"}, json={"code": "E507"}),
            httpx.Response(200, json={"ok": 1}),
        ]
    )
    sleeps: list[float] = []
    h = _http(lambda req: next(answers), sleeps)
    r = h.send("POST", "/auth/token", retry_safe=False)  # refused before any work: retried
    assert r.status_code == 200 and sleeps == [2.0, 1.0]


def test_5xx_retried_only_when_safe() -> None:
    calls: list[str] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req.method)
        return httpx.Response(500, json={"code": "E499", "message": "Internal error: x"})

    sleeps: list[float] = []
    h = _http(handler, sleeps)
    assert h.send("POST", "/auth/token", retry_safe=False).status_code == 500
    assert len(calls) == 1
    r = h.send("GET", "/jobs", retry_safe=True)
    assert r.status_code == 500 and len(calls) == 1 + FAST.attempts
    assert len(sleeps) == FAST.attempts - 1 and all(0 <= s <= FAST.cap_s for s in sleeps)
    err = error_from_response(r)
    assert err.code == ErrorCode.INTERNAL


def test_connection_refused_becomes_server_unreachable() -> None:
    calls = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("refused", request=req)

    sleeps: list[float] = []
    with pytest.raises(CloudError) as ei:
        _http(handler, sleeps).send("POST", "/auth/token", retry_safe=False)
    assert ei.value.code == ErrorCode.SERVER_UNREACHABLE
    assert ei.value.one_line("en") == "error E509: Server unreachable: http://api.test"
    assert len(calls) == FAST.attempts  # never reached the server: always safe to retry


def test_read_error_not_repeated_for_unsafe_requests() -> None:
    calls = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadError("reset", request=req)

    with pytest.raises(CloudError):
        _http(handler, []).send("POST", "/auth/token", retry_safe=False)
    assert len(calls) == 1  # a refresh may have been spent: never resent
    calls.clear()
    with pytest.raises(CloudError):
        _http(handler, []).send("GET", "/jobs/x", retry_safe=True)
    assert len(calls) == FAST.attempts


def test_retry_after_forms_and_backoff_bounds() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(date, now.timestamp()) == pytest.approx(30)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    p = RetryPolicy(base_s=0.5, cap_s=4.0, max_retry_after_s=10.0)
    assert p.delay(1, 120.0) == 10.0  # capped
    assert all(0 <= p.backoff(n) <= min(4.0, 0.5 * 2 ** (n - 1)) for n in range(1, 10))


def test_server_wording_kept_in_its_language() -> None:
    r = httpx.Response(
        413,
        headers={"Content-Language": "zh"},
        json={"code": "E505", "message": "上传文件过大：3000.0 MB，上限为 2147.5 MB"},
    )
    e = error_from_response(r)
    assert e.code == ErrorCode.UPLOAD_TOO_LARGE
    assert e.one_line("zh") == "错误 E505: 上传文件过大：3000.0 MB，上限为 2147.5 MB"
    proxy = httpx.Response(502, text="<html>bad gateway</html>")
    assert error_from_response(proxy).code == ErrorCode.SERVICE_UNAVAILABLE


# --- downloads ----------------------------------------------------------------------------------

DATA = bytes(range(256)) * 4096  # 1 MiB
MD5 = hashlib.md5(DATA).hexdigest()


class _CutStream(httpx.SyncByteStream):
    def __init__(self, data: bytes, cut_after: int) -> None:
        self.data, self.cut = data, cut_after

    def __iter__(self) -> Iterator[bytes]:
        yield self.data[: self.cut]
        raise httpx.ReadError("connection reset")


def _storage(cut: bool, etag: str, s3: bool = True) -> tuple[httpx.Client, list[str | None]]:
    ranges: list[str | None] = []

    def handler(req: httpx.Request) -> httpx.Response:
        rng = req.headers.get("range")
        ranges.append(rng)
        h = {"ETag": f'"{etag}"'}
        if s3:
            h["x-amz-request-id"] = "abc"
        if rng:
            start = int(rng.split("=")[1].rstrip("-"))
            body = DATA[start:]
            h["Content-Range"] = f"bytes {start}-{len(DATA) - 1}/{len(DATA)}"
            return httpx.Response(206, headers=h, content=body)
        if cut and len(ranges) == 1:
            h["Content-Length"] = str(len(DATA))
            return httpx.Response(200, headers=h, stream=_CutStream(DATA, 300_000))
        return httpx.Response(200, headers=h, content=DATA)

    return httpx.Client(transport=httpx.MockTransport(handler)), ranges


OPTS = TransferOptions(retry=FAST)


def test_download_resumes_with_range_and_checks_md5(tmp_path: Path) -> None:
    client, ranges = _storage(cut=True, etag=MD5)
    seen: list[int] = []
    got = download(
        client, "http://s3.test/b/k?X-Amz-Signature=s", tmp_path / "r.wav", opts=OPTS,
        on_bytes=lambda d, t: seen.append(d),
    )  # fmt: skip
    assert len(ranges) == 2 and ranges[0] is None and ranges[1] is not None
    assert 0 < int(ranges[1].split("=")[1].rstrip("-")) <= 300_000  # resumed, not restarted
    assert got.verified == "md5" and got.size == len(DATA)
    assert (tmp_path / "r.wav").read_bytes() == DATA
    assert seen[-1] == len(DATA)
    assert [p.name for p in tmp_path.iterdir()] == ["r.wav"]  # no temporary left


def test_download_checksum_mismatch_leaves_nothing(tmp_path: Path) -> None:
    client, _ = _storage(cut=False, etag="0" * 32)
    with pytest.raises(CloudError) as ei:
        download(client, "http://s3.test/b/k", tmp_path / "r.wav", opts=OPTS)
    assert ei.value.code == ErrorCode.SERVICE_UNAVAILABLE
    assert "checksum" in ei.value.message("en")
    assert list(tmp_path.iterdir()) == []


def test_download_refuses_to_overwrite_and_non_s3_etag_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "r.wav").write_bytes(b"mine")
    client, _ = _storage(cut=False, etag="0" * 32, s3=False)  # e.g. an mtime hash
    with pytest.raises(CloudError) as ei:
        download(client, "http://api.test/storage/k", tmp_path / "r.wav", opts=OPTS)
    assert ei.value.code == ErrorCode.OUTPUT_EXISTS
    assert (tmp_path / "r.wav").read_bytes() == b"mine"
    got = download(client, "http://api.test/storage/k", tmp_path / "r.wav", force=True, opts=OPTS)
    assert got.verified == "size" and (tmp_path / "r.wav").read_bytes() == DATA


def test_multipart_etag_and_sha256(tmp_path: Path) -> None:
    p = tmp_path / "big.bin"
    data = DATA * 20  # 20 MiB: three 8 MiB parts
    p.write_bytes(data)
    parts = [data[i : i + 8 * 2**20] for i in range(0, len(data), 8 * 2**20)]
    etag = hashlib.md5(b"".join(hashlib.md5(x).digest() for x in parts)).hexdigest() + "-3"
    assert verify_file(p, None, etag) == "md5-multipart"
    assert verify_file(p, hashlib.sha256(data).hexdigest(), None) == "sha256"
    assert verify_file(p, "0" * 64, None) is None
    assert verify_file(p, None, "0" * 32) is None


def test_token_file_is_private_and_the_notice_comes_once(tmp_path: Path) -> None:
    notices: list[str] = []
    store = FileStore(tmp_path / "cfg", "alice@https://a.example", notices.append)
    store.set("tok-1")
    store.set("tok-2")
    assert len(notices) == 1 and str(tmp_path / "cfg" / "refresh-token") in notices[0]
    f = tmp_path / "cfg" / "refresh-token"
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "cfg").stat().st_mode) == 0o700
    assert store.get() == "tok-2"
    assert FileStore(tmp_path / "cfg", "bob@https://a.example").get() is None
    assert [p.name for p in (tmp_path / "cfg").iterdir()] == ["refresh-token"]  # no temp left
    store.delete()
    assert store.get() is None
