"""The desktop/dev lock, the resource lookup and the licence generator (fast; no bundle)."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from engine import resources
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "packaging" / "requirements" / "dev.lock"
EXTRAS = ("app", "server", "dev")


def _pins() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from the lock."""
    pins: dict[str, tuple[str, list[str]]] = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text()):
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", entry)
        if m:
            pins[canonicalize_name(m.group(1))] = (m.group(2), re.findall(r"sha256:\w+", entry))
    return pins


def test_lock_pins_every_requirement_of_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project["optional-dependencies"][extra]
    pins = _pins()
    env = {"sys_platform": "linux", "platform_system": "Linux", "python_version": "3.11"}
    problems = []
    for line in reqs:
        req = Requirement(line)
        if req.marker and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req} not in the lock")
        elif not req.specifier.contains(pins[name][0], prereleases=True):
            problems.append(f"{req}: lock pins {pins[name][0]}")
    assert not problems, f"run packaging/lock.sh: {problems}"


def test_lock_is_hashed_and_has_no_gpu_or_torch() -> None:
    pins = _pins()
    assert len(pins) > 50
    unhashed = [n for n, (_, hashes) in pins.items() if not hashes]
    assert not unhashed
    gpu = [n for n in pins if n in {"torch", "onnxruntime-gpu"} or n.startswith("nvidia-")]
    assert not gpu
    assert "pyinstaller" in pins and "setuptools" in pins


def test_resources_found_in_checkout_bundle_and_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUDIO_STYLE_RESOURCES", raising=False)
    assert resources.resource_path("i18n") == ROOT / "resources" / "i18n"
    assert list(resources.resource_path("i18n").glob("*.qm"))

    frozen = tmp_path / "_internal"
    (frozen / "resources" / "i18n").mkdir(parents=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(frozen), raising=False)
    assert resources.resource_path("i18n") == frozen / "resources" / "i18n"

    override = tmp_path / "elsewhere"
    override.mkdir()
    monkeypatch.setenv("AUDIO_STYLE_RESOURCES", str(override))
    assert resources.resource_path("models", "x.onnx") == override / "models" / "x.onnx"


def test_licenses_render_texts_of_the_named_distributions() -> None:
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        import licenses
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    text = licenses.render(["numpy", "PySide6-Essentials"])
    titles = re.findall(r"^={20,}\n(\S+) (\S+)\n={20,}$", text, re.M)
    names = {canonicalize_name(t) for t, _ in titles}
    assert {"python", "numpy", "pyside6-essentials"} <= names
    numpy_section = text.split("\nnumpy ", 1)[1].split("\n" + "=" * 100 + "\n", 2)[1]
    assert "Copyright" in numpy_section  # numpy's own LICENSE.txt, not just a name
    with pytest.raises(SystemExit):
        licenses.render(["no-such-distribution-here"])
