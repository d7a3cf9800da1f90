"""Write ``THIRD_PARTY_LICENSES`` from the installed distributions' metadata.

For each distribution: name, version, the licence it declares (``License-Expression``,
``License``, or the ``License ::`` classifiers), its home page, and the full text of every
licence file it ships (``License-File`` entries, or files named LICENSE/COPYING/NOTICE/AUTHORS
in its ``.dist-info``). Native libraries that a bundle takes from the build machine (outside
any wheel) get the Debian copyright file of the package that owns them, where ``dpkg`` knows.

    python packaging/licenses.py -o THIRD_PARTY_LICENSES            # every installed package
    python packaging/licenses.py -o FILE --dist numpy --dist scipy  # just those

The PyInstaller spec (``packaging/audio-style.spec``) calls :func:`write` with exactly the
distributions and host libraries that end up in the bundle.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

LICENSE_NAME = re.compile(r"(^|/)(LICEN[CS]E|COPYING|NOTICE|AUTHORS)[^/]*$", re.IGNORECASE)
NOTICE_NAME = re.compile(r"(^|/)(LICEN[CS]E|COPYING|NOTICE|ThirdPartyNotices)[^/]*$", re.I)
RULE = "=" * 100


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_license(dist: metadata.Distribution) -> str:
    """The licence a distribution declares in its metadata (``UNKNOWN`` when none)."""
    md = dist.metadata
    expr = md.get("License-Expression")
    if expr:
        return str(expr)
    lic = md.get("License")
    if lic and lic.strip() and lic.strip().upper() != "UNKNOWN":
        first = lic.strip().splitlines()[0]
        # some put the whole licence text in this field: keep the first line only
        return first if len(first) <= 120 else first[:117] + "..."
    classifiers = [
        c.split("::")[-1].strip()
        for c in (md.get_all("Classifier") or [])
        if c.startswith("License ::")
    ]
    return "; ".join(classifiers) or "UNKNOWN"


def license_files(dist: metadata.Distribution) -> list[tuple[str, str]]:
    """(path inside the distribution, text) of each licence file it ships."""
    named = set(dist.metadata.get_all("License-File") or [])
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for f in dist.files or []:
        p = str(f)
        if ".dist-info/" in p:
            base = p.split(".dist-info/", 1)[1]
            if not (
                base in named or base.removeprefix("licenses/") in named or LICENSE_NAME.search(p)
            ):
                continue
        elif not (p.count("/") <= 1 and NOTICE_NAME.search(p)):
            continue  # a package's own top-level LICENSE / ThirdPartyNotices.txt only
        try:
            text = Path(str(dist.locate_file(f))).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if p in seen:
            continue
        seen.add(p)
        out.append((p, text.strip()))
    return out


# Standard licence texts (Debian's base-files) for distributions that declare a licence but ship
# no text, e.g. PySide6 (Qt: LGPL-3.0-only, which builds on the GPL-3.0).
COMMON_LICENSES = Path("/usr/share/common-licenses")
COMMON_TEXTS = (
    (re.compile(r"LGPL-?3|LGPLv3|Lesser General Public License v3", re.I), ("LGPL-3", "GPL-3")),
    (re.compile(r"Apache[- ]?(Software )?(License )?2\.0|Apache-2", re.I), ("Apache-2.0",)),
    (re.compile(r"MPL-?2\.0|Mozilla Public License 2", re.I), ("MPL-2.0",)),
)


def common_license_texts(declared: str) -> list[tuple[str, str]]:
    """Standard texts of the licences named in ``declared`` (where the system has them)."""
    out: list[tuple[str, str]] = []
    for pattern, names in COMMON_TEXTS:
        if pattern.search(declared):
            for n in names:
                f = COMMON_LICENSES / n
                if f.is_file():
                    out.append((str(f), f.read_text(errors="replace").strip()))
    return out


def _section(title: str, lines: Iterable[str], texts: Iterable[tuple[str, str]]) -> str:
    parts = [RULE, title, RULE, *lines, ""]
    for name, text in texts:
        parts += [f"--- {name} ---", text, ""]
    return "\n".join(parts)


def dist_section(dist: metadata.Distribution) -> str:
    md = dist.metadata
    home = md.get("Home-page") or ""
    if not home:
        urls = md.get_all("Project-URL") or []
        home = urls[0].split(",", 1)[-1].strip() if urls else ""
    lines = [f"License: {declared_license(dist)}"] + ([f"Home page: {home}"] if home else [])
    texts = license_files(dist)
    if not texts:
        texts = common_license_texts(declared_license(dist))
        lines.append(
            "(the distribution ships no licence file: the standard text of its declared licence"
            " follows)"
            if texts
            else "(the distribution ships no licence file; see its home page)"
        )
    return _section(f"{md['Name']} {dist.version}", lines, texts)


def python_section() -> str:
    """CPython itself (the interpreter and standard library in a frozen bundle)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts = []
    for cand in (stdlib / "LICENSE.txt", Path(sys.base_prefix) / "LICENSE.txt"):
        if cand.is_file():
            texts.append((cand.name, cand.read_text(encoding="utf-8", errors="replace").strip()))
            break
    v = sys.version_info
    lines = ["License: PSF-2.0", "Home page: https://www.python.org/"]
    return _section(f"Python {v.major}.{v.minor}.{v.micro}", lines, texts)


