"""Session handling against a real embedded server (no worker: jobs stay queued, which makes a
"long job" free): access tokens expiring mid-job, revoked and reused refresh tokens, the
keyring and its 0600 file fallback, an unreachable server, cancel from the engine-style
generator."""

from __future__ import annotations

import json
import logging
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cloud.client import CloudClient, PollPolicy, match_in_cloud
from cloud.tokens import MemoryStore
from engine.progress import CancelToken
from engine.schema.errors import AudioStyleError, ErrorCode
from tests.cloud.conftest import (
    CloudHome,
    Served,
    assert_no_secrets,
    bound_socket,
    memory_keyring,
    run_cli,
    served,
)
from tests.server.conftest import PASSWORD

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Embedded server without workers; access tokens live 3 s (2-3 s: JWT times are whole
    seconds) and the server allows no leeway, so they really expire while a job waits."""
    import server.auth

    mp = pytest.MonkeyPatch()
    mp.setattr(server.auth, "LEEWAY_S", 0)
    try:
        with served(tmp_path_factory.mktemp("idle"), workers=0, ACCESS_TOKEN_TTL_S="3") as srv:
            yield srv
    finally:
        mp.undo()


def _client(srv: Served, name: str, **kw: object) -> CloudClient:
    c = CloudClient(srv.url, store=MemoryStore(), poll=PollPolicy(0.2, 1.5, 0.5), **kw)  # type: ignore[arg-type]
    c.login(srv.user(name), PASSWORD)
    return c


def test_access_token_expires_during_a_long_job(
    idle: Served, cloud_audio: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Refresh only on 401 (margin 0): the token expires between polls of a queued job; every
    poll still succeeds, each 401 costs one refresh; then cancel. With the default margin the
    token is renewed before it expires: no 401 round trips."""
    caplog.set_level(logging.DEBUG)
    with _client(idle, "expiry", refresh_margin_s=0) as c:
        keys = c.upload([cloud_audio / "song.wav", cloud_audio / "ref.wav"])
        acc = c.submit(keys[:1], keys[1:])
        # tokens live 2-3 s from the login; polls start every 0.4 s until ``end``, so the last
        # one starts at least 3.2 s after the login, past the expiry however fast the upload
        # and submit were (a 3.2 s window let the last poll land just before it)
        end = time.monotonic() + 3.6
        states = set()
        while time.monotonic() < end:
            states.add(c.job(acc.id).state.value)
            time.sleep(0.4)
        assert states == {"queued"}
        assert c.stats.unauthorized_retries >= 1
        assert c.stats.refreshes == c.stats.unauthorized_retries
        assert c.cancel(acc.id).state == "canceled"
    with _client(idle, "expiry") as c:
        acc = c.submit(keys[:1], keys[1:])
        for _ in range(5):  # renewed 1.4 s after each refresh
            c.job(acc.id)
            time.sleep(0.4)
        assert c.stats.refreshes >= 1 and c.stats.unauthorized_retries == 0
        c.cancel(acc.id)


