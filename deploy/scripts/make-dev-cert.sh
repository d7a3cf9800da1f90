#!/usr/bin/env bash
# Self-signed certificate for a local/staging stack (deploy/nginx/certs/). Production: put the
# real chain and key there instead (or terminate TLS on the CLB, see deploy/tencent.md).
#   deploy/scripts/make-dev-cert.sh [HOST] [S3_HOST]
set -euo pipefail
host=${1:-localhost}
s3host=${2:-s3.localhost}
dir="$(cd "$(dirname "$0")/.." && pwd)/nginx/certs"
mkdir -p "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$host" \
  -addext "subjectAltName=DNS:$host,DNS:$s3host" \
  -keyout "$dir/privkey.pem" -out "$dir/fullchain.pem"
chmod 600 "$dir/privkey.pem"
echo "wrote $dir/fullchain.pem and $dir/privkey.pem for $host, $s3host"
