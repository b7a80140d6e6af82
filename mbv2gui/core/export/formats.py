"""The export formats: their names, one line each for the user, the file each writes, and the
writer that makes it (in the module of its format family, imported only when used: TensorFlow
and tf2onnx are slow to import and the GUI lists the formats long before any export).

Every writer has the signature
    write(model, run, out_dir, calibration=None, int8_input="uint8") -> dict
and returns {files: [names written, model file first], input: {...}, output: {...}} where
input/output give dtype, shape, scale and zero point (None for float tensors).

Why every non-Keras format gets a FIXED S×S input: the app itself resizes every image to S×S
before the model sees it (core/training/pipeline.py), so the model's own `resize` layer is then an
identity. A fixed spatial size lets TFLite and ONNX plan their buffers (and lets int8
calibration see the shapes the deployment will), and an exported model fed S×S RGB 0..255
answers exactly like the app; the card says "resize to S×S first". The batch stays free.
"""

from __future__ import annotations

import importlib

from mbv2gui.core.errors import UserError

FORMATS = {
    "keras": "Keras 3 file: reload in Python with keras.saving.load_model; takes any image size.",
    "savedmodel": "TensorFlow SavedModel folder: for TensorFlow Serving or tf.saved_model.load.",
    "tflite": "TensorFlow Lite, 32-bit float: for phones and small computers, same answers.",
    "tflite-fp16": "TensorFlow Lite with 16-bit weights: half the size, float answers.",
    "tflite-int8": "TensorFlow Lite int8 — smallest and fastest on phones and "
                   "microcontrollers; needs calibration images (your training images).",
    "onnx": "ONNX: for onnxruntime from Python, C#, Java, JavaScript and other languages.",
    "coreml": "Core ML for iPhone, iPad and Mac apps (needs mbv2gui[coreml]); on other "
              "computers it is checked for structure but cannot be run.",
    "web": "Web page: runs in a browser (ONNX Runtime Web), with a demo page to try images; "
           "copy its web folder to any web server.",
}

# Each format's short name, for the dialog's list, the report and the command line.
TITLES = {"keras": "Keras", "savedmodel": "TensorFlow SavedModel", "tflite": "TensorFlow Lite",
          "tflite-fp16": "TensorFlow Lite, half size (float16)",
          "tflite-int8": "TensorFlow Lite, 8-bit integer (smallest, fastest)", "onnx": "ONNX",
          "coreml": "Core ML (Apple devices)", "web": "Web page (runs in a browser)"}

MODEL_FILES = {"keras": "model.keras", "savedmodel": "saved_model", "tflite": "model.tflite",
               "tflite-fp16": "model_fp16.tflite", "tflite-int8": "model_int8.tflite",
               "onnx": "model.onnx", "coreml": "model.mlpackage", "web": "web"}

# format -> (module in this package, its writer, its runner: see writer() and runner())
_FUNCTIONS = {"keras": ("keras_savedmodel", "write_keras", "keras_runner"),
              "savedmodel": ("keras_savedmodel", "write_savedmodel", "savedmodel_runner"),
              "tflite": ("tflite", "write_tflite", "runner"),
              "tflite-fp16": ("tflite", "write_tflite_fp16", "runner"),
              "tflite-int8": ("tflite", "write_tflite_int8", "runner"),
              "onnx": ("onnx", "write_onnx", "runner"),
              "coreml": ("coreml", "write_coreml", "runner"),
              "web": ("web", "write_web", "runner")}


class ExportError(UserError):
    """An export that could not be written or did not answer like the app."""


class NotRunHere(ExportError):
    """A format whose runtime does not exist on this computer (Core ML off macOS): its
    sentence says what was checked instead."""


def agreement_words(agreement: dict) -> str:
    """"same top answer as the app on 30 of 30 validation images (100.0%), checked with X", or
    what was checked instead when the format could not be run here."""
    if agreement.get("top1_agreement") is None:
        return f"{agreement.get('runtime', 'not checked')}"
    return (f"same top answer as the app on {agreement['agreeing']} of {agreement['images']} "
            f"images ({agreement['top1_agreement']:.1%}), checked with {agreement['runtime']}")


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise UserError(f"{fmt!r} is not an export format; choose one of "
                        f"{', '.join(FORMATS)}.")


def _function(fmt: str, which: int):
    check_format(fmt)
    entry = _FUNCTIONS[fmt]
    return getattr(importlib.import_module(f"mbv2gui.core.export.{entry[0]}"), entry[which])


def writer(fmt: str):
    """write(model, run, out_dir, calibration=None, int8_input="uint8") -> dict (see above)."""
    return _function(fmt, 1)


def runner(fmt: str):
    """runner(path, threads=None) -> (run(batch) -> probabilities, runtime name): loads the
    file with the format's OWN runtime; `run` takes (N, S, S, 3) float32 RGB 0..255."""
    return _function(fmt, 2)


def float_input(size: int | None) -> dict:
    return {"dtype": "float32", "shape": [None, size, size, 3], "scale": None,
            "zero_point": None, "range": "0..255"}


def float_output() -> dict:
    return {"dtype": "float32", "scale": None, "zero_point": None}


def float_export(name: str, size: int | None) -> dict:
    """What a float writer returns for its one file."""
    return {"files": [name], "input": float_input(size), "output": float_output()}
