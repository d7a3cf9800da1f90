"""The smaller items of the hardening issue: production secrets, metrics address and start-up
lines, account commands, where ``.env`` comes from, declared upload sizes held by the grant,
and job errors without server paths."""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from server.cli import main
from server.config import load_settings
from server.prodcheck import prod_problems
from tests.server.conftest import (
    PASSWORD,
    MotoServer,
    Proc,
    Stack,
    bucket_prefix,
    length_bomb_wav,
    make_settings,
    s3_env,
    wait_for,
)
from tests.server.hardening import free_port

# --- APP_ENV=prod -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("change-me-long-random-secret", "placeholder"),
        ("q" * 48, "not random enough"),
        ("ab" * 24, "not random enough"),
        ("short-but-random-Q2", "fewer than 32"),
    ],
)
def test_prod_refuses_placeholder_and_low_entropy_secrets(
    secret: str, why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    env = {"APP_ENV": "prod", "JWT_SECRET": secret, "QUEUE_URL": "amqp://u:p@127.0.0.1:1/"}
    s = load_settings(tmp_path, env=env, persist_secret=False)
    assert any(why in p for p in prod_problems(s)), prod_problems(s)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for cmd in (["server"], ["worker"], ["scheduler"]):  # refused before connecting anywhere
        assert main([*cmd, "--data-dir", str(tmp_path)]) == 2
        assert why in capsys.readouterr().err
    good = load_settings(tmp_path, env={**env, "JWT_SECRET": secrets.token_urlsafe(48)})
    assert prod_problems(good) == []
    assert prod_problems(load_settings(tmp_path, env={"JWT_SECRET": "change-me"})) == []  # dev


# --- worker / scheduler metrics and start-up lines -----------------------------------------------


def _listens_only_on_loopback_1(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    try:
        with socket.create_connection(("127.0.0.2", port), timeout=2):
            return False
    except OSError:
        return True


@pytest.mark.parametrize("role", ["worker", "scheduler"])
def test_metrics_host_and_start_up_line(
    role: str,
    pg_url: str,
    amqp_url: str,
    queue_name: str,
    moto: MotoServer,
    tmp_path: Path,
) -> None:
    env = {"DB_URL": pg_url, "QUEUE_URL": amqp_url, "QUEUE_NAME": queue_name}
    settings = make_settings(tmp_path / "data", **env, **s3_env(moto, bucket_prefix()))
    port = free_port()
    args = [role, "--data-dir", str(settings.data_dir), "--metrics-port", str(port)]
    p = Proc([*args, "--metrics-host", "127.0.0.1"], settings, tmp_path / f"{role}.log")
    try:
        line = wait_for(
            lambda: next(
                (ln for ln in p.tail(50).splitlines() if f"{role}" in ln and "metrics" in ln), None
            ),
            60,
            f"the {role}'s start-up line",
        )
        assert f"queue {queue_name}" in line and f"http://127.0.0.1:{port}/metrics" in line, line
        assert "guest:guest" not in line  # the broker password is not logged
        if role == "worker":
            assert "concurrency 1" in line and "storage s3" in line, line
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
        assert _listens_only_on_loopback_1(port)
    finally:
        p.stop()


# --- users ----------------------------------------------------------------------------------------


def _users(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, data: Path, *args: str, stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    rc = main(["users", *args, "--data-dir", str(data)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_users_list_disable_enable_set_password_delete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from server.auth import AuthError, authenticate
    from server.db.session import Database

    data = tmp_path / "data"
    for k in ("DB_URL", "QUEUE_URL", "AUDIO_STYLE_ENV_FILE"):
        monkeypatch.delenv(k, raising=False)
    rc, out, err = _users(
        monkeypatch, capsys, data, "add", "ann", "--password-stdin", stdin=PASSWORD
    )
    assert rc == 0 and "warning: no server database" in err  # a data dir no server has used
    rc, out, err = _users(
        monkeypatch, capsys, data, "add", "bob", "--password-stdin", stdin=PASSWORD
    )
    assert rc == 0 and "warning" not in err  # now there is one
    db = Database(f"sqlite:///{data / 'audio-style.db'}")

    def login(name: str, password: str = PASSWORD) -> str:
        with db.session() as s:
            try:
                authenticate(s, name, password)
                return "ok"
            except AuthError as e:
                return e.reason

    rc, out, _ = _users(monkeypatch, capsys, data, "list")
    rows = [ln.split("\t") for ln in out.splitlines()]
    assert rc == 0 and [(r[0], r[3]) for r in rows] == [("ann", "enabled"), ("bob", "enabled")]
    assert _users(monkeypatch, capsys, data, "disable", "ann")[0] == 0
    assert login("ann") == "disabled" and login("bob") == "ok"
    assert "ann\t" in _users(monkeypatch, capsys, data, "list")[1]
    assert "\tdisabled" in _users(monkeypatch, capsys, data, "list")[1]
    assert _users(monkeypatch, capsys, data, "enable", "ann")[0] == 0
    assert login("ann") == "ok"
    new = "another horse battery"
    rc, *_ = _users(monkeypatch, capsys, data, "set-password", "ann", "--password-stdin", stdin=new)
    assert rc == 0 and login("ann") == "bad password" and login("ann", new) == "ok"
    assert _users(monkeypatch, capsys, data, "delete", "bob")[0] == 0
    assert login("bob") != "ok"
    assert [
        ln.split("\t")[0] for ln in _users(monkeypatch, capsys, data, "list")[1].splitlines()
    ] == ["ann"]
    rc, _, err = _users(monkeypatch, capsys, data, "disable", "nobody")
    assert rc == 1 and "no user 'nobody'" in err
    db.dispose()


def test_disabling_an_account_ends_its_sessions(
    embedded_idle: Stack, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    st = embedded_idle
    api = st.api("carol")
    refresh = api.refresh
    rc, *_ = _users(monkeypatch, capsys, st.settings.data_dir, "disable", st.logins["carol"])
    assert rc == 0
    r = st.client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}
    )
    assert r.status_code == 401 and r.json()["code"] == "E510"


# --- .env -----------------------------------------------------------------------------------------


def test_env_file_is_read_only_when_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("JWT_SECRET", "AUDIO_STYLE_ENV_FILE", "QUEUE_URL", "DB_URL"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("JWT_SECRET=from-the-working-directory\n")
    named = tmp_path / "server.env"
    named.write_text("JWT_SECRET=from-the-named-file\n")
    data = tmp_path / "data"
    assert load_settings(data, persist_secret=False).jwt_secret != "from-the-working-directory"
    assert load_settings(data, env_file=named).jwt_secret == "from-the-named-file"
    monkeypatch.setenv("AUDIO_STYLE_ENV_FILE", str(named))
    assert load_settings(data).jwt_secret == "from-the-named-file"


# --- declared upload sizes --------------------------------------------------------------------


def test_embedded_grant_holds_each_file_to_its_declared_size(embedded_idle: Stack) -> None:
    st = embedded_idle
    api = st.api("dave")
    grant = api.post("/uploads", json={"files": [{"name": "a.wav", "size": 100}]}).json()
    put = grant["files"][0]
    r = st.client.put(put["url"], content=b"RIFF" + b"\0" * 352_000)
    assert r.status_code == 413 and r.json()["code"] == "E505"
    assert st.client.put(put["url"], content=b"RIFF" + b"\0" * 96).status_code == 200


def test_s3_grant_policy_caps_each_file_at_its_declared_size(
    moto: MotoServer, tmp_path: Path
) -> None:
    st = Stack(make_settings(tmp_path / "data", **s3_env(moto, bucket_prefix())), workers=0)
    try:
        api = st.api("erin")
        files = [{"name": "a.wav", "size": 100}, {"name": "b.flac", "size": 5000}]
        grant = api.post("/uploads", json={"files": files}).json()
        for f, t in zip(files, grant["files"], strict=True):
            policy = json.loads(base64.b64decode(t["fields"]["policy"]))
            assert ["content-length-range", 1, f["size"]] in policy["conditions"]
        # (moto does not enforce POST policies; S3, MinIO and COS refuse larger bodies)
    finally:
        st.close()


# --- no server paths in what users read -------------------------------------------------------

_SERVER_PATH = re.compile(r"/(tmp|var|home|root|work|usr|opt|srv)/|/in\d\.|match-|cache/")


def _garbage_wav(path: Path) -> Path:
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + b"\xff" * 40)
    return path


def _silent(path: Path) -> Path:
    sf.write(str(path), np.zeros((44100 * 2, 2)), 44100, subtype="PCM_16")
    return path


def test_job_errors_name_the_users_files_never_server_paths(
    embedded: Stack, audio_dir: Path, tmp_path: Path
) -> None:
    st = embedded
    api = st.api("frank")
    bad_inputs = [
        length_bomb_wav(tmp_path / "bomb.wav"),
        _garbage_wav(tmp_path / "garbage.wav"),
        _silent(tmp_path / "silence.wav"),
    ]
    (ref,) = api.upload(audio_dir / "mono_ref.wav")
    seen = []
    for bad in bad_inputs:
        (key,) = api.upload(bad)
        r = api.post("/jobs", json={"targets": [key], "references": [ref]})
        if r.status_code != 202:  # refused at submit: that message is checked too
            bodies = [r.json()]
        else:
            job = r.json()["id"]
            assert api.wait(job, timeout=120)["state"] == "failed"
            bodies = [
                api.get(f"/jobs/{job}", headers={"Accept-Language": lang}).json()["error"]
                for lang in ("en", "zh")
            ]
        for b in bodies:
            seen.append((bad.name, b["code"], b["message"]))
            assert not _SERVER_PATH.search(b["message"]), b
            assert str(st.settings.data_dir) not in b["message"], b
    print("\n" + "\n".join(f"{n}: {c} {m}" for n, c, m in seen))
    assert {c for _, c, _ in seen} - {"E513"}, seen  # real failures, not request errors


def test_public_text_replaces_work_paths() -> None:
    from server.worker.public import display_name, public_params

    work = "/var/lib/audio-style/cache/work/match-8c_n1xtl/in0.wav"
    names = {work: display_name("uploads/u1/up1/0.wav")}
    params = {"path": work, "reason": f"decoder said: {work}: bad; /etc/x/y.so missing", "n": 3}
    out = public_params(params, names)
    assert out == {"path": "0.wav", "reason": "decoder said: 0.wav: bad; y.so missing", "n": 3}
