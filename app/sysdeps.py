"""System libraries of the desktop app on Linux, checked before anything imports Qt.

PySide6's wheels bring Qt itself but not the X11/OpenGL/font libraries it links against, and
python-sounddevice needs the system's PortAudio. A missing one makes Qt abort ("Could not load
the Qt platform plugin xcb") or leaves the app without audio preview. This module finds what
is really missing from the libraries themselves: ``ldd`` on the Qt platform plugin and the Qt
modules the app loads (both resolve the Qt libraries they pull), ``ldd`` on the PortAudio that
sounddevice would load, and the one library Qt >= 6.5 opens at plugin load time
(``libxcb-cursor.so.0``, not a link dependency in every build). Missing sonames are mapped to
Debian/Ubuntu packages with :data:`PACKAGES`, the one table (README's system-package list is
generated from it, ``python -m app.sysdeps --readme``; a test keeps the two equal).

It imports no Qt (and nothing heavier than ``engine.schema``), so it runs from ``make setup``,
``make run`` and ``audio-style gui`` (the packaged build's start-up goes through the same
``gui`` subcommand) before Qt is loaded::

    python -m app.sysdeps --install   # make setup: install what is missing (root, or sudo with
                                      # AUDIO_STYLE_SUDO=1), else print one command
    python -m app.sysdeps --readme    # the README's system-package list from PACKAGES

Installing: as root with ``apt-get`` (``apt-get update`` once if a package is not found);
otherwise with ``sudo`` only when ``AUDIO_STYLE_SUDO=1``; never with ``AUDIO_STYLE_NO_INSTALL=1``.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.schema.errors import AudioStyleError, ErrorCode
from engine.schema.i18n import current_language

WINDOW = "window"  # Qt's platform plugin and libraries: without them no window opens
AUDIO = "audio"  # PortAudio for sounddevice: without it no audio preview
EXTRA = "extra"  # not a link dependency: installed by hand or by .ci/run (fonts, Xvfb, venv)


@dataclass(frozen=True)
class SystemPackage:
    """A Debian/Ubuntu package, the sonames it provides that we look for, and what for."""

    name: str
    sonames: tuple[str, ...]
    need: str  # WINDOW | AUDIO | EXTRA
    purpose: str = ""  # README wording (EXTRA packages)


def _w(name: str, *sonames: str) -> SystemPackage:
    return SystemPackage(name, sonames, WINDOW)


# Debian 12 names; Ubuntu 22.04+ uses the same ones (24.04's t64 renames such as
# libglib2.0-0t64 and libasound2t64 provide the old names: apt-get picks the provider).
PACKAGES: tuple[SystemPackage, ...] = (
    # the Qt xcb platform plugin (libqxcb.so) and its X11 helpers
    _w("libxcb-icccm4", "libxcb-icccm.so.4"),
    _w("libxcb-keysyms1", "libxcb-keysyms.so.1"),
    _w("libxcb-cursor0", "libxcb-cursor.so.0"),
    _w("libxcb-image0", "libxcb-image.so.0"),
    _w("libxcb-render-util0", "libxcb-render-util.so.0"),
    _w("libxcb-util1", "libxcb-util.so.1"),
    _w("libxkbcommon-x11-0", "libxkbcommon-x11.so.0"),
    _w("libxkbcommon0", "libxkbcommon.so.0"),
    _w("libxcb-randr0", "libxcb-randr.so.0"),
    _w("libxcb-render0", "libxcb-render.so.0"),
    _w("libxcb-shape0", "libxcb-shape.so.0"),
    _w("libxcb-shm0", "libxcb-shm.so.0"),
    _w("libxcb-sync1", "libxcb-sync.so.1"),
    _w("libxcb-xfixes0", "libxcb-xfixes.so.0"),
    _w("libxcb-xkb1", "libxcb-xkb.so.1"),
    _w("libxcb-glx0", "libxcb-glx.so.0"),
    _w("libxcb1", "libxcb.so.1"),
    _w("libx11-6", "libX11.so.6"),
    _w("libx11-xcb1", "libX11-xcb.so.1"),
    # the Qt wayland platform plugin (a Wayland session)
    _w("libwayland-client0", "libwayland-client.so.0"),
    _w("libwayland-cursor0", "libwayland-cursor.so.0"),
    _w("libwayland-egl1", "libwayland-egl.so.1"),
    # Qt Gui/OpenGL, fonts, event loop, D-Bus, compression
    _w("libegl1", "libEGL.so.1"),
    _w("libgl1", "libGL.so.1"),
    _w("libfontconfig1", "libfontconfig.so.1"),
    _w("libfreetype6", "libfreetype.so.6"),
    _w("libglib2.0-0", "libglib-2.0.so.0", "libgthread-2.0.so.0"),
    _w("libdbus-1-3", "libdbus-1.so.3"),
    _w("zlib1g", "libz.so.1"),
    _w("libzstd1", "libzstd.so.1"),
    # C/C++ runtime (present on every system; listed so that every soname maps)
    _w("libstdc++6", "libstdc++.so.6"),
    _w("libgcc-s1", "libgcc_s.so.1"),
    _w(
        "libc6",
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "libpthread.so.0",
        "librt.so.1",
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
    ),
    # audio preview: python-sounddevice loads the system's PortAudio (ALSA, JACK)
    SystemPackage("libportaudio2", ("libportaudio.so.2",), AUDIO),
    SystemPackage("libasound2", ("libasound.so.2",), AUDIO),
    SystemPackage("libjack-jackd2-0", ("libjack.so.0",), AUDIO),
    # not found through the libraries: named here for README and .ci/run
    SystemPackage("python3-venv", (), EXTRA, "`make setup` creates `.venv` with it"),
    SystemPackage("fonts-noto-cjk", (), EXTRA, "CJK glyphs for the Chinese interface"),
    SystemPackage(
        "xvfb",
        (),
        EXTRA,
        "a virtual display: `xvfb-run -a make run` without a desktop, `make screenshots`",
    ),
    SystemPackage("xauth", (), EXTRA, "used by `xvfb-run`"),
    SystemPackage("x11-utils", (), EXTRA, "`xwininfo`: the test that opens the window under Xvfb"),
)
PACKAGE_OF: dict[str, SystemPackage] = {so: p for p in PACKAGES for so in p.sonames}

# Qt modules the app loads (app/, pyqtgraph) and the plugins it needs besides the platform's
QT_MODULES = ("QtCore", "QtGui", "QtWidgets", "QtOpenGL", "QtOpenGLWidgets", "QtSvg", "QtTest")
QT_PLUGINS = ("iconengines/libqsvgicon.so", "imageformats/libqsvg.so")
# what a platform plugin loads in turn (OpenGL integration, the Wayland shell)
PLATFORM_PLUGINS = {
    "xcb": (
        "xcbglintegrations/libqxcb-glx-integration.so",
        "xcbglintegrations/libqxcb-egl-integration.so",
    ),
    "wayland": (
        "wayland-shell-integration/libxdg-shell.so",
        "wayland-graphics-integration-client/libqt-plugin-wayland-egl.so",
    ),
}
# loaded with dlopen by a platform plugin (not always in its ldd): Qt >= 6.5's xcb plugin
DLOPENED = {"xcb": ("libxcb-cursor.so.0",)}
# QT_QPA_PLATFORM values that need no window system
HEADLESS = ("offscreen", "minimal", "minimalegl", "vnc", "eglfs", "linuxfb", "vkkhrdisplay")

_TEXTS: dict[str, tuple[str, str]] = {
    "missing": (
        "missing system packages: {packages}",
        "缺少系统软件包：{packages}",
    ),
    "unmapped": (
        "missing libraries with no known package (apt-file search NAME): {names}",
        "缺少的库没有已知的软件包（可用 apt-file search 查找）：{names}",
    ),
    "run": ("install them with: {command}", "请用以下命令安装：{command}"),
    "not_debian": (
        "{command} (Debian/Ubuntu; elsewhere the packages that provide {sonames})",
        "{command}（Debian/Ubuntu；其他系统请安装提供 {sonames} 的软件包）",
    ),
    "works": (
        "without them the command line (audio-style match/analyze), make demo and make test "
        "still work{window}{audio}",
        "缺少它们时命令行（audio-style match/analyze）、make demo 和 make test 仍可使用{window}{audio}",
    ),
    "works_window": (
        "; the desktop window cannot open",
        "；桌面窗口无法打开",
    ),
    "works_audio": (
        "; the app opens but audio preview (playback) is unavailable",
        "；程序可以打开，但无法试听（播放）",
    ),
    "installing": (
        "installing system packages: {packages}",
        "正在安装系统软件包：{packages}",
    ),
    "install_failed": (
        "installing the system packages failed",
        "安装系统软件包失败",
    ),
    "no_x": ("DISPLAY and WAYLAND_DISPLAY are not set", "未设置 DISPLAY 和 WAYLAND_DISPLAY"),
    "no_x_server": (
        "no X server answers on DISPLAY={display}",
        "DISPLAY={display} 上没有可连接的 X 服务器",
    ),
    "no_wayland": ("WAYLAND_DISPLAY is not set", "未设置 WAYLAND_DISPLAY"),
    "no_xdisplay": ("DISPLAY is not set", "未设置 DISPLAY"),
}


def text(key: str, **params: object) -> str:
    """The wording of ``key`` in the current language."""
    en, zh = _TEXTS[key]
    return (zh if current_language() == "zh" else en).format(**params)


def say(line: str) -> None:
    """``audio-style: <line>`` on stderr."""
    print(f"audio-style: {line}", file=sys.stderr, flush=True)


# --- where the libraries are -----------------------------------------------------------------


def pyside_dir() -> Path | None:
    """PySide6's package directory, found without importing it (also in the frozen bundle)."""
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen and (Path(frozen) / "PySide6").is_dir():
        return Path(frozen) / "PySide6"
    return None


