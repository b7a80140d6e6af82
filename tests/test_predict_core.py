"""predict_files: top-k per file in order, a row with the reason for unreadable files, the CSV
layout, and a damaged model file as a sentence."""

from __future__ import annotations

import csv
import io
import shutil

import numpy as np
import pytest

from helpers_images import make_class_tree, make_image, random_backbone_weights
from mbv2gui.core.errors import UserError
from mbv2gui.core.inference.predict import expand_paths, predict_files, write_csv
from mbv2gui.core.runs import Run
from mbv2gui.core.training.config import TrainConfig
from mbv2gui.core.training.train import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    make_class_tree(root / "data", per_class=6, size=32)
    weights = random_backbone_weights(root / "w.weights.h5")
    config = TrainConfig(image_size=32, weights=str(weights), epochs=15, batch_size=4)
    train(root / "data", config, run_dir=root / "run")
    return root


def test_rows_in_order_with_reasons_for_bad_files(trained, tmp_path):
    run = Run.load(trained / "run")
    good = sorted((trained / "data").rglob("*.png"))[:4]
    big = tmp_path / "big.jpg"
    make_image((210, 40, 40), "circle", size=200, seed=5).save(big)  # resized inside
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really")
    missing = tmp_path / "missing.png"
    paths = [str(good[0]), str(broken), str(good[1]), str(missing), str(big)] + list(map(str, good[2:]))
    events = []
    rows = predict_files(run, paths, events.append, top_k=2, batch_size=2)
    assert [r["path"] for r in rows] == paths
    assert rows[1]["error"] and "broken.jpg" in rows[1]["error"] and rows[1]["label"] is None
    assert rows[3]["error"] and "missing" in rows[3]["error"]
    for row in (rows[0], rows[2], rows[4], rows[5]):
        assert row["error"] is None and len(row["top_k"]) == 2
        assert row["label"] == row["top_k"][0][0] in run.class_names
        assert row["confidence"] == row["top_k"][0][1] >= row["top_k"][1][1]
    assert events[-1] == {"type": "progress", "done": 7, "total": 7, "message": "Predicting"}


def test_the_trained_head_learned_the_colors(trained):
    run = Run.load(trained / "run")
    files = sorted((trained / "data").rglob("*.*"))
    rows = predict_files(run, [str(f) for f in files])
    right = np.mean([r["label"] == f.parent.name for r, f in zip(rows, files)])
    assert right >= 0.8  # chance is 1/3: the features and the head carry real information


def test_csv_layout(trained):
    rows = [{"path": "a.png", "label": "red", "confidence": 0.9,
             "top_k": [("red", 0.9), ("blue", 0.1)], "error": None},
            {"path": "b.png", "label": None, "confidence": None, "top_k": [],
             "error": "b.png cannot be used: damaged."}]
    out = io.StringIO()
    write_csv(rows, out, 2)
    table = list(csv.reader(io.StringIO(out.getvalue())))
    assert table[0] == ["path", "label", "confidence", "label_1", "confidence_1", "label_2",
                        "confidence_2", "error"]
    assert table[1][:4] == ["a.png", "red", "0.900000", "red"]
    assert table[2][0] == "b.png" and table[2][1] == "" and "damaged" in table[2][-1]


def test_folders_expand_and_missing_paths_are_sentences(trained, tmp_path):
    assert len(expand_paths([str(trained / "data")])) == 18
    with pytest.raises(UserError, match="does not exist"):
        expand_paths([str(tmp_path / "nowhere")])


def test_damaged_model_file_is_a_sentence(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained / "run", copy)
    data = (copy / "model.keras").read_bytes()
    (copy / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="damaged or incomplete"):
        Run.load(copy).load_model()
    with pytest.raises(UserError, match="not a training run folder"):
        Run.load(tmp_path)
