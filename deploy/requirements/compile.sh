#!/usr/bin/env bash
# Regenerate the hashed lock files from the *.in files (see README.md in this folder).
# Run it with Python 3.11 on Linux x86_64 (the images' python:3.11-slim), from any directory:
#   LOCK_COMPILER=/path/to/pip-compile deploy/requirements/compile.sh [extra pip-compile args]
# e.g. `--upgrade` or `--upgrade-package boto3`. ROLES="worker scheduler worker-gpu" limits it
# to those locks (default: all of them).
set -euo pipefail
cd "$(dirname "$0")"
LOCK_COMPILER=${LOCK_COMPILER:-pip-compile}
# Resolve against PyPI only, ignoring any local pip configuration (mirrors, find-links,
# constraints), so the hashes are the ones of the files PyPI serves to the image build.
export PIP_CONFIG_FILE=/dev/null
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_INDEX_URL PIP_CONSTRAINT PIP_COMPILE || true
export CUSTOM_COMPILE_COMMAND="deploy/requirements/compile.sh"
common=(--quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url
        --no-emit-find-links --index-url https://pypi.org/simple)
for role in ${ROLES:-build api worker scheduler worker-gpu}; do
  "$LOCK_COMPILER" "${common[@]}" "$@" --output-file "$role.lock" "$role.in"
done