def platforms(env: Mapping[str, str]) -> list[str]:
    """The Qt platforms ``QT_QPA_PLATFORM`` names (``a;b`` lists, ``name:args``), else the two
    of a Linux desktop: ``wayland`` and ``xcb``."""
    names = [p.split(":", 1)[0].strip() for p in env.get("QT_QPA_PLATFORM", "").split(";")]
    return [n for n in names if n] or ["wayland", "xcb"]


def gui_platforms(env: Mapping[str, str]) -> list[str]:
    """Those of :func:`platforms` that can show a window here: headless ones always, ``xcb``
    with ``DISPLAY`` and an X server answering on it, ``wayland*`` with ``WAYLAND_DISPLAY``."""
    out = []
    for name in platforms(env):
        if name == "xcb":
            ok = bool(env.get("DISPLAY")) and x_server_answers(env["DISPLAY"])
        elif name.startswith("wayland"):
            ok = bool(env.get("WAYLAND_DISPLAY"))
        else:
            ok = name in HEADLESS
        if ok:
            out.append(name)
    return out


def setup_platforms(env: Mapping[str, str]) -> list[str]:
    """What ``make setup`` provides for: the xcb plugin (a desktop) whatever
    ``QT_QPA_PLATFORM`` is now (``make test`` runs offscreen), and that one."""
    forced = platforms(env) if env.get("QT_QPA_PLATFORM", "").strip() else []
    return list(dict.fromkeys(["xcb", *forced]))


