"""ONNX export through tf2onnx, checked with onnxruntime.

Why tf2onnx.convert.from_function and not Keras' own model.export(format="onnx"): Keras'
refuses a model loaded from disk that was never called, and calls tf2onnx underneath anyway.
Converters lag behind TensorFlow releases: any failure to import or convert becomes an
ExportError that says so, and no file is left behind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mbv2gui.core.export.formats import MODEL_FILES, ExportError, float_export

OPSET = 17  # onnxruntime >= 1.12 runs it; newer opsets add nothing MobileNetV2 needs


def write_onnx(model, run, out_dir: Path, **_) -> dict:
    size = int(run.config.image_size)
    path = out_dir / MODEL_FILES["onnx"]
    convert_to_onnx(model, (None, size, size, 3), path)
    return float_export(path.name, size)


def convert_to_onnx(model, input_shape: tuple, path: Path) -> None:
    """The one conversion of a Keras model to ONNX (the export, and the fast inference runtime
    of core/inference/runtime.py): float32 input named `image` of `input_shape`. Any failure is
    an ExportError and leaves no file at `path`."""
    try:
        import tf2onnx
    except Exception as exc:  # missing, or broken against the installed TensorFlow/numpy
        raise ExportError("ONNX export needs the tf2onnx package, which is missing or does not "
                          "work with the installed TensorFlow; install mbv2gui[export] or "
                          "choose another format.", str(exc)) from exc
    from mbv2gui.core.training.tfsetup import tf

    t = tf()
    function = t.function(lambda image: model(image, training=False))
    spec = (t.TensorSpec(input_shape, t.float32, name="image"),)
    try:
        tf2onnx.convert.from_function(function, input_signature=spec, opset=OPSET,
                                      output_path=str(path))
    except Exception as exc:  # converter gaps with newer TF/Keras: say so, ship nothing
        Path(path).unlink(missing_ok=True)
        raise ExportError("The ONNX converter (tf2onnx) could not convert this model with the "
                          "installed TensorFlow; choose another format or update tf2onnx.",
                          str(exc)) from exc


def runner(path: Path, threads: int | None = None):
    try:
        import onnxruntime as ort
    except Exception as exc:
        raise ExportError("Checking the ONNX file needs onnxruntime, which is not installed; "
                          "install mbv2gui[export] or choose another format.",
                          str(exc)) from exc
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    # Threads that spin while waiting for work take the cores from the decoding threads between
    # batches, and from everything else on a busy machine: 2 spinning threads ran at half the
    # speed of 1 on this 2-core machine under load, 2 waiting ones within 10% of it.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return (lambda batch: session.run(None, {name: np.asarray(batch, np.float32)})[0],
            "onnxruntime")
