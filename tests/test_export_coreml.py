"""Core ML: converted with coremltools (an optional extra), its labels and preprocessing in the
model. Off macOS it cannot be run, so the file is read back and checked for structure, and
model.json, the how-to and the summary say "checked for structure, not run"; on macOS it is run
and compared with the app like every other format."""

import json
import sys

import pytest

from helpers_images import make_class_tree
from mbv2gui.core.export import export_run
from mbv2gui.core.export.formats import ExportError
from tiny_runs import tiny_run

pytest.importorskip("coremltools", reason="coremltools is an optional extra: "
                    "pip install mbv2gui[coreml] (the test extra installs it)")

SIZE = 32
NAMES = ["red", "green", "blue"]


@pytest.fixture(scope="module")
def run_with_images(tmp_path_factory):
    """A run whose validation images exist (the export checks on them), without training."""
    tmp = tmp_path_factory.mktemp("coreml")
    images = make_class_tree(tmp / "data", NAMES, per_class=2, size=SIZE)
    run = tiny_run(tmp / "run", NAMES, SIZE)
    run.predictions = [{"path": str(path), "content_hash": None, "true": true,
                        "split": "validation", "probabilities": [1 / 3] * 3}
                       for true, name in enumerate(NAMES) for path in images[name]]
    run.save()
    return run.run_dir, tmp


def test_coreml_export_has_labels_and_image_input_and_says_how_it_was_checked(run_with_images):
    from mbv2gui.core.export.coreml import structure

    run_dir, tmp = run_with_images
    result = export_run(run_dir, "coreml", tmp / "out")
    model = tmp / "out" / "model.mlpackage"
    found = structure(model)
    assert found["labels"] == NAMES and found["input"] == ("image", SIZE, SIZE, "RGB")
    assert set(found["predicted"]) <= set(found["outputs"])
    entry = json.loads((tmp / "out" / "model.json").read_text(encoding="utf-8"))["exports"]["coreml"]
    howto = (tmp / "out" / "How to use this model.md").read_text(encoding="utf-8")
    assert "labels red, green, blue" in entry["structure"]
    if sys.platform == "darwin":
        assert result.agreement["top1_agreement"] >= 0.99
    else:
        assert entry["agreement"]["top1_agreement"] is None
        assert ("Checked for structure, not run (Core ML runs only on macOS): an RGB 32×32 "
                "image in" in result.summary())
        assert "Checked for structure, not run" in howto
    assert 'ct.models.MLModel("model.mlpackage")' in howto


def test_a_core_ml_file_with_other_labels_is_refused(run_with_images):
    from mbv2gui.core.export.coreml import check_structure

    _, tmp = run_with_images
    model = tmp / "out" / "model.mlpackage"
    if not model.exists():
        pytest.skip("needs the export of the test before")
    with pytest.raises(ExportError, match="not the classifier the app made"):
        check_structure(model, ["red", "blue", "green"], SIZE)
    with pytest.raises(ExportError, match="not the classifier the app made"):
        check_structure(model, NAMES, SIZE * 2)
