"""ASGI entry point for several API processes (full stack only):
``audio-style server --processes N`` or ``uvicorn server.asgi:app --workers N``.
Settings come from the environment and ``$AUDIO_STYLE_ENV_FILE`` (``DATA_DIR`` for ``--data-dir``)."""

from __future__ import annotations

from server.api import create_app
from server.api.app import tune_gc
from server.config import load_settings
from server.stack import api_services, core

_settings = load_settings()
if _settings.embedded:
    raise SystemExit(
        "several API processes need the full stack (QUEUE_URL): embedded mode's "
        "in-process queue cannot be shared between processes"
    )
app = create_app(api_services(core(_settings), embedded_workers=0))
tune_gc()
