"""Keras (.keras) and TensorFlow SavedModel exports, and the inference SavedModel that the
TFLite converter also starts from."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from mbv2gui.core.export.formats import MODEL_FILES, float_export


def write_keras(model, run, out_dir: Path, **_) -> dict:
    # The run's file is already the exact model the app uses: copy it byte for byte. It keeps
    # its own resize layer, so (unlike the other formats) it takes any image size.
    shutil.copyfile(run.model_path, out_dir / MODEL_FILES["keras"])
    return float_export(MODEL_FILES["keras"], None)


def _save_inference(model, size: int, target: Path) -> None:
    """A SavedModel whose one signature `serving_default` runs the model in inference mode.
    Why not model.export(format="tf_saved_model") as is: its endpoint disagreed with the app
    (BatchNorm not in inference mode) on most images, which the verification caught."""
    from mbv2gui.core.training.tfsetup import keras, tf

    t = tf()
    archive = keras().export.ExportArchive()
    archive.track(model)
    # training=False matters: a Keras 3 model called without it runs BatchNorm in training mode.
    archive.add_endpoint("serve", lambda image: model(image, training=False),
                         input_signature=[t.TensorSpec((None, size, size, 3), t.float32,
                                                       name="image")])
    archive.write_out(str(target), verbose=False)


def inference_saved_model(model, size: int) -> Path:
    """The inference SavedModel of `model`, written once to a temporary folder that lives as
    long as the model: the SavedModel and all three TFLite variants start from it, and
    tracing and writing MobileNetV2 costs several seconds each time."""
    cached = getattr(model, "_mbv2_saved_model", None)
    if cached is not None and cached[0] == size:
        return Path(cached[1].name) / "saved_model"
    folder = tempfile.TemporaryDirectory(prefix="mbv2gui-export-")
    _save_inference(model, size, Path(folder.name) / "saved_model")
    model._mbv2_saved_model = (size, folder)  # deleted with the model (TemporaryDirectory)
    return Path(folder.name) / "saved_model"


def write_savedmodel(model, run, out_dir: Path, **_) -> dict:
    size = int(run.config.image_size)
    shutil.copytree(inference_saved_model(model, size), out_dir / MODEL_FILES["savedmodel"])
    return float_export(MODEL_FILES["savedmodel"], size)


def keras_runner(path: Path, threads=None):
    from mbv2gui.core.training.model import compiled_forward
    from mbv2gui.core.training.tfsetup import keras

    # A fresh load from the written file, not the model object we hold (that proves nothing).
    return (compiled_forward(keras().saving.load_model(str(path), compile=False)),
            "keras.saving.load_model")


def savedmodel_runner(path: Path, threads=None):
    from mbv2gui.core.training.tfsetup import tf

    t = tf()
    loaded = t.saved_model.load(str(path))
    serve = loaded.signatures["serving_default"]

    def run(batch):
        outputs = serve(t.constant(batch, t.float32))
        return next(iter(outputs.values())).numpy()

    run.keep_alive = loaded  # the signature needs its object alive
    return run, "tf.saved_model.load"
