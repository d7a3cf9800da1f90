"""Controllers: session state and every engine call of the app."""

from app.controllers.engine_api import EngineApi, default_engine
from app.controllers.main_controller import MainController

__all__ = ["EngineApi", "MainController", "default_engine"]
