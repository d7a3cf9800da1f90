#!/usr/bin/env bash
# Regenerate packaging/requirements/dev.lock: every package of the desktop/dev environment that
# `make setup` installs (pyproject.toml's core dependencies + extras app, server, dev, plus
# packaging/requirements/dev.in), pinned, with the SHA-256 of every file PyPI serves for each pin.
# Resolved for CPython 3.11 on Linux x86_64 (developers' machines, CI, `make package`).
#   packaging/lock.sh                          # same pins where still allowed
#   packaging/lock.sh --upgrade                # newest allowed versions
#   packaging/lock.sh --upgrade-package numpy
# Needs uv (`pip install uv` in any throwaway venv, or UV=/path/to/uv).
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-uv}
out=packaging/requirements/dev.lock
# PyPI only, whatever the local pip/uv configuration says (mirrors, find-links, constraints),
# so the hashes are those of the files PyPI serves.
export PIP_CONFIG_FILE=/dev/null UV_NO_CONFIG=1
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_INDEX_URL PIP_CONSTRAINT \
      UV_INDEX_URL UV_EXTRA_INDEX_URL UV_FIND_LINKS UV_CONSTRAINT || true
export UV_CUSTOM_COMPILE_COMMAND="packaging/lock.sh"
"$UV" pip compile pyproject.toml packaging/requirements/dev.in \
  --extra app --extra server --extra dev \
  --python-version 3.11 --python-platform x86_64-manylinux_2_36 \
  --generate-hashes --index-url https://pypi.org/simple --no-emit-index-url \
  --quiet --output-file "$out" "$@"
# the GPU extra and torch stay out of the default environment
if grep -E -i '^(torch|onnxruntime-gpu|nvidia-)' "$out"; then
  echo "lock.sh: $out pulls GPU/torch packages (above); fix the inputs" >&2
  exit 1
fi
echo "wrote $out ($(grep -c '^[a-z0-9]' "$out") packages)"
