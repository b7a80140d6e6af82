"""`mbv2gui train` then `mbv2gui predict --csv` end to end, in subprocesses, as a user runs them."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from helpers_images import make_class_tree, random_backbone_weights

ROOT = Path(__file__).resolve().parents[1]


def mbv2gui(*args, home=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    if home:
        env["XDG_CACHE_HOME"] = str(home / "cache")
        env["KERAS_HOME"] = str(home / "keras")
    return subprocess.run([sys.executable, "-m", "mbv2gui", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=env)


def test_train_then_predict_csv(tmp_path):
    make_class_tree(tmp_path / "data", ["red", "blue"], per_class=6, size=32)
    weights = random_backbone_weights(tmp_path / "w.weights.h5")
    done = mbv2gui("train", tmp_path / "data", "--out", tmp_path / "run", "--image-size", 32,
                   "--weights", weights, "--epochs", 3, "--batch-size", 4, home=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["epochs"] == 3 and 0 <= summary["val_accuracy"] <= 1
    assert summary["pretrained"] is True
    assert "head epoch 3/3" in done.stderr  # the progress reached the terminal
    assert "On images it did not train on, this model is right" in done.stderr  # the verdict
    assert "Only 2 validation images" in done.stderr  # one per class: the figure is unsure
    for name in ("model.keras", "labels.txt", "config.json", "history.json", "metrics.json"):
        assert (tmp_path / "run" / name).is_file()

    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "bad.png").write_bytes(b"\x89PNG broken")
    done = mbv2gui("predict", tmp_path / "run", tmp_path / "data" / "red", tmp_path / "new",
                   "--top-k", 2, "--csv", tmp_path / "out.csv", home=tmp_path)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "out.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 7
    assert list(table[0])[:7] == ["path", "label", "confidence", "label_1", "confidence_1",
                                  "label_2", "confidence_2"]
    assert {row["label"] for row in table[:6]} <= {"red", "blue"}
    assert table[6]["path"].endswith("bad.png") and table[6]["label"] == ""
    assert "bad.png" in table[6]["error"] and "1 of 7" in done.stderr


def test_bad_input_exits_non_zero_with_one_sentence(tmp_path):
    make_class_tree(tmp_path / "data", ["red"], per_class=3, size=16)
    done = mbv2gui("train", tmp_path / "data", "--out", tmp_path / "run", home=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("mbv2gui: Training needs at least two classes")
    assert "Traceback" not in done.stderr
    done = mbv2gui("predict", tmp_path / "nowhere", tmp_path / "data", home=tmp_path)
    assert done.returncode == 2 and "not a training run folder" in done.stderr
