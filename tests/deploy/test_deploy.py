"""Static and behavioural checks of deploy/ (compose stack, images, locks, monitoring, TKE).

Fast: no Docker, no network. promtool (Debian's ``prometheus`` package) is needed for the alert
rule checks; without it they skip, unless REQUIRE_SERVICES=1, where they fail.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
REQ = DEPLOY / "requirements"

# Every variable named in the deployment guide (shared/seed/deployment-guide.zh.md: the `.env`
# example of section 5, the compose example of section 6 and appendix A). Copied here because
# tests must not read shared/ at run time.
GUIDE_ENV_VARS = (
    "APP_ENV",
    "JWT_SECRET",
    "DB_URL",
    "QUEUE_URL",
    "S3_ENDPOINT",
    "S3_ACCESS_KEY",
    "S3_SECRET_KEY",
    "S3_BUCKET_AUDIO",
    "S3_BUCKET_PRESET",
    "S3_BUCKET_VIZ",
    "ENABLE_GPU",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
)

BUCKETS = ("audio", "preset", "viz")
APP_SERVICES = ("api", "scheduler", "worker", "worker-gpu")
REQUIRED_SERVICES = (
    "api",
    "scheduler",
    "worker",
    "postgres",
    "rabbitmq",
    "minio",
    "minio-init",
    "nginx",
    "prometheus",
    "grafana",
)
# The metric contract with server/ (deploy/README.md, "metrics").
METRICS = (
    "audio_style_jobs_total",
    "audio_style_jobs",
    "audio_style_job_duration_seconds",
    "audio_style_render_speed_x_realtime",
    "audio_style_stft_distance_db",
    "audio_style_mel_distance_db",
    "audio_style_lufs_error_lu",
    "audio_style_true_peak_overs_total",
    "audio_style_gpu_utilization_ratio",
)
DSP_OR_GPU = {"numpy", "scipy", "soundfile", "soxr", "pyloudnorm", "onnxruntime", "onnxruntime-gpu"}
ROLES = ("api", "scheduler", "worker", "worker-gpu", "build")


def _require_services() -> bool:
    return os.environ.get("REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    svcs = compose["services"]
    assert isinstance(svcs, dict)
    return svcs


def _env_example() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value
    return out


def _lock_packages(role: str) -> dict[str, str]:
    """{normalised name: version} of a lock file."""
    pkgs: dict[str, str] = {}
    for line in (REQ / f"{role}.lock").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if m:
            pkgs[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return pkgs


def _in_names(role: str) -> set[str]:
    names: set[str] = set()
    for line in (REQ / f"{role}.in").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            names |= _in_names(line[3:].strip().removesuffix(".in"))
            continue
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        assert m, line
        names.add(re.sub(r"[-_.]+", "-", m.group(1)).lower())
    return names


# --------------------------------------------------------------------------- compose


def test_compose_parses_and_has_every_service(services: dict[str, dict[str, Any]]) -> None:
    missing = [s for s in REQUIRED_SERVICES if s not in services]
    assert not missing, f"services missing from docker-compose.yml: {missing}"


def test_every_service_has_a_working_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        hc = svc.get("healthcheck")
        assert isinstance(hc, dict), f"{name}: no healthcheck"
        assert not hc.get("disable"), f"{name}: healthcheck disabled"
        test = hc.get("test")
        assert test and test not in (["NONE"], "NONE"), f"{name}: empty healthcheck test"
        if isinstance(test, list):
            assert test[0] in ("CMD", "CMD-SHELL"), f"{name}: bad healthcheck form {test[0]}"


def test_one_shot_init_job_is_not_restarted(services: dict[str, dict[str, Any]]) -> None:
    init = services["minio-init"]
    assert init.get("restart") == "no"
    for name in APP_SERVICES:
        deps = services[name]["depends_on"]
        assert deps["minio-init"]["condition"] == "service_completed_successfully", name
        for infra in ("postgres", "rabbitmq", "minio"):
            assert deps[infra]["condition"] == "service_healthy", (name, infra)


def test_application_commands(services: dict[str, dict[str, Any]]) -> None:
    assert services["api"]["command"] == ["server", "--host", "0.0.0.0", "--port", "8080"]
    assert services["scheduler"]["command"] == ["scheduler"]
    assert services["worker"]["command"] == ["worker"]
    assert services["worker-gpu"]["command"] == ["worker"]
    for name in APP_SERVICES:
        assert services[name]["env_file"] == [".env"], name
        image = services[name]["image"]
        assert "${IMAGE_TAG" in image and "latest" not in image, (name, image)


def test_gpu_worker_reserves_gpus_from_env(services: dict[str, dict[str, Any]]) -> None:
    gpu = services["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert devices[0]["driver"] == "nvidia"
    assert str(devices[0]["count"]).startswith("${GPU_COUNT")
    assert gpu["build"]["args"]["VARIANT"] == "gpu"
    assert services["worker"]["build"]["args"]["VARIANT"] == "cpu"
    assert "profiles" not in services["worker"]


def test_infrastructure_secrets_are_blanked_in_app_containers(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in APP_SERVICES:
        env = services[name]["environment"]
        for secret in ("POSTGRES_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"):
            assert env.get(secret) == "", (name, secret)


def test_only_nginx_is_published_on_all_interfaces(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        for port in svc.get("ports", []):
            if name == "nginx":
                continue
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} publicly"
    assert set(services["nginx"]["ports"]) == {"80:80", "443:443"}


def test_rabbitmq_uses_quorum_queues_and_management() -> None:
    conf = (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text(encoding="utf-8")
    assert re.search(r"^default_queue_type\s*=\s*quorum$", conf, re.M)
    assert re.search(r"^consumer_timeout\s*=\s*\d+$", conf, re.M)
    plugins = (DEPLOY / "rabbitmq" / "enabled_plugins").read_text(encoding="utf-8")
    assert "rabbitmq_management" in plugins and "rabbitmq_prometheus" in plugins


def test_compose_variables_are_documented(compose: dict[str, Any]) -> None:
    text = (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    documented = set(_env_example())
    assert not used - documented, f"undocumented in .env.example: {sorted(used - documented)}"


def test_docker_compose_config_validates(tmp_path: Path) -> None:
    """`docker compose config` (Compose v2) where the plugin exists; it needs no daemon."""
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run([docker, "compose", "version"], capture_output=True).returncode
    ):
        pytest.skip("docker compose v2 not available here")
    work = tmp_path / "deploy"
    shutil.copytree(DEPLOY, work, ignore=shutil.ignore_patterns("requirements", "certs"))
    shutil.copy(work / ".env.example", work / ".env")
    for profile in ([], ["--profile", "gpu"]):
        run = subprocess.run(
            [docker, "compose", "-f", "docker-compose.yml", "--env-file", ".env", *profile]
            + ["config", "-q"],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr


# --------------------------------------------------------------------------- buckets


def _fake_mc(tmp_path: Path) -> Path:
    log = tmp_path / "mc.log"
    mc = tmp_path / "bin" / "mc"
    mc.parent.mkdir()
    mc.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        'if [ "$1" = anonymous ] && [ "$2" = get ]; then\n'
        '  echo "Access permission for \\`$3\\` is \\`private\\`"\n'
        "fi\n",
        encoding="utf-8",
    )
    mc.chmod(0o755)
    return log


def test_minio_init_creates_the_three_private_buckets(tmp_path: Path) -> None:
    log = _fake_mc(tmp_path)
    env = {
        "PATH": f"{tmp_path / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "MINIO_ROOT_USER": "root",
        "MINIO_ROOT_PASSWORD": "rootpass",
        "S3_ACCESS_KEY": "app",
        "S3_SECRET_KEY": "appsecret",
        "POLICY_FILE": str(DEPLOY / "minio" / "app-policy.json"),
        "TMPDIR": str(tmp_path),
    }
    run = subprocess.run(
        ["sh", str(DEPLOY / "minio" / "init.sh")], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    calls = log.read_text(encoding="utf-8").splitlines()
    for b in BUCKETS:
        assert f"mb --ignore-existing local/{b}" in calls
        assert f"anonymous set none local/{b}" in calls
    assert not [c for c in calls if re.match(r"anonymous set (public|download|upload)", c)]
    assert "admin user add local app appsecret" in calls
    policy = json.loads((tmp_path / "app-policy.json").read_text(encoding="utf-8"))
    resources = {r for st in policy["Statement"] for r in st["Resource"]}
    assert resources == {f"arn:aws:s3:::{b}" for b in BUCKETS} | {
        f"arn:aws:s3:::{b}/*" for b in BUCKETS
    }
    # the healthcheck mode passes once the buckets are private
    check = subprocess.run(
        ["sh", str(DEPLOY / "minio" / "init.sh"), "--check"], env=env, capture_output=True
    )
    assert check.returncode == 0


def test_env_example_names_the_three_buckets() -> None:
    env = _env_example()
    assert (env["S3_BUCKET_AUDIO"], env["S3_BUCKET_PRESET"], env["S3_BUCKET_VIZ"]) == BUCKETS


# --------------------------------------------------------------------------- .env.example


def test_env_example_has_every_variable_of_the_guide() -> None:
    env = _env_example()
    missing = [v for v in GUIDE_ENV_VARS if v not in env]
    assert not missing, f".env.example lacks guide variables: {missing}"


def test_env_example_variables_are_commented_and_unique() -> None:
    lines = (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines()
    keys = [ln.split("=", 1)[0] for ln in lines if ln and not ln.startswith("#") and "=" in ln]
    assert len(keys) == len(set(keys)), "duplicate variables"
    assert sum(ln.startswith("#") for ln in lines) >= len(keys) // 2, "too few comments"


def test_env_example_is_consistent() -> None:
    env = _env_example()
    assert f"{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@postgres:5432/" in env["DB_URL"]
    assert env["DB_URL"].endswith("/" + env["POSTGRES_DB"])
    assert f"{env['RABBITMQ_USER']}:{env['RABBITMQ_PASSWORD']}@rabbitmq:5672" in env["QUEUE_URL"]
    assert env["S3_ACCESS_KEY"] != env["MINIO_ROOT_USER"], "services must not use MinIO root"


# --------------------------------------------------------------------------- images and locks


@pytest.mark.parametrize("role", ["api", "scheduler", "worker"])
def test_dockerfile_installs_hashed_locks_as_non_root(role: str) -> None:
    text = (DEPLOY / f"Dockerfile.{role}").read_text(encoding="utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\}", text, re.M)
    locks = set(re.findall(r"deploy/requirements/([\w-]+\.lock)", text))
    assert locks, "no lock file referenced"
    for lock in locks:
        assert (REQ / lock).is_file(), f"{lock} referenced but missing"
    logical = re.sub(r"\\\n", " ", text)
    installs = [ln for ln in logical.splitlines() if "pip install" in ln]
    for ln in installs:
        for part in ln.split("&&"):
            if "pip install" in part and " -r " in part:
                assert "--require-hashes" in part, part.strip()
            elif "pip install" in part:
                assert "--no-deps" in part, f"project install must be --no-deps: {part.strip()}"
    assert re.search(r"^USER (?!root|0)", text, re.M), "image must not run as root"
    assert re.search(r"^HEALTHCHECK ", text, re.M)
    assert re.search(r'^ENTRYPOINT \["audio-style"\]', text, re.M)


def test_api_image_uses_only_the_api_lock() -> None:
    text = (DEPLOY / "Dockerfile.api").read_text(encoding="utf-8")
    assert set(re.findall(r"deploy/requirements/([\w-]+\.lock)", text)) == {
        "api.lock",
        "build.lock",
    }


def test_worker_image_has_libsndfile_and_both_variants() -> None:
    text = (DEPLOY / "Dockerfile.worker").read_text(encoding="utf-8")
    assert "libsndfile1" in text
    assert "worker.lock" in text and "worker-gpu.lock" in text


@pytest.mark.parametrize("role", ROLES)
def test_lock_pins_and_hashes_every_package(role: str) -> None:
    text = (REQ / f"{role}.lock").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    pinned = [e for e in entries if re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*==", e)]
    assert pinned
    for entry in pinned:
        assert "--hash=sha256:" in entry, f"{role}.lock: unhashed {entry.splitlines()[0]}"
    assert "--index-url" not in text and "file://" not in text, "lock names a local index"
    missing = _in_names(role) - set(_lock_packages(role))
    assert not missing, f"{role}.lock lacks {sorted(missing)} from {role}.in"


def test_api_lock_has_no_dsp_or_gpu_packages() -> None:
    bad = DSP_OR_GPU & set(_lock_packages("api"))
    assert not bad, f"api.lock must not contain {sorted(bad)}"
    assert not [p for p in _lock_packages("api") if p.startswith("nvidia-")]


def _core_dependencies() -> set[str]:
    """Normalised names of pyproject.toml's core (non-extra) dependencies."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    names = set()
    for req in data["project"]["dependencies"]:
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", req)
        assert m, req
        names.add(re.sub(r"[-_.]+", "-", m.group(1)).lower())
    return names


