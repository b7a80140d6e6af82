#!/usr/bin/env bash
# Builds the double-clickable app from a fresh clone: dist/mbv2gui/ (onedir) and a .tar.gz of it.
# Uses the active virtual environment when there is one, else makes packaging/.build-venv.
# Linux needs the system library libxcb-cursor0 (Qt 6.5+) on the machine that runs the app.
# --release refuses to build without the ImageNet weights (a release must work offline).
set -euo pipefail
cd "$(dirname "$0")/.."
release=""
for arg in "$@"; do
  case "$arg" in
    --release) release=--release ;;
    *) echo "usage: packaging/build.sh [--release]" >&2; exit 2 ;;
  esac
done
start=$(date +%s)
if [ -z "${VIRTUAL_ENV:-}" ]; then
  python3 -m venv packaging/.build-venv
  . packaging/.build-venv/bin/activate
  pip install -q --upgrade pip
  pip install -q -e .
fi
pip install -q "pyinstaller>=6.10"
# The ImageNet weights for the default settings and for 224 px alpha 1.0: from the Keras cache,
# else downloaded once through the app's own route (MBV2GUI_WEIGHTS_URL points at a mirror).
if ! MBV2GUI_BUNDLE_WEIGHTS=$(python packaging/fetch_weights.py $release); then
  echo "build.sh --release: not building without the pretrained weights (see above)." >&2
  exit 1
fi
export MBV2GUI_BUNDLE_WEIGHTS
# ONNX Runtime Web into resources/ort-web (bundled with resources/): the web export then needs
# no network. Without npm or network the app's web export says its runtime is missing.
if ! python packaging/fetch_ort_web.py; then
  if [ -n "$release" ]; then echo "build.sh --release: not building without ONNX Runtime Web." >&2; exit 1; fi
  echo "WARNING: this build has no ONNX Runtime Web: its web export will not work." >&2
fi
bundled=$(printf '%s' "$MBV2GUI_BUNDLE_WEIGHTS" | tr ':' '\n' | grep -c . || true)
pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller packaging/mbv2gui.spec
if [ "$(uname -s)" = Linux ]; then
  cp packaging/linux/mbv2gui.desktop dist/mbv2gui/
  tar -C dist -czf dist/mbv2gui-linux-$(uname -m).tar.gz mbv2gui
fi
end=$(date +%s)
if [ "$bundled" -lt 2 ]; then  # said again at the end, where it cannot scroll away
  echo "WARNING: this build bundles $bundled of 2 ImageNet weight files: its app will download them on first use." >&2
fi
echo "{\"build_seconds\": $((end - start)), \"bundle_mb\": $(du -sm dist/mbv2gui | cut -f1), \"bundled_weights\": $bundled}"
