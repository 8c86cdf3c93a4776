#!/usr/bin/env bash
# Installs the system programs ave needs (ffmpeg, espeak-ng) when missing: with apt-get as root,
# otherwise it says what to install. With --test, also what the tests need: chromium, the real browser the
# review page is tested in.
set -euo pipefail
missing=()
if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then missing+=(ffmpeg); fi
if ! command -v espeak-ng >/dev/null; then missing+=(espeak-ng); fi
if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  missing+=(chromium)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "ave: installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "ave: missing ${missing[*]} — install them (Debian/Ubuntu: sudo apt-get install ${missing[*]};" \
    "macOS: brew install ${missing[*]}) and run the command again" >&2
  exit 1
fi