def test_revoked_refresh_token_sends_the_user_back_to_login(
    idle: Served, cloud_home: CloudHome, capsys: pytest.CaptureFixture[str]
) -> None:
    user = idle.user("revoked")
    r = run_cli(
        capsys, "cloud", "login", "--server", idle.url, "--username", user, "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert r.rc == 0, r.err
    assert "no system keyring" in r.err  # said once, at login
    token_file = cloud_home.config / "refresh-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    r = run_cli(capsys, "cloud", "list")
    assert r.rc == 0 and "no system keyring" not in r.err

    # the session is revoked elsewhere (logout on another device = the token family dies)
    token = json.loads(token_file.read_text())["refresh_token"]
    assert httpx.post(f"{idle.url}/auth/logout", data={"refresh_token": token}).status_code == 204
    r = run_cli(capsys, "cloud", "list")
    assert r.rc == 2
    assert r.err == "error E510: Your session has ended; please log in again\n"
    assert not token_file.exists()  # a dead token is not kept
    r = run_cli(capsys, "--lang", "zh", "cloud", "list")
    assert r.rc == 2 and r.err.startswith("错误 E501")

    # a stolen token: the thief refreshes first, the user's next refresh is a reuse -> revoked
    r = run_cli(
        capsys, "cloud", "login", "--server", idle.url, "--username", user, "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert r.rc == 0
    token = json.loads(token_file.read_text())["refresh_token"]
    thief = httpx.post(
        f"{idle.url}/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )
    assert thief.status_code == 200
    r = run_cli(capsys, "--lang", "zh", "cloud", "list")
    assert r.rc == 2 and r.err == "错误 E510: 会话已失效，请重新登录\n"
    again = httpx.post(
        f"{idle.url}/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": thief.json()["refresh_token"]},
    )
    assert again.status_code == 401  # the whole family is gone: the thief is out too


def test_keyring_holds_the_refresh_token_when_there_is_one(
    idle: Served, cloud_home: CloudHome, token_spy: list[str]
) -> None:
    import keyring

    kr = memory_keyring()
    keyring.set_keyring(kr)  # cloud_home restores the fail backend afterwards
    user = idle.user("keyring")
    notices: list[str] = []
    with CloudClient(idle.url, username=user, on_notice=notices.append) as c:
        c.login(user, PASSWORD)
        c.jobs()
    (stored,) = kr.items.values()
    assert stored == token_spy[-1]
    assert not notices
    assert not (cloud_home.config / "refresh-token").exists()
    with CloudClient(idle.url, username=user) as c:  # a new process: session from the keyring
        assert c.jobs().items == []
        c.logout()
    assert kr.items == {}
    assert_no_secrets(sorted(set(token_spy)), logs="", files=cloud_home.files())


def test_wrong_password_and_bad_input_are_one_line_errors(
    idle: Served, cloud_home: CloudHome, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    user = idle.user("typo")
    r = run_cli(
        capsys, "cloud", "login", "--server", idle.url, "--username", user, "--password-stdin",
        stdin="wrong password\n",
    )  # fmt: skip
    assert (r.rc, r.err) == (2, "error E514: Wrong user name or password\n")
    assert not (cloud_home.config / "cloud.json").exists()
    r = run_cli(
        capsys, "cloud", "login", "--server", idle.url, "--username", user, "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert r.rc == 0
    r = run_cli(capsys, "cloud", "submit", str(tmp_path / "nope.wav"), "-r", str(tmp_path / "x"))
    assert r.rc == 2 and r.err.startswith("error E101: File not found") and r.err.count("\n") == 1
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    r = run_cli(capsys, "cloud", "submit", str(tmp_path / "a.wav"), "-r", str(tmp_path / "a.wav"),
                "--amount", "150")  # fmt: skip
    assert r.rc == 2 and r.err.startswith("error E301: Invalid option --amount")
    (tmp_path / "notes.txt").write_text("not audio")
    r = run_cli(
        capsys, "cloud", "submit", str(tmp_path / "notes.txt"), "-r", str(tmp_path / "a.wav")
    )
    assert r.rc == 2 and r.err.startswith("error E506"), r.err
    r = run_cli(capsys, "cloud", "status", "no-such-job")
    assert (r.rc, r.err) == (2, "error E503: Not found\n")


def test_server_unreachable_one_line_exit_2(
    cloud_home: CloudHome, tmp_path: Path, cloud_audio: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real console script: a closed port -> ``error E509: ...`` alone on stderr, exit 2,
    and nothing the user had is touched (inputs, settings, no partial output)."""
    sock = bound_socket()  # bound, never listening: connection refused
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {
        "AUDIO_STYLE_CONFIG_DIR": str(cloud_home.config),
        "AUDIO_STYLE_LANG": "en",
        "PATH": str(ROOT / ".venv" / "bin") + ":/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "TMPDIR": str(cloud_home.tmp),
        "HOME": str(tmp_path),
    }
    exe = [sys.executable, "-m", "engine.cli"]
    p = subprocess.run(
        [*exe, "cloud", "login", "--server", url, "--username", "u", "--password-stdin"],
        input="pw\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )  # fmt: skip  (the retries give up: a bounded number of attempts, cloud/http.py)
    assert p.returncode == 2, p.stderr
    assert p.stderr == f"error E509: Server unreachable: {url}\n"

    # logged in earlier, the server is gone now: submit fails the same way, output untouched
    from cloud.config import CloudSettings

    CloudSettings(server=url, username="u").save(cloud_home.config)
    token = json.dumps({"account": f"u@{url}", "refresh_token": "x" * 20})
    (cloud_home.config / "refresh-token").write_text(token)
    before = (cloud_audio / "song.wav").read_bytes()
    out = tmp_path / "out.wav"
    r = run_cli(
        capsys, "--lang", "zh", "cloud", "submit", str(cloud_audio / "song.wav"), "-r",
        str(cloud_audio / "ref.wav"), "--wait", "-o", str(out),
    )  # fmt: skip
    assert r.rc == 2
    assert r.err == f"错误 E509: 无法连接服务器：{url}\n"
    assert (cloud_audio / "song.wav").read_bytes() == before
    assert not out.exists() and not list(tmp_path.glob(".out.wav*"))
    assert (cloud_home.config / "refresh-token").read_text() == token  # survives an outage
    sock.close()


def test_match_in_cloud_generator_cancel(idle: Served, cloud_audio: Path, tmp_path: Path) -> None:
    """The desktop path: drive the generator until the job is queued, cancel -> CANCELED, and
    the job is canceled on the server too."""
    with _client(idle, "gen") as c:
        token = CancelToken()
        gen = match_in_cloud(
            c, [cloud_audio / "song.wav"], [cloud_audio / "ref.wav"], tmp_path / "o.wav",
            cancel=token,
        )  # fmt: skip
        stages = []
        with pytest.raises(AudioStyleError) as ei:
            for p in gen:
                stages.append(p.stage)
                if p.stage == "queued":
                    token.cancel()
        assert ei.value.code == ErrorCode.CANCELED
        assert stages[0] == "upload" and "queued" in stages
        job = c.jobs(limit=1).items[0]
        assert job.state == "canceled"
        assert not (tmp_path / "o.wav").exists()


def test_expired_upload_grant_is_renewed(
    tmp_path: Path, cloud_audio: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signed upload URLs that expire before the transfer starts (a slow start, a laptop
    waking up): the client asks for a new grant and sends the file under it."""
    import cloud.transfer

    real = cloud.transfer.upload_signed
    calls: list[str] = []

    def slow_first(*a: object, **kw: object) -> None:
        calls.append("put")
        if len(calls) == 1:
            time.sleep(2.2)  # the grant lives 1-2 s
        real(*a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cloud.transfer, "upload_signed", slow_first)
    with (
        served(tmp_path, workers=0, UPLOAD_TTL_S="2") as srv,
        CloudClient(srv.url, store=MemoryStore()) as c,
    ):
        c.login(srv.user("slow"), PASSWORD)
        (key,) = c.upload([cloud_audio / "mono.wav"])
        assert len(calls) == 2
        storage = srv.stack.core.storage
        assert (
            storage.get_bytes(storage.bucket_audio, key) == (cloud_audio / "mono.wav").read_bytes()
        )
