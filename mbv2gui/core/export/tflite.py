"""TensorFlow Lite exports: float32, float16 weights, and full-integer int8 calibrated on the
project's own images; and the interpreter that runs them (ai-edge-litert where installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mbv2gui.core.export.formats import MODEL_FILES, ExportError, float_export
from mbv2gui.core.export.keras_savedmodel import inference_saved_model


def _convert(model, size: int, configure) -> bytes:
    """Converts from the inference SavedModel: converting a concrete function directly left
    the weights as variables (READ_VARIABLE ops) and gave NaN; a SavedModel freezes cleanly."""
    from mbv2gui.core.training.tfsetup import tf

    converter = tf().lite.TFLiteConverter.from_saved_model(
        str(inference_saved_model(model, int(size))))
    configure(converter)
    try:
        return converter.convert()
    except Exception as exc:
        raise ExportError("TensorFlow Lite could not convert this model; the other formats "
                          "may still work.", str(exc)) from exc


def _write(fmt: str, model, run, out_dir: Path, configure) -> Path:
    path = out_dir / MODEL_FILES[fmt]
    path.write_bytes(_convert(model, int(run.config.image_size), configure))
    return path


def convert_to_tflite(model, size: int, path: Path) -> None:
    """The float32 conversion the export writes, for the app's own fast forward pass
    (core/inference/runtime.py): (None, size, size, 3) float32 images in."""
    Path(path).write_bytes(_convert(model, size, lambda converter: None))


def write_tflite(model, run, out_dir: Path, **_) -> dict:
    path = _write("tflite", model, run, out_dir, lambda converter: None)
    return float_export(path.name, int(run.config.image_size))


def write_tflite_fp16(model, run, out_dir: Path, **_) -> dict:
    from mbv2gui.core.training.tfsetup import tf

    def configure(converter):
        converter.optimizations = [tf().lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf().float16]

    path = _write("tflite-fp16", model, run, out_dir, configure)
    return float_export(path.name, int(run.config.image_size))


def write_tflite_int8(model, run, out_dir: Path, calibration=None, int8_input="uint8",
                      **_) -> dict:
    """Full-integer model: int8 weights and activations, `int8_input` (uint8|int8) in and out.
    `calibration` is a float32 array (N, S, S, 3) 0..255 of the project's training images."""
    from mbv2gui.core.training.tfsetup import tf

    if int8_input not in ("uint8", "int8"):
        raise ExportError(f"The int8 model's input type must be uint8 or int8, not "
                          f"{int8_input!r}.")
    if calibration is None or not len(calibration):
        raise ExportError("The int8 export needs training images to calibrate on, and none "
                          "could be read; give the project or folder the run was trained on.")
    t = tf()

    def representative():
        for image in calibration:
            yield [image[None].astype(np.float32)]

    def configure(converter):
        converter.optimizations = [t.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        # Only integer kernels: a float fallback would defeat microcontrollers and NPUs.
        converter.target_spec.supported_ops = [t.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = getattr(t, int8_input)
        converter.inference_output_type = getattr(t, int8_input)

    path = _write("tflite-int8", model, run, out_dir, configure)
    size = int(run.config.image_size)
    interpreter = interpreter_for(path)
    (in_scale, in_zero), = [d["quantization"] for d in interpreter.get_input_details()]
    (out_scale, out_zero), = [d["quantization"] for d in interpreter.get_output_details()]
    return {"files": [path.name],
            "input": {"dtype": int8_input, "shape": [None, size, size, 3],
                      "scale": float(in_scale), "zero_point": int(in_zero), "range": "0..255",
                      "formula": "q = round(pixel / scale + zero_point), clipped to the dtype"},
            "output": {"dtype": int8_input, "scale": float(out_scale),
                       "zero_point": int(out_zero),
                       "formula": "probability = (q - zero_point) * scale"}}


def runtime_name() -> str:
    try:
        import ai_edge_litert.interpreter  # noqa: F401

        return "ai-edge-litert"
    except ImportError:
        return "tf.lite.Interpreter"


def interpreter_for(path, threads: int | None = None):
    """ai-edge-litert's interpreter where it is installed (tf.lite.Interpreter is deprecated
    and will leave TensorFlow), else TensorFlow's own."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        from mbv2gui.core.training.tfsetup import tf

        Interpreter = tf().lite.Interpreter
    return Interpreter(model_path=str(path), num_threads=threads)


def runner(path: Path, threads: int | None = None):
    """Float 0..255 pixels in, float probabilities out, whatever the model's tensor types:
    an integer model's input is quantized and its output dequantized with its own scales."""
    interpreter = interpreter_for(path, threads)
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    in_scale, in_zero = inp["quantization"]
    out_scale, out_zero = out["quantization"]
    planned = [None]

    def run(batch: np.ndarray) -> np.ndarray:
        if planned[0] != batch.shape:  # re-plan buffers only when the batch size changes
            interpreter.resize_tensor_input(inp["index"], batch.shape)
            interpreter.allocate_tensors()
            planned[0] = batch.shape
        x = np.asarray(batch, np.float32)
        if inp["dtype"] != np.float32:
            info = np.iinfo(inp["dtype"])
            x = np.clip(np.round(x / in_scale + in_zero), info.min, info.max)
        interpreter.set_tensor(inp["index"], x.astype(inp["dtype"]))
        interpreter.invoke()
        y = interpreter.get_tensor(out["index"])
        if out["dtype"] != np.float32:
            y = (y.astype(np.float32) - out_zero) * out_scale
        return y

    return run, runtime_name()
