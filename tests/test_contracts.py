"""The import-linter contracts that keep the app and the worker on the engine's facade name
every other engine module: a module added later is forbidden to them until a contract says
otherwise (import-linter's ``forbidden`` contracts only know the modules they list)."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import pytest

import engine

ROOT = Path(__file__).resolve().parents[1]
DOORS = {
    "server": {"engine.facade", "engine.presets", "engine.schema", "engine.atomic"},
    "app": {"engine.facade", "engine.presets", "engine.schema", "engine.resources"},
}


def engine_modules() -> set[str]:
    return {f"engine.{m.name}" for m in pkgutil.iter_modules(engine.__path__)} - {"engine.__main__"}


@pytest.mark.parametrize("source", sorted(DOORS))
def test_every_engine_module_but_the_doors_is_forbidden(source: str) -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "importlinter"
    ]["contracts"]
    (contract,) = [c for c in contracts if c["source_modules"] == [source]]
    forbidden = {m for m in contract["forbidden_modules"] if m.startswith("engine.")}
    assert forbidden | DOORS[source] == engine_modules()
    assert not forbidden & DOORS[source]
