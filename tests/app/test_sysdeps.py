"""System libraries of the desktop app (app/sysdeps.py) and starting it on a real X server.

The check runs against the real PySide6 plugin and modules of this environment; the window
test starts ``audio-style gui`` under Xvfb (the xcb platform, as ``make run`` does), the
no-display test without any display.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from app import sysdeps

ROOT = Path(__file__).resolve().parents[2]
REQUIRE = os.environ.get("REQUIRE_SERVICES") == "1"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


def _qt() -> Path:
    qt = sysdeps.pyside_dir()
    assert qt is not None and (qt / "Qt" / "plugins" / "platforms" / "libqxcb.so").is_file()
    return qt


def elf_needed(path: Path) -> list[str]:
    """The DT_NEEDED sonames of a 64-bit little-endian ELF file (what ``ldd`` starts from)."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, path
    phoff, phentsize, phnum = (
        struct.unpack_from("<Q", data, 0x20)[0],
        *struct.unpack_from("<HH", data, 0x36),
    )
    loads, dynamic = [], None
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize
        )
        if p_type == 1:  # PT_LOAD: maps file offsets to addresses
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == 2:  # PT_DYNAMIC
            dynamic = (p_offset, p_filesz)
    assert dynamic is not None, path
    entries = [struct.unpack_from("<qQ", data, dynamic[0] + o) for o in range(0, dynamic[1], 16)]
    strtab = next(v for tag, v in entries if tag == 5)  # DT_STRTAB (an address)
    base = next(off + strtab - va for va, off, size in loads if va <= strtab < va + size)
    names = []
    for tag, value in entries:
        if tag == 1:  # DT_NEEDED: offset into the string table
            start = base + value
            names.append(data[start : data.index(b"\0", start)].decode())
    return names


def system_sonames(
    qt: Path, names: tuple[str, ...] = ("xcb", "wayland", "offscreen")
) -> dict[str, str]:
    """Every soname outside PySide6's wheel that the app's Qt pieces need directly or through
    the wheel's own libraries: ``{soname: first file needing it}``."""
    bundle = [qt / "Qt" / "lib", qt, qt.parent / "shiboken6"]
    todo = [*sysdeps.qt_targets(qt, names)]
    plugins = len(names) + sum(len(sysdeps.PLATFORM_PLUGINS.get(n, ())) for n in names)
    assert len(todo) == plugins + len(sysdeps.QT_MODULES) + len(sysdeps.QT_PLUGINS)  # all there
    seen: set[Path] = set()
    out: dict[str, str] = {}
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        for so in elf_needed(f):
            inside = next((d / so for d in bundle if (d / so).is_file()), None)
            if inside is not None:
                todo.append(inside.resolve())
            else:
                out.setdefault(so, f.name)
    return out


def test_parse_ldd_finds_the_not_found_lines() -> None:
    output = (
        "/x/libqxcb.so:\n"
        "\tlinux-vdso.so.1 (0x00007ffd)\n"
        "\tlibxcb-icccm.so.4 => not found\n"
        "\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f70)\n"
        "\tlibxcb-keysyms.so.1 => not found\n"
        "/y/QtGui.abi3.so:\n"
        "\tlibxcb-icccm.so.4 => not found\n"
        "\t/lib64/ld-linux-x86-64.so.2 (0x00007f70)\n"
    )
    assert sysdeps.parse_ldd(output) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert sysdeps.parse_ldd("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


@linux_only
def test_elf_reader_agrees_with_ldd() -> None:
    plugin = _qt() / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    needed = elf_needed(plugin)
    assert "libxcb.so.1" in needed and "libQt6XcbQpa.so.6" in needed
    ldd = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
    assert all(so in ldd for so in needed)


@linux_only
def test_every_library_the_real_plugin_lacks_is_mapped_to_a_package() -> None:
    qt = _qt()
    targets = sysdeps.qt_targets(qt, ["xcb"])
    assert targets[0].name == "libqxcb.so" and len(targets) >= 4
    missing = sysdeps.check(sysdeps.setup_platforms(os.environ))
    unmapped = [m.soname for m in missing if m.package is None]
    assert not unmapped, f"add these sonames to app/sysdeps.py's PACKAGES: {unmapped}"
    for m in missing:  # whatever this machine lacks, the check names the package for it
        assert sysdeps.PACKAGE_OF[m.soname].name == m.package


@linux_only
def test_the_table_covers_every_system_library_qt_links() -> None:
    """Independent of what this machine has installed: every soname that the plugin, the Qt
    modules and the wheel's Qt libraries need from the system has a package."""
    needed = system_sonames(_qt())
    for must in (
        "libxcb-icccm.so.4",
        "libxcb-keysyms.so.1",
        "libxcb-cursor.so.0",
        "libwayland-client.so.0",
    ):
        assert must in needed  # what the machine lacked: found from the libraries
    unmapped = {so: f for so, f in needed.items() if so not in sysdeps.PACKAGE_OF}
    assert not unmapped, f"add these sonames to app/sysdeps.py's PACKAGES: {unmapped}"
    portaudio = sysdeps.library_path("libportaudio.so.2")
    if portaudio is not None:
        assert set(elf_needed(portaudio)) <= set(sysdeps.PACKAGE_OF)


@linux_only
def test_dlopened_libraries_are_looked_up_as_dlopen_does() -> None:
    assert sysdeps.loadable("libc.so.6")
    assert not sysdeps.loadable("libaudio-style-surely-absent.so.9")


def test_missing_libraries_become_one_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sysdeps, "ldd_missing", lambda files: ["libxcb-icccm.so.4", "libfoo.so.9"])
    monkeypatch.setattr(sysdeps, "portaudio_missing", lambda: ["libportaudio.so.2"])
    monkeypatch.setattr(sysdeps, "loadable", lambda soname: False)  # no libxcb-cursor either
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(sysdeps, "pyside_dir", lambda: Path("/nowhere"))
    missing = sysdeps.check(["xcb"])
    assert {(m.soname, m.need, m.package) for m in missing} == {
        ("libxcb-icccm.so.4", sysdeps.WINDOW, "libxcb-icccm4"),
        ("libxcb-cursor.so.0", sysdeps.WINDOW, "libxcb-cursor0"),
        ("libfoo.so.9", sysdeps.WINDOW, None),
        ("libportaudio.so.2", sysdeps.AUDIO, "libportaudio2"),
    }
    # table order, one command
    assert sysdeps.packages_of(missing) == ["libxcb-icccm4", "libxcb-cursor0", "libportaudio2"]
    assert sysdeps.install_command(["a", "b"], root=False) == [
        "sudo", "apt-get", "install", "-y", "--no-install-recommends", "a", "b",
    ]  # fmt: skip
    monkeypatch.setenv("AUDIO_STYLE_LANG", "en")
    sysdeps.report(missing)
    err = capsys.readouterr().err.splitlines()
    assert (
        err[0] == "audio-style: missing system packages: libxcb-icccm4 libxcb-cursor0 libportaudio2"
    )
    assert "libfoo.so.9" in err[1]
    assert "apt-get install -y --no-install-recommends libxcb-icccm4" in err[2]
    assert "the desktop window cannot open" in err[3] and "make demo" in err[3]


