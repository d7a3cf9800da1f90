"""The web console (``frontend/``, a React single-page app) and the local API docs page.

- ``/`` and ``/console/...`` (the console's deep links) answer the built ``index.html``;
  ``/assets/...`` its hashed files. Without a build, one page says how to build it.
- ``/docs``: Swagger UI from the build's own copy of ``swagger-ui-dist`` (no CDN).
- Every page carries a Content-Security-Policy without ``unsafe-inline``: scripts and styles
  from this origin only; the object storage's origin is allowed for uploads, downloads and
  plots (presigned URLs), nothing else.
- Small API additions for the console: ``GET /me`` (name, admin?), ``GET /jobs/{id}/inputs``
  (presigned GETs of a job's own sources, for the A/B player), ``GET /jobs/{id}/exports``
  (the results' preset exports) and ``GET /console-errors.json``
  (the error-code table of ``engine.schema.errors``, one source for every client).

The console keeps its access token in memory only and never holds a refresh token (see
``docs/console.md``).
"""

from __future__ import annotations

import html
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.schema.errors import MESSAGES
from engine.schema.jobs import JobSpec
from server.api.deps import Svc, User
from server.api.errors import error_responses
from server.api.routes_jobs import _own_job
from server.config import Settings
from server.db.models import JobResultRow
from server.jobstore import export_keys

ROOT = Path(__file__).resolve().parents[2]
ERR = error_responses(401, 404, 429)


def console_dir(settings: Settings) -> Path:
    """Where the built console lives: ``APP_CONSOLE_DIR``, else ``frontend/dist`` of the
    source tree (or of the image's working copy)."""
    return settings.console_dir or ROOT / "frontend" / "dist"


def admins(settings: Settings) -> frozenset[str]:
    """Admin user names: ``APP_ADMINS`` (comma-separated)."""
    return frozenset(n.strip() for n in settings.admins.split(",") if n.strip())


def storage_origins(settings: Settings) -> list[str]:
    """Origins the browser talks to for uploads/downloads (presigned URLs)."""
    if settings.storage_backend == "local":
        return []
    if settings.storage_backend == "cos":
        host = urlsplit(settings.s3_endpoint or "").hostname or ""
        scheme = settings.cos_scheme
        out = [f"{scheme}://*.{host}"] if host else []
        if settings.cos_ip:  # tests/private endpoints reached by address
            port = f":{settings.cos_port}" if settings.cos_port else ""
            out.append(f"{scheme}://{settings.cos_ip}{port}")
        return out
    url = settings.s3_public_endpoint or settings.s3_endpoint or ""
    u = urlsplit(url)
    if not u.scheme or not u.netloc:
        return []
    return [f"{u.scheme}://{u.netloc}", f"{u.scheme}://*.{u.netloc}"]


def content_security_policy(settings: Settings) -> str:
    """The policy of every page: no inline script or style, no third-party origin."""
    store = " ".join(storage_origins(settings))
    extra = f" {store}" if store else ""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob:{extra}",
            f"media-src 'self' blob:{extra}",
            f"connect-src 'self'{extra}",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        )
    )


class SecurityHeaders:
    """Adds the CSP and the usual hardening headers to HTML answers (pages), and
    ``nosniff``/``frame`` headers to everything."""

    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app = app
        self.csp = csp.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                add = [(b"x-content-type-options", b"nosniff")]
                if ctype.startswith(b"text/html"):
                    add += [
                        (b"content-security-policy", self.csp),
                        (b"x-frame-options", b"DENY"),
                        (b"referrer-policy", b"no-referrer"),
                    ]
                headers += [(k, v) for k, v in add if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_)


NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>audio-style console: not built</title></head>
<body><h1>The web console is not built</h1>
<p>This server has no built console in <code>{where}</code>. Build it with Node.js and npm:</p>
<pre>make setup            # runs the next two lines when npm is present
cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>网页控制台尚未构建：安装 Node.js 与 npm 后运行 <code>make setup</code>
（或 <code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>）。</p>
<p>The API works without it: <a href="/docs">/docs</a>, <a href="/health">/health</a>.</p>
</body></html>
"""

DOCS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>audio-style API</title>
<link rel="stylesheet" href="/swagger/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/swagger/swagger-ui-bundle.js"></script>
<script src="/swagger/swagger-init.js"></script>
</body></html>
"""