def qt_targets(qt: Path, platform_names: Sequence[str]) -> list[Path]:
    """The Qt files whose dependencies the app needs: platform plugins, modules, plugins."""
    plugins = qt / "Qt" / "plugins"
    files = []
    for name in platform_names:  # wayland-egl, wayland-brcm: the same plugin as wayland
        files.append(plugins / "platforms" / f"libq{name.split('-', 1)[0]}.so")
        files += [plugins / p for p in PLATFORM_PLUGINS.get(name.split("-", 1)[0], ())]
    files += [qt / f"{m}.abi3.so" for m in QT_MODULES]
    files += [plugins / p for p in QT_PLUGINS]
    return [f for f in files if f.is_file()]


def ldd_missing(files: Iterable[Path]) -> list[str]:
    """Sonames ``ldd`` reports as ``not found`` for any of ``files`` (sorted, unique)."""
    args = [str(f) for f in files]
    if not args or shutil.which("ldd") is None:
        return []
    out = subprocess.run(
        ["ldd", *args], capture_output=True, text=True, check=False, timeout=60
    ).stdout
    return parse_ldd(out)


def parse_ldd(output: str) -> list[str]:
    """The ``name => not found`` sonames of ``ldd`` output (sorted, unique)."""
    return sorted(set(re.findall(r"^\s*(\S+)\s+=>\s+not found", output, flags=re.MULTILINE)))