def test_worker_locks_carry_the_engine() -> None:
    core = _core_dependencies()
    assert {"numpy", "onnxruntime", "onnx"} <= core
    for role in ("worker", "scheduler", "worker-gpu"):
        pkgs = set(_lock_packages(role))
        assert {"numpy", "scipy", "soundfile", "soxr", "pyloudnorm", "onnx"} <= pkgs, role
        # every core dependency of the project (installed there with --no-deps); the GPU
        # variant has onnxruntime-gpu in place of the CPU wheel (same `onnxruntime` module)
        want = core - {"onnxruntime"} | {"onnxruntime-gpu"} if role == "worker-gpu" else core
        assert not want - pkgs, f"{role}.lock lacks {sorted(want - pkgs)}"
    assert "onnxruntime-gpu" in _lock_packages("worker-gpu")
    assert "onnxruntime" not in _lock_packages("worker-gpu")
    for role in ("worker", "scheduler"):
        assert "onnxruntime" in _lock_packages(role), role
        assert "onnxruntime-gpu" not in _lock_packages(role), role
    # the same version of every shared package in all roles (one tested set)
    api, worker = _lock_packages("api"), _lock_packages("worker")
    assert {k: v for k, v in worker.items() if k in api} == api


def test_build_lock_has_the_build_backend() -> None:
    assert {"setuptools", "wheel"} <= set(_lock_packages("build"))


