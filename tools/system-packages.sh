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
# character B-roll (optional): the libraries Blender's bpy module links, and Mesa's EGL with its software
# driver, which its Workbench engine draws with without a display or GPU (the Dockerfile installs the same).
# Without them bpy cannot be imported and character slots become title cards, saying why; so only a warning.
BLENDER_PACKAGES=(libx11-6 libxrender1 libxxf86vm1 libxfixes3 libxi6 libxkbcommon0 libxext6 libsm6 libvulkan1
  libgomp1 libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri)
blender_missing=()
if command -v dpkg-query >/dev/null; then
  for package in "${BLENDER_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || blender_missing+=("$package")
  done
fi
if [ ${#blender_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "ave: installing ${blender_missing[*]} with apt-get (character B-roll: Blender)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${blender_missing[@]}" >/dev/null \
      || echo "ave: could not install ${blender_missing[*]}: character slots will become title cards" >&2
  else
    echo "ave: character B-roll (Blender) needs ${blender_missing[*]} (Debian/Ubuntu: sudo apt-get install" \
      "${blender_missing[*]}); without them character slots become title cards" >&2
  fi
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
