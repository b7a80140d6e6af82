"""The "web" export: a folder that runs in a web page. model.onnx (the ONNX export), the
browser runtime ONNX Runtime Web, labels.txt and a demo page (index.html), all in `web/`, which
can be copied as is to any web server.

Why ONNX Runtime Web and not TensorFlow.js: the official converter (pip `tensorflowjs` 4.22)
would install a second TensorFlow (2.19, beside our tensorflow-cpu 2.21), downgrade numpy (2.4 ->
2.1) and protobuf (7 -> 5), and pull in JAX, Flax and TensorFlow Decision Forests; the ONNX file
we already make and verify runs in the browser with one 15 MB WebAssembly runtime instead.

Checked in a real browser: the runner opens a check page in headless Chromium (or Chrome) that
runs the exported model.onnx with the exported runtime files on the app's own decoded pixels.
Where no such browser is installed, the same model.onnx is checked with onnxruntime in Python,
and the runtime's name (in the summary and model.json) says the page was not run in a browser.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from mbv2gui.core.export import browser, onnx as onnx_export
from mbv2gui.core.export.formats import MODEL_FILES, ExportError, float_export
from mbv2gui.core.export.web_page import CHECK, demo_page
from mbv2gui.core.export.web_runtime import ORT_WEB_VERSION, copy_runtime

PAGE = "index.html"
RUNTIME_FOLDER = "ort"
CHECK_SECONDS = 300  # WebAssembly on one thread: 200 images at 224 px take tens of seconds


def write_web(model, run, out_dir: Path, **_) -> dict:
    folder = Path(out_dir) / MODEL_FILES["web"]
    folder.mkdir()
    copy_runtime(folder / RUNTIME_FOLDER)  # first: a missing runtime is said before converting
    onnx_export.write_onnx(model, run, folder)
    (folder / "labels.txt").write_text("".join(f"{n}\n" for n in run.class_names),
                                       encoding="utf-8")
    size = int(run.config.image_size)
    (folder / PAGE).write_text(demo_page(run.class_names, size), encoding="utf-8")
    return float_export(folder.name, size)


def runner(path: Path, threads: int | None = None):
    """Runs `path`/model.onnx in a headless browser when there is one (one browser start for
    the whole batch it is given), else with onnxruntime in Python, saying so."""
    executable = browser.find_browser()
    if executable is None:
        run, _ = onnx_export.runner(Path(path) / MODEL_FILES["onnx"], threads)
        return run, ("onnxruntime in Python (no Chromium or Chrome on this computer, so the "
                     "page itself was not run in a browser)")
    name = f"ONNX Runtime Web {ORT_WEB_VERSION} in {browser.browser_version(executable)}"
    return (lambda batch: in_browser(executable, Path(path), batch)), f"{name} (headless)"


def in_browser(executable: str, folder: Path, images: np.ndarray) -> np.ndarray:
    """(N, classes) probabilities of the exported folder's model, run by the browser."""
    images = np.ascontiguousarray(images, dtype="<f4")
    count, size = images.shape[0], images.shape[1]
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "check.html").write_text(CHECK, encoding="utf-8")
        (Path(scratch) / "images.bin").write_bytes(images.tobytes())
        answer = browser.page_answer(executable, {"/model/": folder, "/check/": scratch},
                                     f"/check/check.html?n={count}&size={size}",
                                     timeout=CHECK_SECONDS)
    if "error" in answer or not answer.get("probabilities"):
        raise ExportError("The web export did not run in the browser, so it was not kept; "
                          "choose another format.", str(answer.get("error", answer)))
    probabilities = np.asarray(answer["probabilities"], np.float32)
    return probabilities.reshape(count, -1)
