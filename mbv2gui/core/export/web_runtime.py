"""Where the browser runtime of the "web" export comes from: ONNX Runtime Web's wasm-only
build (one small script, its WebAssembly loader and the WebAssembly file), which
packaging/fetch_ort_web.py puts into resources/ort-web/ at build time and the packaged app
bundles, so exporting needs no network. A copy without them says how to get them.

It imports nothing of the export package at load time: packaging/fetch_ort_web.py loads this
file alone, with any Python 3, before the app's dependencies are installed."""

from __future__ import annotations

import shutil
from pathlib import Path

from mbv2gui.core.resources import resource_path

ORT_WEB_VERSION = "1.31.1"
# ort.wasm.min.js defines the global `ort` and imports the loader (.mjs), which fetches the .wasm
RUNTIME_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")


def runtime_dir() -> Path:
    return resource_path("ort-web")


def runtime_missing() -> list[str]:
    return [name for name in RUNTIME_FILES if not (runtime_dir() / name).is_file()]


def copy_runtime(target: Path) -> list[str]:
    """Copies the runtime files into `target`; their names."""
    from mbv2gui.core.export.formats import ExportError

    missing = runtime_missing()
    if missing:
        raise ExportError(
            "The browser runtime (ONNX Runtime Web) is not in this copy of the app, so a web "
            "export cannot be written; run `python packaging/fetch_ort_web.py` (needs npm) or "
            "choose another format.", f"missing in {runtime_dir()}: {', '.join(missing)}")
    target.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_FILES:
        shutil.copyfile(runtime_dir() / name, target / name)
    return list(RUNTIME_FILES)
