#!/usr/bin/env bash
# Fetch the default training music: game soundtracks from Debian packages (free licences;
# none of them is used by the benchmark in ../shared/bench). Idempotent.
# Usage: fetch_music.sh DIR   -> DIR/<package>__<file>.{ogg,opus}
set -euo pipefail
DIR=${1:?usage: fetch_music.sh DIR}
PACKAGES="warzone2100-music extremetuxracer-data frozen-bubble-data lincity-ng-data xmoto-data"
if [ -f "$DIR/.complete" ]; then echo "music ready: $DIR ($(ls "$DIR" | wc -l) files)"; exit 0; fi
mkdir -p "$DIR"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
# shellcheck disable=SC2086
(apt-get download $PACKAGES >/dev/null 2>&1) || { apt-get update -qq >/dev/null; apt-get download $PACKAGES >/dev/null; }
for deb in *.deb; do
  pkg=${deb%%_*}
  mkdir -p "x/$pkg" && dpkg -x "$deb" "x/$pkg"
  find "x/$pkg" -type f \( -name '*.ogg' -o -name '*.opus' \) -size +500k -print0 |
    while IFS= read -r -d '' f; do
      name=$(basename "$f" | tr ' ' '_')
      case "$name" in *_enhanced.*) continue ;; esac  # a duplicate of another track
      cp "$f" "$DIR/${pkg}__${name}"
    done
done
touch "$DIR/.complete"
echo "music ready: $DIR ($(ls "$DIR" | wc -l) files)"
