"""HTTP API (FastAPI). Imports only ``engine.schema`` from the engine (import-linter)."""

from server.api.app import create_app
from server.services import Services

__all__ = ["Services", "create_app"]