def _not_built(root: Path) -> Response:
    body = NOT_BUILT.format(where=html.escape(str(root)))
    return HTMLResponse(body, status_code=503, headers={"Cache-Control": "no-store"})


def _index(root: Path) -> Response:
    index = root / "index.html"
    if not index.is_file():
        return _not_built(root)
    return FileResponse(index, media_type="text/html", headers={"Cache-Control": "no-cache"})


def _static(root: Path, sub: str, name: str) -> Response:
    base = (root / sub).resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        return JSONResponse({"code": "E503", "message": "not found"}, status_code=404)
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    cache = "public, max-age=31536000, immutable" if sub == "assets" else "public, max-age=3600"
    return FileResponse(path, media_type=ctype, headers={"Cache-Control": cache})


pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["console"])


@pages.get("/")
@pages.get("/console")
@pages.get("/console/{rest:path}")
def console_page(request: Request, rest: str = "") -> Response:
    return _index(console_dir(request.app.state.services.settings))


@pages.get("/assets/{name:path}")
def console_asset(request: Request, name: str) -> Response:
    return _static(console_dir(request.app.state.services.settings), "assets", name)


@pages.get("/swagger/{name:path}")
def swagger_asset(request: Request, name: str) -> Response:
    return _static(console_dir(request.app.state.services.settings), "swagger", name)


@pages.get("/docs")
def docs_page(request: Request) -> Response:
    root = console_dir(request.app.state.services.settings)
    if not (root / "swagger" / "swagger-ui-bundle.js").is_file():
        return _not_built(root)
    return HTMLResponse(DOCS)


@pages.get("/console-errors.json")
def error_table() -> JSONResponse:
    """``{code: {"en": ..., "zh": ...}}`` from ``engine.schema.errors`` (placeholders kept)."""
    body = {c.value: {"en": en, "zh": zh} for c, (en, zh) in MESSAGES.items()}
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=300"})


@api.get("/me", responses=ERR)
def me(svc: Svc, user: User) -> dict[str, Any]:
    """The caller: id, name and whether they may use the admin endpoints."""
    return {
        "id": user.user_id,
        "name": user.name,
        "admin": user.name in admins(svc.settings),
    }


@api.get("/jobs/{job_id}/inputs", responses=ERR)
def job_inputs(job_id: str, svc: Svc, user: User) -> dict[str, Any]:
    """Short-lived download URLs of the caller's own job sources (targets, references), for
    the console's A/B player."""
    with svc.db.session() as s:
        job = _own_job(s, job_id, user.user_id)
        spec = JobSpec.model_validate(job.spec)
    storage, ttl = svc.storage, svc.settings.download_ttl_s

    def url(key: str) -> str:
        return storage.presign_get(storage.bucket_audio, key, ttl)

    return {
        "targets": [url(k) for k in spec.targets],
        "references": [url(k) for k in spec.references],
    }


@api.get("/jobs/{job_id}/exports", responses=ERR)
def job_exports(job_id: str, svc: Svc, user: User) -> dict[str, Any]:
    """Short-lived download URLs of each result's preset exports (Equalizer APO, GraphicEQ,
    CSV), in target order; empty until the job has succeeded."""
    with svc.db.session() as s:
        _own_job(s, job_id, user.user_id)
        rows = s.execute(
            select(JobResultRow.preset_key)
            .where(JobResultRow.job_id == job_id)
            .order_by(JobResultRow.target_index)
        ).scalars()
        keys = [export_keys(str(k)) for k in rows]
    storage, ttl = svc.storage, svc.settings.download_ttl_s
    return {
        "results": [
            {fmt: storage.presign_get(storage.bucket_preset, k, ttl) for fmt, k in ks.items()}
            for ks in keys
        ]
    }


def install(app: FastAPI, settings: Settings) -> None:
    """Console pages, the docs page, the console's API additions and the page headers."""
    app.include_router(api)
    app.include_router(pages)
    app.add_middleware(SecurityHeaders, csp=content_security_policy(settings))