def test_installing_is_opt_in_for_non_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sysdeps, "is_root", lambda: False)
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    assert not sysdeps.may_install({})
    assert sysdeps.may_install({"AUDIO_STYLE_SUDO": "1"})
    monkeypatch.setattr(sysdeps, "is_root", lambda: True)
    assert sysdeps.may_install({})
    assert not sysdeps.may_install({"AUDIO_STYLE_NO_INSTALL": "1"})


def test_readme_lists_the_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    begin = readme.index("<!-- sysdeps:")
    block = readme[readme.index("\n", begin) + 1 : readme.index("<!-- /sysdeps -->")]
    assert block.rstrip("\n") == sysdeps.readme_section(), (
        "README's system packages differ from app/sysdeps.py: python -m app.sysdeps --readme"
    )
    for p in sysdeps.PACKAGES:
        assert f"`{p.name}`" in block


# --- display -----------------------------------------------------------------------------------


@pytest.fixture
def fake_x_server() -> Iterator[str]:
    """Something listening on an abstract X socket (``:N``), as an X server does."""
    for num in range(7300, 7400):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.bind(f"\0/tmp/.X11-unix/X{num}")
        except OSError:
            s.close()
            continue
        s.listen(4)
        try:
            yield f":{num}"
        finally:
            s.close()
        return
    pytest.skip("no free abstract X socket name")


