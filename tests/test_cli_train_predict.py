"""`mbv2gui train` then `mbv2gui predict --csv` end to end, in subprocesses, as a user runs them."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from helpers_images import make_class_tree, random_backbone_weights

ROOT = Path(__file__).resolve().parents[1]


def mbv2gui(*args, home=None, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    if home:
        env["XDG_CACHE_HOME"] = str(home / "cache")
        env["KERAS_HOME"] = str(home / "keras")
    return subprocess.run([sys.executable, "-m", "mbv2gui", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env)


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


def test_hostile_files_in_a_folder_cost_only_themselves(tmp_path):
    """A FIFO named x.jpg and a y.jpg link to /dev/zero once hung `train FOLDER` (it hashed
    them); a macOS ._ file was trained on though import skips it. Now train, predict and
    evaluate each finish in time, see the same 8 images, and name each bad file with a reason.
    The timeouts turn a hang back into a failure."""
    made = make_class_tree(tmp_path / "data", ["red", "blue"], per_class=4, size=32)
    red = tmp_path / "data" / "red"
    os.mkfifo(red / "x.jpg")
    os.symlink("/dev/zero", red / "y.jpg")
    shutil.copy(made["red"][1], red / "._red_001.jpg")  # decodable, but hidden: never used
    (red / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    os.symlink(tmp_path / "data", red / "loop")  # walked once, not forever
    run = tmp_path / "run"

    done = mbv2gui("train", tmp_path / "data", "--out", run, "--weights", "none", "--epochs", 1,
                   "--image-size", 32, "--batch-size", 4, "--quiet", home=tmp_path, timeout=150)
    assert done.returncode == 0, done.stderr
    assert "2 image(s) could not be read and were left out" in done.stderr  # found when listed
    assert "x.jpg cannot be used: it is not a regular file" in done.stderr
    assert "y.jpg cannot be used: it is not a regular file" in done.stderr
    assert "1 image(s) could not be read and were left out" in done.stderr  # found when decoded
    assert "corrupt.png cannot be used" in done.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["unreadable"] == 3
    assert sum(n for split in metrics["counts"].values() for n in split.values()) == 8

    done = mbv2gui("predict", run, tmp_path / "data", "--csv", tmp_path / "out.csv", "--quiet",
                   home=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "out.csv", newline="") as handle:
        table = {Path(row["path"]).name: row for row in csv.DictReader(handle)}
    assert len(table) == 11 and "._red_001.jpg" not in table  # a row for every file, bad ones too
    assert {name for name, row in table.items() if row["error"]} == {"x.jpg", "y.jpg", "corrupt.png"}
    assert "not a regular file" in table["x.jpg"]["error"] and table["x.jpg"]["label"] == ""
    assert "corrupt.png cannot be used" in table["corrupt.png"]["error"]
    assert all(row["label"] in {"red", "blue"} for row in table.values() if not row["error"])
    assert "3 of 11" in done.stderr

    done = mbv2gui("evaluate", run, tmp_path / "data", "--quiet", home=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    accuracy = next(line for line in done.stdout.splitlines() if line.startswith("Accuracy:"))
    assert accuracy.endswith(" on 8 images")
    assert "3 image(s) could not be read and were left out" in done.stderr
    assert "y.jpg cannot be used: it is not a regular file" in done.stderr
