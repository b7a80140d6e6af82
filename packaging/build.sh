#!/usr/bin/env bash
# Builds the double-clickable app from a fresh clone: dist/mbv2gui/ (onedir) and a .tar.gz of it.
# Uses the active virtual environment when there is one, else makes packaging/.build-venv.
# Linux needs the system library libxcb-cursor0 (Qt 6.5+) on the machine that runs the app.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
if [ -z "${VIRTUAL_ENV:-}" ]; then
  python3 -m venv packaging/.build-venv
  . packaging/.build-venv/bin/activate
  pip install -q --upgrade pip
  pip install -q -e .
fi
pip install -q "pyinstaller>=6.10"
MBV2GUI_BUNDLE_WEIGHTS=$(python packaging/find_weights.py)
export MBV2GUI_BUNDLE_WEIGHTS
if [ -n "$MBV2GUI_BUNDLE_WEIGHTS" ]; then
  echo "Bundling ImageNet weights: $MBV2GUI_BUNDLE_WEIGHTS"
else
  echo "No ImageNet weights in the Keras cache: the app will train from scratch unless the user picks a weights file."
fi
pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller packaging/mbv2gui.spec
if [ "$(uname -s)" = Linux ]; then
  cp packaging/linux/mbv2gui.desktop dist/mbv2gui/
  tar -C dist -czf dist/mbv2gui-linux-$(uname -m).tar.gz mbv2gui
fi
end=$(date +%s)
echo "{\"build_seconds\": $((end - start)), \"bundle_mb\": $(du -sm dist/mbv2gui | cut -f1)}"
