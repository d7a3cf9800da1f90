#!/usr/bin/env bash
# Reproduce an image's Python install without Docker: a fresh venv, the role's lock installed
# with --require-hashes exactly as the Dockerfile does, then the project with --no-deps, then an
# import smoke test. Needs Python 3.11 on Linux x86_64 and access to PyPI.
#   deploy/scripts/check-lock-install.sh api|scheduler|worker [VENV_DIR]
set -euo pipefail
role=${1:?usage: check-lock-install.sh api|scheduler|worker|worker-gpu [VENV_DIR]}
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv=${2:-$(mktemp -d)/venv-$role}
req="$root/deploy/requirements"
# Same files as the image build: PyPI only, no local mirrors or constraints.
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_INDEX_URL PIP_CONSTRAINT || true
python3 -m venv "$venv"
pip=("$venv/bin/pip" install --quiet --index-url https://pypi.org/simple)
"${pip[@]}" --require-hashes --no-deps -r "$req/build.lock"
"${pip[@]}" --require-hashes --no-deps --no-build-isolation -r "$req/$role.lock"
# Project from a clean copy of the files the Dockerfile copies (no stray build dirs).
src=$(mktemp -d)
cp "$root/pyproject.toml" "$src/"
cp "$root"/README* "$root"/LICENSE* "$src/" 2>/dev/null || true
for d in engine server app cloud resources; do [ -d "$root/$d" ] && cp -r "$root/$d" "$src/"; done
"${pip[@]}" --no-deps --no-build-isolation "$src"
"$venv/bin/pip" uninstall --quiet -y setuptools wheel
case "$role" in
  api)
    "$venv/bin/python" -c "import engine.schema, server.api"
    for mod in numpy scipy soundfile onnxruntime; do
      if "$venv/bin/python" -c "import $mod" 2>/dev/null; then
        echo "FAIL: $mod is importable in the API environment" >&2; exit 1
      fi
    done ;;
  scheduler) "$venv/bin/python" -c "import engine.pipeline, server, onnxruntime, onnx" ;;
  worker|worker-gpu)
    "$venv/bin/python" -c "import engine.pipeline, server, soundfile, soxr, onnxruntime, onnx" ;;
esac
# exactly one ONNX Runtime distribution: onnxruntime and onnxruntime-gpu install the same module
ort_dists=$("$venv/bin/python" -c "import importlib.metadata as m; print(' '.join(sorted(
    d.metadata['Name'].lower() for d in m.distributions()
    if d.metadata['Name'].lower() in ('onnxruntime', 'onnxruntime-gpu'))))")
case "$role" in
  api) want="" ;;
  worker-gpu) want="onnxruntime-gpu" ;;
  *) want="onnxruntime" ;;
esac
if [ "$ort_dists" != "$want" ]; then
  echo "FAIL: ONNX Runtime distributions in $role: '$ort_dists', expected '$want'" >&2; exit 1
fi
"$venv/bin/audio-style" --help >/dev/null
# resources/ installed as data files (translations, icons, models) and found from the package
"$venv/bin/python" -c "from engine.resources import resource_path as r; assert r('i18n').is_dir(), r('i18n')"
echo "ok: $role lock installs with --require-hashes into $venv"