# --------------------------------------------------------------------------- monitoring


def _promtool() -> str:
    exe = shutil.which("promtool")
    if exe is None:
        if _require_services():
            pytest.fail("promtool missing (apt-get install -y prometheus) and REQUIRE_SERVICES=1")
        pytest.skip("promtool not installed (Debian package prometheus)")
    return exe


def test_promtool_check_rules() -> None:
    run = subprocess.run(
        [_promtool(), "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_promtool_rule_unit_tests() -> None:
    run = subprocess.run(
        [_promtool(), "test", "rules", "alerts.test.yml"],
        cwd=DEPLOY / "prometheus",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_promtool_check_config() -> None:
    run = subprocess.run(
        [_promtool(), "check", "config", "prometheus.yml"],
        cwd=DEPLOY / "prometheus",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_alerts_cover_the_guide() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    exprs = " ".join(r["expr"] for g in rules["groups"] for r in g["rules"])
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    for metric in (
        'audio_style_jobs_total{state="failed"}',
        "audio_style_job_duration_seconds_bucket",
        "audio_style_true_peak_overs_total",
        "node_filesystem_avail_bytes",
    ):
        assert metric in exprs, metric
    assert {
        "AudioStyleJobFailureRateHigh",
        "AudioStyleJobDurationP95High",
        "AudioStyleTruePeakOverloadRateHigh",
        "DiskWatermarkHigh",
    } <= alerts


def test_grafana_dashboard_and_datasource() -> None:
    ds = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text(encoding="utf-8")
    )
    uid = ds["datasources"][0]["uid"]
    dash = json.loads((DEPLOY / "grafana/dashboards/audio-style.json").read_text(encoding="utf-8"))
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
    for metric in METRICS:
        assert re.search(rf"\b{metric}(_bucket|_sum|_count)?\b", exprs), metric
    for p in dash["panels"]:
        assert p["datasource"]["uid"] == uid, p["title"]
    prov = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/dashboards/audio-style.yml").read_text(encoding="utf-8")
    )
    assert prov["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_metric_contract_is_documented() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## metrics\n", 1)
    assert len(section) == 2, "deploy/README.md needs a '## metrics' section"
    for metric in METRICS:
        assert f"`{metric}`" in section[1], metric


# --------------------------------------------------------------------------- nginx, TKE


def test_nginx_terminates_tls_and_proxies_the_api() -> None:
    conf = (DEPLOY / "nginx/templates/default.conf.template").read_text(encoding="utf-8")
    assert "listen 443 ssl" in conf and "server api:8080" in conf
    assert "return 308 https://" in conf
    tls = (DEPLOY / "nginx/snippets/tls.conf").read_text(encoding="utf-8")
    assert "TLSv1.2 TLSv1.3" in tls and "Strict-Transport-Security" in tls


def _tke_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for f in sorted((DEPLOY / "tke").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(f.read_text(encoding="utf-8")) if d]
    return docs


def test_tke_deployments_have_probes_and_run_as_non_root() -> None:
    deps = {d["metadata"]["name"]: d for d in _tke_docs() if d["kind"] == "Deployment"}
    assert {
        "audio-style-api",
        "audio-style-scheduler",
        "audio-style-worker",
        "audio-style-worker-gpu",
    } <= set(deps)
    for name, d in deps.items():
        spec = d["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for c in spec["containers"]:
            assert "readinessProbe" in c and "livenessProbe" in c, name
            assert ":latest" not in c["image"], name
    gpu = deps["audio-style-worker-gpu"]["spec"]["template"]["spec"]
    assert gpu["nodeSelector"] and gpu["tolerations"]
    assert gpu["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    cpu = deps["audio-style-worker"]["spec"]["template"]["spec"]
    assert "nvidia.com/gpu" not in cpu["containers"][0]["resources"]["limits"]


def test_makefile_images_target_uses_the_git_sha() -> None:
    mk = (ROOT / "Makefile").read_text(encoding="utf-8")
    m = re.search(r"^images:.*?(?=^\S|\Z)", mk, re.M | re.S)
    assert m, "Makefile has no images target"
    assert "git rev-parse --short HEAD" in mk
    for role in ("api", "scheduler", "worker"):
        assert f"deploy/Dockerfile.{role}" in m.group(0)


# --------------------------------------------------------------------------- healthcheck


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        self.send_response(200 if self.path == "/ok" else 503)
        self.end_headers()
        self.wfile.write(b"x")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def http_server() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def test_healthcheck_script(http_server: str) -> None:
    script = str(DEPLOY / "healthcheck.py")

    def rc(*urls: str) -> int:
        return subprocess.run(
            [sys.executable, script, "--timeout", "3", *urls], capture_output=True, timeout=30
        ).returncode

    assert rc(f"{http_server}/ok") == 0
    assert rc(f"{http_server}/health") == 1  # 503
    assert rc(f"{http_server}/ok", f"{http_server}/bad") == 1
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert rc(f"http://127.0.0.1:{closed}/metrics") == 1
