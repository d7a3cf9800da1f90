"""Controllers: session state and every engine call of the app.

Qt-free: ``session`` (the state), ``match_work`` and ``export_work`` (the engine work as
progress generators), ``engine_api`` (the engine's typed surface). With Qt: ``job_queue``,
``main_controller`` (composes them), ``cloud_controller``, ``delivery_controller``. The
package's names below are resolved on first use, so importing a Qt-free module does not
load Qt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.controllers.engine_api import EngineApi, default_engine
    from app.controllers.main_controller import MainController

__all__ = ["EngineApi", "MainController", "default_engine"]


def __getattr__(name: str) -> object:
    if name in ("EngineApi", "default_engine"):
        from app.controllers import engine_api

        return getattr(engine_api, name)
    if name == "MainController":
        from app.controllers.main_controller import MainController

        return MainController
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