def library_path(soname: str) -> Path | None:
    """Where the dynamic loader's cache (``ldconfig -p``) has ``soname``, if anywhere."""
    for ldconfig in ("/sbin/ldconfig", "/usr/sbin/ldconfig", shutil.which("ldconfig")):
        if ldconfig and os.path.exists(ldconfig):
            out = subprocess.run(
                [ldconfig, "-p"], capture_output=True, text=True, check=False, timeout=30
            ).stdout
            for line in out.splitlines():
                name, _, path = line.strip().partition(" => ")
                if name.split(" ", 1)[0] == soname and path:
                    return Path(path)
            return None
    return None


def find_soname(name: str) -> str | None:
    """``ctypes.util.find_library(name)``: the soname the loader would open, or None."""
    return ctypes.util.find_library(name)


def loadable(soname: str) -> bool:
    """Whether ``dlopen(soname)`` succeeds here, as it will for Qt (``LD_LIBRARY_PATH`` and
    the packaged build's own copies included)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def portaudio_missing() -> list[str]:
    """What sounddevice lacks: PortAudio itself (found as sounddevice finds it), or its deps."""
    soname = find_soname("portaudio")
    if soname is None:
        return ["libportaudio.so.2"]
    path = library_path(soname)
    return ldd_missing([path]) if path is not None else []


@dataclass(frozen=True)
class Missing:
    """A library that is not there, what it is needed for, and its package (if known)."""

    soname: str
    need: str  # WINDOW | AUDIO
    package: str | None


def check(names: Sequence[str] = ("xcb",), audio: bool = True) -> list[Missing]:
    """What the desktop app lacks on this machine (Linux; elsewhere nothing): the libraries of
    the Qt platform plugins ``names`` and the Qt modules, and (``audio``) PortAudio's."""
    if not sys.platform.startswith("linux"):
        return []
    found: dict[str, str] = {}
    qt = pyside_dir()
    if qt is not None:
        for so in ldd_missing(qt_targets(qt, names)):
            found.setdefault(so, WINDOW)
        for name in names:
            for so in DLOPENED.get(name, ()):
                if not loadable(so):
                    found.setdefault(so, WINDOW)
    if audio:
        for so in portaudio_missing():
            found.setdefault(so, AUDIO)
    return [
        Missing(so, need, PACKAGE_OF[so].name if so in PACKAGE_OF else None)
        for so, need in sorted(found.items())
    ]


def packages_of(missing: Iterable[Missing]) -> list[str]:
    """The packages to install for ``missing`` (table order, unique)."""
    wanted = {m.package for m in missing if m.package}
    return [p.name for p in PACKAGES if p.name in wanted]


