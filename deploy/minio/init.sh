#!/bin/sh
# One-shot MinIO bootstrap (run by the minio-init service; idempotent, safe to re-run).
#   - the three buckets (audio, preset, viz), PRIVATE: no anonymous access at all;
#   - an application user (S3_ACCESS_KEY / S3_SECRET_KEY) that may only touch those buckets.
#     MinIO's STS AssumeRole is called with this user's keys plus a session policy, which the
#     API narrows to one upload prefix (see deploy/README.md), so the root user is never used
#     by the services.
# Abandoned multipart uploads are removed by MinIO itself (api stale_uploads_expiry, 24 h).
# `init.sh --check` (the service's healthcheck) exits 0 once every bucket exists and is private.
set -eu

AUDIO=${S3_BUCKET_AUDIO:-audio}
PRESET=${S3_BUCKET_PRESET:-preset}
VIZ=${S3_BUCKET_VIZ:-viz}
ENDPOINT=${MINIO_ENDPOINT:-http://minio:9000}
POLICY_FILE=${POLICY_FILE:-/policies/app-policy.json}
WORK=${TMPDIR:-/tmp}

mc alias set local "$ENDPOINT" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null

check() {
  for b in "$AUDIO" "$PRESET" "$VIZ"; do
    mc stat "local/$b" >/dev/null 2>&1 || return 1
    # prints: Access permission for `local/audio` is `private`
    mc anonymous get "local/$b" | grep -Eqi '`(private|none)`' || return 1
  done
}

if [ "${1:-}" = "--check" ]; then
  check
  exit $?
fi

for b in "$AUDIO" "$PRESET" "$VIZ"; do
  mc mb --ignore-existing "local/$b"
  mc anonymous set none "local/$b"
done

if [ -n "${S3_ACCESS_KEY:-}" ] && [ "$S3_ACCESS_KEY" != "$MINIO_ROOT_USER" ]; then
  sed -e "s/__AUDIO__/$AUDIO/g" -e "s/__PRESET__/$PRESET/g" -e "s/__VIZ__/$VIZ/g" \
    "$POLICY_FILE" >"$WORK/app-policy.json"
  mc admin policy create local audio-style-app "$WORK/app-policy.json"
  mc admin user add local "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
  mc admin policy attach local audio-style-app --user "$S3_ACCESS_KEY" 2>/dev/null || true
fi

check
echo "minio-init: buckets $AUDIO, $PRESET, $VIZ ready (private)"
