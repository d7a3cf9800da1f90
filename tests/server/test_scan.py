"""Virus scanning through a real clamd (Debian ``clamav-daemon``) started by the test with a
small local signature database: EICAR's hash (``.hdb``) and its string anywhere in a file
(``.ndb``), since signature updates cannot be downloaded in CI.

With scanning on, an EICAR upload fails its job with ``E515`` and a clean one runs; with clamd
stopped, jobs wait (``E516`` retries) and run once it is back; they never run unscanned."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf

from server.worker.scan import Clamd, Infected, ScanUnavailable
from tests.server.conftest import Stack, make_music, make_settings, unavailable, wait_for

CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"
# assembled here so that this file itself is not a test virus
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class ClamdProcess:
    """clamd as this user's process, on a socket in ``tmp``."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        db = tmp / "db"
        db.mkdir(parents=True, exist_ok=True)
        md5 = hashlib.md5(EICAR).hexdigest()  # noqa: S324 (ClamAV's .hdb format)
        (db / "eicar.hdb").write_text(f"{md5}:{len(EICAR)}:Eicar-Test-Signature\n")
        (db / "eicar.ndb").write_text(f"Eicar-Test-Signature.Embedded:0:*:{EICAR.hex()}\n")
        self.socket = tmp / "clamd.sock"
        self.conf = tmp / "clamd.conf"
        self.conf.write_text(
            f"LocalSocket {self.socket}\nForeground yes\nDatabaseDirectory {db}\n"
            f"LogFile {tmp / 'clamd.log'}\nTemporaryDirectory {tmp}\nStreamMaxLength 200M\n"
        )
        self.p: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def address(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        self.p = subprocess.Popen(
            [CLAMD, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        c = Clamd(self.address, 5)

        def up() -> bool:
            assert self.p is not None
            if self.p.poll() is not None:
                log = (self.tmp / "clamd.log").read_text(errors="replace")
                raise AssertionError(f"clamd exited: {log[-2000:]}")
            return c.ping()

        wait_for(up, 60, "clamd", interval=0.2)

    def stop(self) -> None:
        if self.p is not None and self.p.poll() is None:
            self.p.terminate()
            self.p.wait(20)
        self.socket.unlink(missing_ok=True)


@pytest.fixture
def clamd(tmp_path: Path) -> Iterator[ClamdProcess]:
    if not Path(CLAMD).exists():
        unavailable("clamd", "clamav-daemon is not installed")
    c = ClamdProcess(tmp_path / "clamd")
    yield c
    c.stop()


def infected_wav(path: Path) -> Path:
    """A valid WAV that carries the EICAR string in an extra RIFF chunk."""
    buf = io.BytesIO()
    sf.write(buf, [[0.1, -0.1]] * 44100, 44100, format="WAV", subtype="PCM_16")
    data = buf.getvalue()
    chunk = b"junk" + len(EICAR).to_bytes(4, "little") + EICAR
    whole = bytearray(data + chunk)
    whole[4:8] = (len(whole) - 8).to_bytes(4, "little")
    path.write_bytes(bytes(whole))
    return path


def test_clamd_client_verdicts(clamd: ClamdProcess, tmp_path: Path) -> None:
    c = Clamd(clamd.address, 10)
    (tmp_path / "eicar.com").write_bytes(EICAR)
    with pytest.raises(Infected, match="Eicar-Test-Signature"):
        c.scan(tmp_path / "eicar.com")  # the .hdb: EICAR's own hash
    with pytest.raises(Infected, match="Eicar-Test-Signature"):
        c.scan(infected_wav(tmp_path / "x.wav"))  # the .ndb: its string inside audio
    c.scan(make_music(tmp_path / "clean.wav", 1.0))
    clamd.stop()
    with pytest.raises(ScanUnavailable):
        c.scan(tmp_path / "eicar.com")


def test_jobs_with_scanning_on(clamd: ClamdProcess, tmp_path: Path, audio_dir: Path) -> None:
    settings = make_settings(tmp_path / "data", CLAMD_SOCKET=clamd.address, MAX_ATTEMPTS="1000")
    st = Stack(settings)
    try:
        api = st.api("gina")
        bad, ref, target = api.upload(
            infected_wav(tmp_path / "song.wav"), audio_dir / "mono_ref.wav", audio_dir / "mono.wav"
        )
        # EICAR in the target: the job fails for good, with the user's file name
        v = api.wait(api.submit([bad], [ref]).json()["id"], timeout=120)
        assert v["state"] == "failed" and v["error"]["code"] == "E515", v
        assert "Eicar-Test-Signature" in v["error"]["message"]
        assert "0.wav" in v["error"]["message"]
        # a clean job runs
        assert api.wait(api.submit([target], [ref]).json()["id"], timeout=120)["state"] == (
            "succeeded"
        )
        # clamd stopped: a new job waits (its input cannot be scanned), then runs when it is back
        clamd.stop()
        (t2,) = api.upload(make_music(tmp_path / "new.wav", 2.0, seed=9, channels=1))
        job = api.submit([t2], [ref]).json()["id"]
        time.sleep(3)
        v = api.get(f"/jobs/{job}").json()
        assert v["state"] in ("queued", "running"), v
        clamd.start()
        assert api.wait(job, timeout=120)["state"] == "succeeded"
    finally:
        st.close()


def test_scanner_down_fails_closed(clamd: ClamdProcess, tmp_path: Path, audio_dir: Path) -> None:
    clamd.stop()
    settings = make_settings(tmp_path / "data", CLAMD_SOCKET=clamd.address, MAX_ATTEMPTS="2")
    st = Stack(settings)
    try:
        api = st.api("hank")
        target, ref = api.upload(audio_dir / "mono.wav", audio_dir / "mono_ref.wav")
        v = api.wait(api.submit([target], [ref]).json()["id"], timeout=120)
        assert v["state"] == "failed" and v["error"]["code"] == "E516", v
        assert not v.get("results")
    finally:
        st.close()
