#!/usr/bin/env bash
# Make `promtool` available for tests/deploy (Debian's prometheus package ships it). For .ci/run:
#   bash deploy/scripts/install-promtool.sh
# Installs nothing when promtool is already on PATH; never starts the prometheus service.
set -euo pipefail
command -v promtool >/dev/null && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the package's service from starting inside containers/CI.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -q --no-install-recommends prometheus >/dev/null
promtool --version | head -1
