"""Signed URLs of embedded mode's local storage, served by the API itself."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse

from engine.schema.errors import ErrorCode
from server.api.deps import Svc, audit_now
from server.api.errors import ApiError, error_responses
from server.storage.base import owner_of
from server.storage.local import LocalStorage

router = APIRouter(prefix="/storage", tags=["storage"])
ERR = error_responses(404, 413)
CHUNK = 1 << 20


def _local(svc: Svc) -> LocalStorage:
    if not isinstance(svc.storage, LocalStorage):
        raise ApiError(404, ErrorCode.NOT_FOUND)
    return svc.storage


def _refused() -> ApiError:
    """A missing, bad or expired signature: "not found", like another user's object."""
    return ApiError(404, ErrorCode.NOT_FOUND)


@router.get("/{bucket}/{key:path}", responses=ERR, response_class=FileResponse)
def download(
    request: Request,
    bucket: str,
    key: str,
    svc: Svc,
    op: Annotated[str, Query()] = "",
    exp: Annotated[str, Query()] = "",
    sig: Annotated[str, Query()] = "",
) -> FileResponse:
    """Download through a signed GET URL."""
    st = _local(svc)
    if op != "get" or st.verify("get", bucket, key, exp, sig) is None:
        audit_now(svc.db, request, None, "object_get", f"{bucket}/{key}"[:512], 404)
        raise _refused()
    path = st.path(bucket, key)
    if not path.is_file():
        raise ApiError(404, ErrorCode.NOT_FOUND)
    audit_now(svc.db, request, owner_of(key), "object_get", f"{bucket}/{key}", 200)
    return FileResponse(path, filename=Path(key).name)


@router.put("/{bucket}/{key:path}", status_code=200, responses=ERR)
async def upload(
    request: Request,
    bucket: str,
    key: str,
    svc: Svc,
    op: Annotated[str, Query()] = "",
    exp: Annotated[str, Query()] = "",
    sig: Annotated[str, Query()] = "",
    max: Annotated[str, Query()] = "0",  # noqa: A002 (query parameter name)
) -> Response:
    """Upload through a signed PUT URL; the size cap travels inside the signature."""
    st = _local(svc)
    cap = st.verify("put", bucket, key, exp, sig, max) if op == "put" else None
    if cap is None:
        await anyio.to_thread.run_sync(
            audit_now, svc.db, request, None, "object_put", f"{bucket}/{key}"[:512], 404
        )
        raise _refused()
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise ApiError(
            413,
            ErrorCode.UPLOAD_TOO_LARGE,
            size_mb=round(int(declared) / 1e6, 1),
            limit_mb=round(cap / 1e6, 1),
        )
    out = st.atomic_file(bucket, key)  # fsynced, renamed, directory fsynced on commit
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > cap:
                raise ApiError(
                    413,
                    ErrorCode.UPLOAD_TOO_LARGE,
                    size_mb=round(total / 1e6, 1),
                    limit_mb=round(cap / 1e6, 1),
                )
            await anyio.to_thread.run_sync(out.file.write, chunk)
        await anyio.to_thread.run_sync(out.commit)
    finally:
        out.discard()  # a no-op after the commit
    await anyio.to_thread.run_sync(
        audit_now, svc.db, request, owner_of(key), "object_put", f"{bucket}/{key}", 200
    )
    return Response(status_code=200, headers={"ETag": f'"{total:x}"'})