# --- installing --------------------------------------------------------------------------------


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def install_command(packages: Sequence[str], root: bool | None = None) -> list[str]:
    """The one command that installs ``packages`` (``sudo`` in front unless root)."""
    root = is_root() if root is None else root
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    return cmd if root else ["sudo", *cmd]


def may_install(env: Mapping[str, str] | None = None) -> bool:
    """Whether to run apt-get here: root (or sudo allowed), apt-get present, not forbidden."""
    env = os.environ if env is None else env
    if env.get("AUDIO_STYLE_NO_INSTALL", "") not in ("", "0") or shutil.which("apt-get") is None:
        return False
    return is_root() or (env.get("AUDIO_STYLE_SUDO") == "1" and shutil.which("sudo") is not None)


def install(packages: Sequence[str]) -> bool:
    """``apt-get install`` the packages (``apt-get update`` first if one is not found)."""
    if not packages:
        return True
    say(text("installing", packages=" ".join(packages)))
    cmd = ["install", "-y", "--no-install-recommends", *packages]
    # a fresh machine has no package lists yet (or stale ones): update once and retry
    ok = _apt(cmd) == 0 or (_apt(["update", "-qq"]) == 0 and _apt(cmd) == 0)
    if not ok:
        say(text("install_failed"))
    return ok


def _apt(args: Sequence[str]) -> int:
    """Run apt-get quietly; its last lines on stderr when it fails."""
    sudo = [] if is_root() else ["sudo"]
    cmd = [*sudo, "apt-get", "-q", "-o", "DPkg::Lock::Timeout=600", *args]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # sudo may ask for a password on the terminal: only apt-get's output is captured
    r = subprocess.run(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True, check=False
    )
    if r.returncode != 0:
        for line in r.stdout.strip().splitlines()[-3:]:
            say(line)
    return r.returncode


def remedy(missing: Sequence[Missing]) -> str:
    """The one command for ``missing``: ``apt-get install`` of its packages (said to be the
    Debian/Ubuntu names where there is no apt-get), else ``apt-file search`` of its sonames."""
    pkgs = packages_of(missing)
    if not pkgs:
        return "apt-file search " + " ".join(sorted({m.soname for m in missing}))
    command = " ".join(install_command(pkgs))
    if shutil.which("apt-get") is None:
        sonames = " ".join(sorted({m.soname for m in missing}))
        return text("not_debian", command=command, sonames=sonames)
    return command


def report(missing: Sequence[Missing]) -> None:
    """What is missing, the one command that installs it and what works without it."""
    pkgs = packages_of(missing)
    if pkgs:
        say(text("missing", packages=" ".join(pkgs)))
    unmapped = sorted({m.soname for m in missing if m.package is None})
    if unmapped:
        say(text("unmapped", names=" ".join(unmapped)))
    if pkgs:
        say(text("run", command=remedy(missing)))
    needs = {m.need for m in missing}
    say(
        text(
            "works",
            window=text("works_window") if WINDOW in needs else "",
            audio=text("works_audio") if AUDIO in needs and WINDOW not in needs else "",
        )
    )


def ensure(env: Mapping[str, str] | None = None) -> list[Missing]:
    """Check (the xcb plugin whatever ``QT_QPA_PLATFORM`` says now, and PortAudio), install
    what is missing when allowed, check again; report and return what is still missing."""
    env = os.environ if env is None else env
    names = setup_platforms(env)
    missing = check(names)
    pkgs = packages_of(missing)
    if pkgs and may_install(env):
        install(pkgs)
        missing = check(names)
    if missing:
        report(missing)
    return missing


# --- before the window -------------------------------------------------------------------------