def host_library_section(paths: Iterable[str]) -> str:
    """Shared libraries copied from the build machine, with their Debian copyright files."""
    by_pkg: dict[str, list[str]] = {}
    for p in sorted(set(paths)):
        pkg = "?"
        try:
            res = subprocess.run(
                ["dpkg", "-S", p], capture_output=True, text=True, timeout=30, check=False
            )
            if res.returncode == 0 and ":" in res.stdout:
                pkg = res.stdout.split(":", 1)[0].strip()
        except (OSError, subprocess.SubprocessError):
            pass
        by_pkg.setdefault(pkg, []).append(p)
    out = []
    for pkg, libs in sorted(by_pkg.items()):
        texts = []
        copyright_file = Path("/usr/share/doc") / pkg.split(":")[0] / "copyright"
        if pkg != "?" and copyright_file.is_file():
            texts.append((str(copyright_file), copyright_file.read_text(errors="replace").strip()))
        title = f"system library package {pkg}" if pkg != "?" else "system libraries"
        out.append(_section(title, [f"File: {lib}" for lib in libs], texts))
    return "\n".join(out)


def render(dist_names: Iterable[str] | None = None, host_libs: Iterable[str] = ()) -> str:
    """The whole THIRD_PARTY_LICENSES text (``dist_names=None``: every installed one)."""
    dists: dict[str, metadata.Distribution] = {}
    for d in metadata.distributions():
        name = d.metadata["Name"]
        if name:
            dists.setdefault(_norm(name), d)
    wanted = sorted(dists) if dist_names is None else sorted({_norm(n) for n in dist_names})
    missing = [n for n in wanted if n not in dists]
    if missing:
        raise SystemExit(f"licenses.py: not installed: {', '.join(missing)}")
    wanted = [n for n in wanted if n != "audio-style"]
    head = [
        "THIRD_PARTY_LICENSES — audio-style",
        "",
        "audio-style includes the following third-party components. Each section gives the",
        "component, its version, the licence it declares and the licence texts it ships.",
        f"Components: {len(wanted) + 1} Python distributions (with CPython)"
        + (", plus system libraries" if host_libs else ""),
        "",
    ]
    body = [python_section()] + [dist_section(dists[n]) for n in wanted]
    libs = list(host_libs)
    if libs:
        body.append(host_library_section(libs))
    return "\n".join(head) + "\n" + "\n".join(body)


def write(
    out: Path, dist_names: Iterable[str] | None = None, host_libs: Iterable[str] = ()
) -> Path:
    """Render and write atomically (temp + rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(render(dist_names, host_libs), encoding="utf-8")
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--dist", action="append", help="only this distribution (repeatable)")
    args = ap.parse_args(argv)
    path = write(args.output, args.dist)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
