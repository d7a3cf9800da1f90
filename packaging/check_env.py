"""Check that the installed environment satisfies the project's requirements, extras included.

``make setup`` installs packaging/requirements/dev.lock with ``--no-deps`` and then the
project with ``--no-deps``; this catches a lock that is behind pyproject.toml (a new or
raised requirement, or a new extra of a requirement such as ``uvicorn[standard]``), which
``pip check`` misses because it ignores the extras the project itself is installed with.

    python packaging/check_env.py [EXTRA ...]     # default: app server dev
"""

from __future__ import annotations

import sys
from importlib import metadata

from packaging.utils import canonicalize_name

from packaging.requirements import Requirement

PROJECT = "audio-style"


def problems(project: str, extras: set[str]) -> list[str]:
    """Unsatisfied requirements of ``project[extras]`` and, recursively, of what it needs."""
    out: list[str] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    todo: list[tuple[str, frozenset[str], str]] = [(project, frozenset(extras), "")]
    while todo:
        name, want, parent = todo.pop()
        key = (canonicalize_name(name), want)
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            out.append(f"{name} is not installed (needed by {parent})")
            continue
        for line in dist.requires or []:
            req = Requirement(line)
            envs = [{"extra": e} for e in want] or [{"extra": ""}]
            if req.marker and not any(req.marker.evaluate(env) for env in envs):
                continue
            try:
                version = metadata.version(req.name)
            except metadata.PackageNotFoundError:
                out.append(f"{req} is not installed (needed by {name})")
                continue
            if req.specifier and not req.specifier.contains(version, prereleases=True):
                out.append(f"{req.name} {version} does not satisfy {req} (needed by {name})")
                continue
            todo.append((req.name, frozenset(req.extras), name))
    return out


def main(argv: list[str]) -> int:
    extras = set(argv) or {"app", "server", "dev"}
    found = problems(PROJECT, extras)
    for p in found:
        print(f"check_env: {p}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
