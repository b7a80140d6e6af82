#!/usr/bin/env bash
# Starts the BUILT executable (not Python) as a user would, offscreen, on a folder of images the
# app generates itself: it opens its window, imports the folder, trains a tiny model for one
# epoch, predicts, writes result.json, and exits 0. Any failure exits non-zero with the app's log.
set -uo pipefail
cd "$(dirname "$0")/.."
app=${1:-dist/mbv2gui/mbv2gui}
[ -x "$app" ] || { echo "smoke: no built app at $app; run packaging/build.sh first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
export MBV2GUI_SETTINGS_DIR="$work/settings"   # never touch the user's own settings
start=$(date +%s.%N)
timeout 600 "$app" --smoke-test "$work" >"$work/app.log" 2>&1
status=$?
end=$(date +%s.%N)
if [ $status -ne 0 ] || [ ! -s "$work/result.json" ]; then
  echo "smoke: FAILED (exit $status). The app's log:" >&2
  cat "$work/app.log" >&2
  exit 1
fi
python3 - "$work/result.json" "$start" "$end" <<'PY' || true
import json, sys
result = json.load(open(sys.argv[1]))
start, end = float(sys.argv[2]), float(sys.argv[3])
print(json.dumps({"smoke": "passed",
                  "start_to_window_seconds": round(result["window_shown_at"] - start, 2),
                  "bundled_weights": result.get("bundled_weights"),
                  "default_weights": result.get("default_weights"),
                  "total_seconds": round(end - start, 1)}))
PY