@linux_only
def test_display_problem(monkeypatch: pytest.MonkeyPatch, fake_x_server: str) -> None:
    monkeypatch.setenv("AUDIO_STYLE_LANG", "en")
    assert "DISPLAY and WAYLAND_DISPLAY are not set" in (sysdeps.display_problem({}) or "")
    for headless in ("offscreen", "minimal", "vnc:size=800x600"):
        assert sysdeps.display_problem({"QT_QPA_PLATFORM": headless}) is None
    assert sysdeps.display_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None
    assert sysdeps.display_problem({"DISPLAY": fake_x_server}) is None
    assert sysdeps.display_problem({"DISPLAY": f"{fake_x_server}.0"}) is None
    dead = sysdeps.display_problem({"DISPLAY": ":7999"})
    assert dead is not None and "DISPLAY=:7999" in dead
    only_wayland = {"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}
    assert "DISPLAY is not set" in (sysdeps.display_problem(only_wayland) or "")
    assert "WAYLAND_DISPLAY is not set" in (
        sysdeps.display_problem({"QT_QPA_PLATFORM": "wayland"}) or ""
    )
    # which platforms could show the window
    assert sysdeps.gui_platforms({"DISPLAY": fake_x_server}) == ["xcb"]
    both = {"DISPLAY": fake_x_server, "WAYLAND_DISPLAY": "wayland-0"}
    assert sysdeps.gui_platforms(both) == ["wayland", "xcb"]
    assert sysdeps.gui_platforms({"DISPLAY": ":7999", "WAYLAND_DISPLAY": "w"}) == ["wayland"]
    assert sysdeps.gui_platforms({**both, "QT_QPA_PLATFORM": "xcb"}) == ["xcb"]
    assert sysdeps.setup_platforms({}) == ["xcb"]
    assert sysdeps.setup_platforms({"QT_QPA_PLATFORM": "offscreen"}) == ["xcb", "offscreen"]


def test_the_window_needs_one_complete_platform(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fake_x_server: str
) -> None:
    """A Wayland session whose xcb libraries are missing still opens the window; when every
    platform with a display lacks something, one E405 line names the command."""
    lacks = {"xcb": [sysdeps.Missing("libxcb-icccm.so.4", sysdeps.WINDOW, "libxcb-icccm4")]}

    def fake_check(names: Sequence[str], audio: bool = True) -> list[sysdeps.Missing]:
        return [m for n in names for m in lacks.get(n, [])]

    monkeypatch.setattr(sysdeps, "check", fake_check)
    monkeypatch.setattr(sysdeps, "is_root", lambda: False)
    monkeypatch.setenv("AUDIO_STYLE_LANG", "en")
    both = {"DISPLAY": fake_x_server, "WAYLAND_DISPLAY": "wayland-0"}
    assert sysdeps.gui_preflight(env=both) == 0
    assert capsys.readouterr().err == ""
    assert sysdeps.gui_preflight(env={"DISPLAY": fake_x_server}) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error E405: ") and "libxcb-icccm.so.4" in err[0]
    assert "sudo apt-get install -y --no-install-recommends libxcb-icccm4" in err[0]


def _gui(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("audio-style")
    return [str(script), *args] if script.is_file() else [sys.executable, "-m", "engine.cli", *args]


@linux_only
def test_gui_without_a_display_says_so_in_one_line(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "AUDIO_STYLE_LAUNCHER")
    }
    env.update(HOME=str(tmp_path), AUDIO_STYLE_LANG="en", AUDIO_STYLE_NO_INSTALL="1")
    for launcher, hint in (
        (None, "xvfb-run -a audio-style gui"),
        ("make run", "xvfb-run -a make run"),
    ):
        if launcher:
            env["AUDIO_STYLE_LAUNCHER"] = launcher
        r = subprocess.run(
            _gui("gui"), env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
        lines = (r.stdout + r.stderr).strip().splitlines()
        assert r.returncode == 1, r
        assert len(lines) == 1 and lines[0].startswith("error E404: No display"), lines
        assert hint in lines[0] and "desktop session" in lines[0]


@pytest.fixture
def xvfb() -> Iterator[str]:
    """A fresh Xvfb (it picks a free display itself: ``-displayfd``, no race with other X
    servers on this machine); its ``DISPLAY``."""
    missing = [t for t in ("Xvfb", "xwininfo") if shutil.which(t) is None]
    if missing:
        msg = f"{' and '.join(missing)} not installed (apt-get install xvfb xauth x11-utils)"
        if REQUIRE:
            pytest.fail(msg + " (REQUIRE_SERVICES=1)")
        pytest.skip(msg)
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as ready:  # the display number, once the server accepts clients
            ready_r, _, _ = select.select([ready], [], [], 120)
            number = ready.readline().strip() if ready_r else ""
        assert number.isdigit(), "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(30)


def main_window(display: str) -> tuple[str, str] | None:
    """``(window id, xwininfo -id output)`` of the app's main window once it is mapped."""

    def xwininfo(*args: str) -> str:
        cmd = ["xwininfo", "-display", display, *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout

    # xwininfo quotes window names: the main window's title starts with "audio-style"
    for m in re.finditer(r'^\s*(0x[0-9a-f]+) "audio-style', xwininfo("-root", "-tree"), re.M):
        info = xwininfo("-id", m.group(1))
        if "Map State: IsViewable" in info:
            return m.group(1), info
    return None


@linux_only
def test_the_app_opens_its_window_under_xvfb(xvfb: str, tmp_path: Path) -> None:
    """``audio-style gui`` (make run's path: the pre-Qt check, then Qt on the xcb platform, not
    offscreen) on an X server; the server lists the app's main window as mapped."""
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(
        DISPLAY=xvfb,
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / ".config"),
        AUDIO_STYLE_LANG="en",
        AUDIO_STYLE_NO_INSTALL="1",  # a missing library fails the test instead of apt-get
    )
    log = tmp_path / "app.log"
    with log.open("w") as out:
        app = subprocess.Popen(_gui("gui"), env=env, stdout=out, stderr=subprocess.STDOUT)
    found = None
    try:
        deadline = time.monotonic() + 240  # generous: a busy machine starts Qt slowly
        while app.poll() is None and time.monotonic() < deadline and found is None:
            found = main_window(xvfb)
            time.sleep(0.2 if found else 0.5)
    finally:
        app.terminate()
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
    output = log.read_text()
    assert found is not None, f"no audio-style window (exit status {app.returncode}):\n{output}"
    width, height = (int(v) for v in re.findall(r"(?:Width|Height): (\d+)", found[1]))
    assert width >= 640 and height >= 400, found[1]
    assert "qt.qpa" not in output and "E40" not in output, output
