"""Core ML export (Apple devices) with coremltools, an optional extra: pip install mbv2gui[coreml].

Route: coremltools 9 converts our Keras 3 model object directly (source="tensorflow", an ML
Program), though it warns that it was tested with TensorFlow 2.12 only. The input is an RGB image
of S×S (Core ML hands the model pixels 0..255; the scaling is inside the model, as in every
export) and the class labels are in the model (a classifier: classLabel and its probabilities).

Core ML predicts only on macOS. Elsewhere the file is checked for structure, not run: it is read
back, and its input (an RGB image of S×S), its outputs (the class and the probabilities) and its
labels (the run's classes, in order) must be what the app expects. verify.py and model.json say
"checked for structure, not run" in that case; on macOS it is run and compared like any format.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from mbv2gui.core.export.formats import MODEL_FILES, ExportError, NotRunHere

NOT_RUN = "checked for structure, not run (Core ML runs only on macOS)"
INSTALL = "install mbv2gui[coreml] (pip install coremltools) or choose another format"


def _coremltools():
    try:
        import coremltools
    except Exception as exc:
        raise ExportError(f"Core ML export needs the coremltools package; {INSTALL}.",
                          str(exc)) from exc
    return coremltools


def write_coreml(model, run, out_dir: Path, **_) -> dict:
    ct = _coremltools()
    size = int(run.config.image_size)
    path = Path(out_dir) / MODEL_FILES["coreml"]
    try:
        converted = ct.convert(
            model, source="tensorflow", convert_to="mlprogram",
            inputs=[ct.ImageType(name="image", shape=(1, size, size, 3),
                                 color_layout=ct.colorlayout.RGB)],
            classifier_config=ct.ClassifierConfig(list(run.class_names)),
            minimum_deployment_target=ct.target.iOS15)
        converted.short_description = f"Image classifier: {', '.join(run.class_names)}"
        converted.save(str(path))
    except ExportError:
        raise
    except Exception as exc:  # converter gaps with newer TF/Keras: say so, ship nothing
        raise ExportError("coremltools could not convert this model with the installed "
                          "TensorFlow; choose another format or update coremltools.",
                          str(exc)) from exc
    checked = check_structure(path, run.class_names, size)  # read back from the file
    return {"files": [path.name], "structure": checked,
            "input": {"dtype": "image (RGB)", "shape": [1, size, size, 3], "scale": None,
                      "zero_point": None, "range": "0..255"},
            "output": {"dtype": "class label and a probability per class", "scale": None,
                       "zero_point": None}}


def structure(path: Path) -> dict:
    """What the file declares: {input: (name, width, height, colour), outputs, labels}."""
    ct = _coremltools()
    spec = ct.utils.load_spec(str(path))
    image = spec.description.input[0]
    kind = image.type.imageType
    function = spec.mlProgram.functions["main"]
    block = function.block_specializations[function.opset]
    classify = next((op for op in block.operations if op.type == "classify"), None)
    labels = []
    if classify is not None:
        value = classify.inputs["classes"].arguments[0].value.immediateValue
        labels = [v for item in value.list.values
                  for v in item.immediateValue.tensor.strings.values]
    return {"input": (image.name, kind.width, kind.height,
                      spec.description.input[0].type.imageType.ColorSpace.Name(kind.colorSpace)),
            "outputs": [o.name for o in spec.description.output],
            "predicted": (spec.description.predictedFeatureName,
                          spec.description.predictedProbabilitiesName),
            "labels": labels}


def check_structure(path: Path, class_names: list[str], size: int) -> str:
    """A sentence of what was checked; an ExportError saying what is wrong otherwise."""
    found = structure(path)
    expected = {"input": ("image", size, size, "RGB"), "labels": list(class_names)}
    wrong = [f"{key}: {found[key]} instead of {value}" for key, value in expected.items()
             if (list(found[key]) if key == "labels" else found[key]) != value]
    label, probabilities = found["predicted"]
    if not label or not probabilities or {label, probabilities} - set(found["outputs"]):
        wrong.append(f"outputs {found['outputs']} lack the class and its probabilities")
    if wrong:
        raise ExportError("The Core ML file is not the classifier the app made, so it was not "
                          "kept; choose another format.", "; ".join(wrong))
    return (f"an RGB {size}×{size} image in, the class and {len(class_names)} probabilities out, labels "
            f"{', '.join(class_names)}")


def runner(path: Path, threads: int | None = None):
    """On macOS: Core ML itself, image by image. Elsewhere NotRunHere: the file cannot be run
    here (write_coreml checked its structure against the run instead)."""
    if sys.platform != "darwin":
        raise NotRunHere(NOT_RUN)
    ct = _coremltools()
    from PIL import Image

    path = Path(path)
    model = ct.models.MLModel(str(path))
    names = structure(path)["labels"]

    def run(batch):
        out = []
        for pixels in np.asarray(batch):
            image = Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8), "RGB")
            scores = model.predict({"image": image})["classLabel_probs"]
            out.append([scores[name] for name in names])
        return np.asarray(out, np.float32)

    return run, f"Core ML (coremltools {ct.__version__}, macOS)"
