"""Settings are declared once (server/config.py): loading, the environment of child processes,
docs/configuration.md and the deployment's .env example all agree with the declarations."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from server.config import (
    Settings,
    configuration_markdown,
    declared,
    env_for,
    load_settings,
    settings_env,
    variables,
)
from tests.server.conftest import ROOT

# how the values came about, not settings: a child process has both configured
NOT_SETTINGS = {"jwt_secret_configured", "public_url_configured"}


def test_the_committed_table_is_the_generated_one() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == configuration_markdown(), "run: python -m server.config"


def test_every_field_is_a_declared_variable_in_the_table() -> None:
    names = [f.name for f in dataclasses.fields(Settings) if f.name not in NOT_SETTINGS]
    assert names == [f.name for f, _ in declared()]
    table = configuration_markdown()
    for name in variables():
        assert f"| `{name}` |" in table, name


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"QUEUE_URL": "amqp://u:p@mq:5672/", "DB_URL": "postgres://u:p@db/audio"},
        {
            "S3_ENDPOINT": "http://cos.ap-shanghai.myqcloud.com/",
            "COS_IP": "127.0.0.1",
            "COS_PORT": "9000",
            "ENABLE_GPU": "yes",
            "APP_ADMINS": "a,b",
            "LOGIN_LIMIT_ACCOUNT": "",
            "PUBLIC_URL": "https://api.example.com/",
            "CHUNK_ENABLED": "off",
            "LEASE_S": "7.5",
        },
    ],
)
def test_settings_env_reproduces_the_settings(env: dict[str, str], tmp_path: Path) -> None:
    s = load_settings(tmp_path, env=env, persist_secret=False)
    again = load_settings(None, env=settings_env(s), persist_secret=False)
    for f in dataclasses.fields(Settings):
        if f.name not in NOT_SETTINGS:
            assert getattr(again, f.name) == getattr(s, f.name), f.name


def test_derived_defaults_and_types(tmp_path: Path) -> None:
    emb = load_settings(tmp_path, env={}, persist_secret=False)
    assert emb.embedded and emb.rate_limit_user_per_min == 0 and emb.storage_backend == "local"
    assert emb.metrics_host == "127.0.0.1" and emb.scheduler_metrics_port == 0
    assert not emb.enable_gpu and emb.console_dir is None and emb.admins == ""
    env = {
        "QUEUE_URL": "amqp://x",
        "S3_ENDPOINT": "http://minio:9000",
        "STORAGE_BACKEND": "",  # empty: unset, derived
        "SCHEDULER_METRICS_PORT": "9465",
        "ENABLE_GPU": "true",
        "COS_PORT": "",
        "LOGIN_LIMIT_ADDRESS": "",  # empty is a value here: no limit
    }
    full = load_settings(tmp_path, env=env, persist_secret=False)
    assert full.rate_limit_user_per_min == 600 and full.rate_limit_auth_per_min == 30
    assert full.storage_backend == "s3" and full.cos_scheme == "http" and full.cos_port is None
    assert full.scheduler_metrics_port == 9465 and full.enable_gpu
    assert full.login_limit_address == "" and full.login_limit_account.startswith("5/minute")
    assert full.extra["ENABLE_GPU"] == "true"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LEASE_S", "soon"),
        ("MAX_ATTEMPTS", "2.5"),
        ("ENABLE_GPU", "maybe"),
        ("STORAGE_BACKEND", "ftp"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=name):
        load_settings(tmp_path, env={name: value}, persist_secret=False)


def test_env_for_knows_only_declared_fields() -> None:
    assert env_for(lease_s=3, chunk_enabled=False) == {"LEASE_S": "3", "CHUNK_ENABLED": "false"}
    with pytest.raises(KeyError):
        env_for(lease=3)


def _environment_reads(tree: ast.AST) -> list[int]:
    """Lines of ``os.environ.get``/``os.getenv``/``os.environ[...]`` reads."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            f = node.func
            if f.attr == "getenv" or (
                f.attr == "get" and isinstance(f.value, ast.Attribute) and f.value.attr == "environ"
            ):
                lines.append(node.lineno)
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "environ"
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_settings_read_the_environment() -> None:
    """Every server variable goes through server/config.py: no other server module reads one."""
    found = []
    for path in sorted((ROOT / "server").rglob("*.py")):
        if path.name == "config.py" and path.parent.name == "server":
            continue
        for line in _environment_reads(ast.parse(path.read_text(encoding="utf-8"))):
            found.append(f"{path.relative_to(ROOT)}:{line}")
    assert not found, found


def test_the_deployment_example_sets_only_declared_variables() -> None:
    """deploy/.env.example: every variable the application reads is declared (a misspelt one
    would be ignored silently); the compose-only and container-bootstrap ones are not."""
    text = (ROOT / "deploy" / ".env.example").read_text(encoding="utf-8")
    app_part = text.split("# docker-compose.yml only", 1)[0]
    names = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", app_part, re.M))
    bootstrap = {n for n in names if n.startswith(("POSTGRES_", "MINIO_ROOT_"))}
    assert names - bootstrap - variables() == set()
    assert {"DB_URL", "QUEUE_URL", "S3_ENDPOINT", "ENABLE_GPU"} <= names
