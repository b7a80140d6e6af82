"""Checks an export right after writing it: reload it with ITS OWN runtime (Keras,
tf.saved_model, the TFLite interpreter, onnxruntime; not the Keras object we still hold, which
would prove nothing) and compare its top-1 answers with the app's model on the same S×S images.

Agreement is strict top-1 equality. Float formats must agree on >= 99% of the images (they
differ from the app only by float rounding), int8 on >= 98%; below that the export is an
error, not a footnote.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mbv2gui.core.export.formats import MODEL_FILES, ExportError, NotRunHere, runner

THRESHOLDS = {"tflite-int8": 0.98}
# images per call of a format's runner; the web runner starts a browser per call, so gets all
BATCH_SIZES = {"web": 100_000}
DEFAULT_THRESHOLD = 0.99


def threshold(fmt: str) -> float:
    return THRESHOLDS.get(fmt, DEFAULT_THRESHOLD)


def load_runner(fmt: str, out_dir, threads: int | None = None):
    """(run, runtime name): `run` maps (N, S, S, 3) float32 RGB 0..255 to (N, classes)
    probabilities with the format's own runtime, on the file written in `out_dir`."""
    make = runner(fmt)
    path = Path(out_dir) / MODEL_FILES[fmt]
    try:
        return make(path, threads)
    except ExportError:  # NotRunHere included
        raise
    except Exception as exc:  # truncated, corrupt or foreign file: each runtime words it its way
        raise ExportError(f"The exported file {path.name} could not be loaded by its runtime; "
                          "it is damaged or incomplete.", str(exc)) from exc


def predict(run, runtime: str, fmt: str, images: np.ndarray, batch_size: int = 16):
    outputs = []
    for start in range(0, len(images), batch_size):
        try:
            outputs.append(np.asarray(run(images[start:start + batch_size]), np.float32))
        except Exception as exc:
            raise ExportError(f"The exported {fmt} model failed when run with {runtime}, so "
                              "it was not kept.", str(exc)) from exc
    return np.concatenate(outputs)


def agreement(fmt: str, out_dir, images: np.ndarray, reference: np.ndarray) -> dict:
    """Runs the export on `images` and compares with the app's `reference` probabilities;
    an ExportError if they agree less than the format's threshold."""
    try:
        run, runtime = load_runner(fmt, out_dir)
    except NotRunHere as exc:  # its writer checked what it could; say so, not a made-up figure
        return {"images": 0, "agreeing": None, "top1_agreement": None,
                "max_probability_difference": None, "runtime": exc.message,
                "required": threshold(fmt)}
    probabilities = predict(run, runtime, fmt, images, BATCH_SIZES.get(fmt, 16))
    same = probabilities.argmax(1) == reference.argmax(1)
    result = {"images": int(len(images)), "agreeing": int(same.sum()),
              "top1_agreement": float(same.mean()),
              "max_probability_difference": float(np.abs(probabilities - reference).max()),
              "runtime": runtime, "required": threshold(fmt)}
    if result["top1_agreement"] < result["required"]:
        raise ExportError(
            f"The {fmt} export gave a different answer from the app on "
            f"{len(images) - result['agreeing']} of {len(images)} images "
            f"({result['top1_agreement']:.1%} agreement, {result['required']:.0%} needed), so "
            "it was not kept; choose a float format.", str(result))
    return result