def display_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why Qt could not open a window here (Linux), or None: no ``DISPLAY``/``WAYLAND_DISPLAY``
    for the platforms Qt may use, or no X server answering on ``DISPLAY``."""
    if not sys.platform.startswith("linux"):
        return None
    env = os.environ if env is None else env
    if gui_platforms(env):
        return None
    names, display = platforms(env), env.get("DISPLAY", "")
    if "xcb" in names and display:
        return text("no_x_server", display=display)
    if not env.get("QT_QPA_PLATFORM", "").strip():
        return text("no_x")
    return text("no_xdisplay") if "xcb" in names else text("no_wayland")


def x_server_answers(display: str, timeout_s: float = 5.0) -> bool:
    """Whether something accepts connections for ``display`` (``:N``, ``unix:N``, ``host:N``);
    True for forms this cannot check (the X library may still reach them)."""
    m = re.fullmatch(r"(?P<host>[^:/]*):(?P<num>\d+)(\.\d+)?", display)
    if m is None:
        return True
    host, num = m.group("host"), int(m.group("num"))
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{num}"
        for address in ("\0" + path, path):  # Linux abstract socket first, like libxcb
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(timeout_s)
                try:
                    s.connect(address)
                    return True
                except OSError:
                    continue
        return False
    try:
        socket.create_connection((host, 6000 + num), timeout=timeout_s).close()
        return True
    except OSError:
        return False


def gui_preflight(command: str = "audio-style gui", env: Mapping[str, str] | None = None) -> int:
    """Before ``audio-style gui`` imports Qt: 0 when a window can open; else one line on
    stderr and the exit status (1). A window can open when one of the platforms with a display
    has all its libraries; if none has, what they lack is installed when allowed (root)."""
    env = os.environ if env is None else env
    problem = display_problem(env)
    if problem is not None:
        err = AudioStyleError(ErrorCode.NO_DISPLAY, reason=problem, command=command)
        print(err.one_line(), file=sys.stderr, flush=True)
        return 1
    names = gui_platforms(env)
    if any(not check([n], audio=False) for n in names):
        return 0
    window = check(names, audio=False)
    if may_install(env) and packages_of(window):
        install(packages_of(window))
        window = check(names, audio=False)
    if window:
        err = AudioStyleError(
            ErrorCode.SYSTEM_LIBRARIES_MISSING,
            libraries=" ".join(m.soname for m in window),
            command=remedy(window),
        )
        print(err.one_line(), file=sys.stderr, flush=True)
        return 1
    return 0


# --- README ------------------------------------------------------------------------------------


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        text,
        width,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    )


def readme_section(width: int = 99) -> str:
    """README's system-package list (between its ``sysdeps`` markers), from :data:`PACKAGES`."""

    def names(need: str) -> str:
        return ", ".join(f"`{p.name}`" for p in PACKAGES if p.need == need)

    items = [
        "Desktop window (Qt's xcb and Wayland platform plugins and the Qt libraries of PySide6's"
        " wheel): " + names(WINDOW) + ".",
        "Audio preview (PortAudio for python-sounddevice; without it the app opens and says that"
        " preview is unavailable): " + names(AUDIO) + ".",
    ]
    items += [f"`{p.name}`: {p.purpose}." for p in PACKAGES if p.need == EXTRA]
    lines = [line for i in items for line in _wrap(i, width, "- ", "  ")]
    every = " ".join(install_command([p.name for p in PACKAGES], root=False))
    command = _wrap(every, width - 2, "    ", "      ")
    lines += ["", "All of them at once (Debian 12, Ubuntu 22.04 and later):", ""]
    lines += [c + " \\" for c in command[:-1]] + command[-1:]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.sysdeps", description=__doc__)
    parser.add_argument(
        "--install", action="store_true", help="install what is missing when allowed"
    )
    parser.add_argument("--readme", action="store_true", help="print README's package list")
    args = parser.parse_args(argv)
    if args.readme:
        print(readme_section())
        return 0
    if args.install:
        ensure()
    elif missing := check(setup_platforms(os.environ)):
        report(missing)
    return 0  # the CLI, make demo and make test work without them: never fail make setup


if __name__ == "__main__":
    sys.exit(main())
