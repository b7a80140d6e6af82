"""A full or read-only disk is said in one sentence, and no output is ever left looking whole.

A full disk is simulated without filling the real one: `shutil.disk_usage` reports little free
space for the up-front checks, and writes raise OSError(ENOSPC) where they would fail."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers_images import make_class_tree, random_backbone_weights
from tiny_runs import tiny_run

from mbv2gui.core.files.diskspace import ensure_free
from mbv2gui.core.errors import UserError, disk_error
from mbv2gui.core.files.partial_outputs import building, sweep_partial_outputs
from mbv2gui.core.runs import Run
from mbv2gui.core.training.config import TrainConfig
from mbv2gui.core.training.train import train

ROOT = Path(__file__).resolve().parents[1]


def _disk_with_free(monkeypatch, free: int) -> None:
    real = shutil.disk_usage

    monkeypatch.setattr(shutil, "disk_usage", lambda path: real(path)._replace(free=free))


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _no_partials(folder: Path) -> list[str]:
    return [p.name for p in Path(folder).iterdir() if ".partial-" in p.name or ".old-" in p.name]


# ---------------------------------------------------------------- the sentence
@pytest.mark.parametrize("code, words", [
    (errno.ENOSPC, "is full: 12 MB free, about 340 MB needed to train. Free some space"),
    (errno.EDQUOT, "Your disk quota on the disk holding"),
    (errno.EROFS, "is on a read-only disk"),
    (errno.EACCES, "You are not allowed to write in"),
])
def test_every_refused_write_is_one_sentence(tmp_path, monkeypatch, code, words):
    _disk_with_free(monkeypatch, 12_000_000)
    target = tmp_path / "proj.mbv2-data" / "runs" / ".r1.partial-99" / "pixels.tmp.npy"
    error = disk_error(OSError(code, os.strerror(code)), target, "train", 340_000_000)
    assert words in error.message
    assert ".partial-" not in error.message  # the folder a person knows, not the hidden one
    assert str(tmp_path) in error.message and error.detail


def test_the_space_a_job_needs_is_checked_before_it_starts(tmp_path, monkeypatch):
    ensure_free(tmp_path, 1000, "train")  # the real disk has room for 1 KB
    _disk_with_free(monkeypatch, 12_000_000)
    with pytest.raises(UserError) as error:
        ensure_free(tmp_path / "not-yet-made", 320_000_000, "train")
    assert error.value.message.startswith(f"The disk holding {tmp_path / 'not-yet-made'}")
    assert "12 MB free, about 340 MB needed to train" in error.value.message


def test_training_on_a_full_disk_is_refused_up_front_and_writes_nothing(tmp_path, monkeypatch):
    make_class_tree(tmp_path / "data", ["red", "blue"], per_class=3, size=16)
    _disk_with_free(monkeypatch, 12_000_000)
    with pytest.raises(UserError) as error:
        train(tmp_path / "data", TrainConfig(image_size=32, weights="none", epochs=1),
              run_dir=tmp_path / "runs" / "r1")
    assert f"The disk holding {tmp_path / 'runs'}" in error.value.message
    assert "12 MB free" in error.value.message and "needed to train" in error.value.message
    assert os.listdir(tmp_path / "runs") == []


def test_a_disk_filling_while_pixels_are_written_is_a_sentence_and_leaves_nothing(
        tmp_path, monkeypatch):
    """The pixels file is written with write(): ENOSPC is an exception (said in words), not the
    SIGBUS a writable memory map dies of; nothing half-written stays."""
    import builtins

    from mbv2gui.core.training import pipeline

    make_class_tree(tmp_path / "data", ["red", "blue"], per_class=3, size=16)

    class FullAfter:
        def __init__(self, handle, room):
            self.handle, self.room = handle, room

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.room -= len(data)
            if self.room < 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.handle.write(data)

    def opening(path, mode="r", *args, **kwargs):
        handle = builtins.open(path, mode, *args, **kwargs)
        return FullAfter(handle, 5000) if "w" in mode else handle

    monkeypatch.setattr(pipeline, "open", opening, raising=False)
    with pytest.raises(UserError) as error:
        train(tmp_path / "data", TrainConfig(image_size=32, weights="none", epochs=1),
              run_dir=tmp_path / "runs" / "r1")
    assert f"The disk holding {tmp_path / 'runs'}" in error.value.message
    assert "needed to prepare the images for training" in error.value.message
    assert os.listdir(tmp_path / "runs") == []


def test_the_feature_cache_says_a_full_disk_and_leaves_no_temporary(tmp_path, monkeypatch):
    from mbv2gui.core.training import features

    cache = features.FeatureCache(tmp_path / "cache", "key")

    def full(source, target):  # the temporary is written; placing it needs room the disk lacks
        assert Path(source).is_file()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(features.os, "replace", full)
    with pytest.raises(UserError, match=f"The disk holding {tmp_path / 'cache' / 'key'}"):
        cache.put("abcdef", np.zeros(8, np.float32))
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    _disk_with_free(monkeypatch, 1_000_000)
    with pytest.raises(UserError, match="needed to save the image features"):
        cache.ensure_room(10_000, 1280)


# ---------------------------------------------------------------- whole or absent
def test_a_killed_training_leaves_nothing_that_looks_like_a_run(tmp_path):
    """kill -9 in the middle of an epoch (from scratch: the pixels file exists then); the
    sweep then removes what is left."""
    make_class_tree(tmp_path / "data", ["red", "blue"], per_class=4, size=16)
    script = ("import sys\n"
              "from mbv2gui.core.training.config import TrainConfig\n"
              "from mbv2gui.core.training.train import train\n"
              "def report(event):\n"
              "    if event.get('type') == 'batch':\n"
              "        print('training', flush=True)\n"
              "train(sys.argv[1], TrainConfig(image_size=32, weights='none', epochs=500,\n"
              "      batch_size=2), report, run_dir=sys.argv[2])\n")
    runs = tmp_path / "runs"
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "data"),
                              str(runs / "r1")], cwd=ROOT, stdout=subprocess.PIPE,
                             env=dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2"))
    try:
        assert child.stdout.readline() == b"training\n"
        partial = runs / f".r1.partial-{child.pid}"
        assert (partial / "pixels.tmp.npy").is_file()  # the pixels live in the hidden folder
        assert sweep_partial_outputs(runs) == []  # a running training is never swept
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert os.listdir(runs) == [partial.name]  # no run folder, no empty folder
    with pytest.raises(UserError, match="not a training run folder"):
        Run.load(runs / "r1")
    assert sweep_partial_outputs(runs, runs_folder=True) == [partial]
    assert os.listdir(runs) == []


def test_a_failed_training_leaves_nothing_and_a_finished_one_is_whole(tmp_path, monkeypatch):
    from mbv2gui.core.runs import Run as RunClass

    make_class_tree(tmp_path / "data", ["red", "blue"], per_class=3, size=16)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the feature cache
    weights = random_backbone_weights(tmp_path / "w.weights.h5")  # the head alone: seconds
    config = TrainConfig(image_size=32, weights=str(weights), epochs=1, batch_size=4)
    original = RunClass.save

    def killed_while_saving(self, model=None, folder=None):
        original(self, None, folder)  # labels and json written, then the worst moment
        raise KeyboardInterrupt

    monkeypatch.setattr(RunClass, "save", killed_while_saving)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "data", config, run_dir=tmp_path / "runs" / "r1")
    assert os.listdir(tmp_path / "runs") == []
    monkeypatch.setattr(RunClass, "save", original)
    run = train(tmp_path / "data", config, run_dir=tmp_path / "runs" / "r1")
    assert os.listdir(tmp_path / "runs") == ["r1"]
    assert sorted(os.listdir(run.run_dir)) == sorted(
        ["model.keras", "labels.txt", "config.json", "history.json", "metrics.json",
         "predictions.json"])  # no model.tmp.keras, no pixels.tmp.npy


def test_the_sweep_spares_live_jobs_and_cleans_or_restores_the_rest(tmp_path):
    dead = _dead_pid()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for name in (f".a.partial-{dead}", f".b.partial-{live.pid}",
                     f".c.partial-{live.pid}", f".d.old-{dead}", f".e.old-{dead}", "e",
                     f".f.partial-{os.getpid()}"):
            (tmp_path / name).mkdir()
            (tmp_path / name / "x").write_text(name)
        # .c's pid was reused: the live process started after .c was last written
        hour_ago = time.time() - 3600
        os.utime(tmp_path / f".c.partial-{live.pid}", (hour_ago, hour_ago))
        swept = sweep_partial_outputs(tmp_path)
        assert sorted(p.name for p in swept) == sorted(
            [f".a.partial-{dead}", f".c.partial-{live.pid}", f".d.old-{dead}",
             f".e.old-{dead}"])
        assert sorted(os.listdir(tmp_path)) == sorted(
            [f".b.partial-{live.pid}", f".f.partial-{os.getpid()}", "d", "e"])
        assert (tmp_path / "d" / "x").read_text() == f".d.old-{dead}"  # put back: it was whole
        assert (tmp_path / "e" / "x").read_text() == "e"  # the newer one stays
    finally:
        live.kill()
        live.wait()


def test_the_sweep_of_a_runs_folder_cleans_what_older_versions_left(tmp_path):
    old = time.time() - 3 * 24 * 3600
    for name, files in {"empty": [], "pixels-only": ["pixels.tmp.npy"],
                        "complete": ["labels.txt", "model.keras", "model.tmp.keras"],
                        "recent-empty": []}.items():
        (tmp_path / name).mkdir()
        for file in files:
            (tmp_path / name / file).write_bytes(b"x")
        if name != "recent-empty":
            os.utime(tmp_path / name, (old, old))
    assert sweep_partial_outputs(tmp_path) == []  # a user's folder: only partial names
    sweep_partial_outputs(tmp_path, runs_folder=True)
    assert sorted(os.listdir(tmp_path)) == ["complete", "recent-empty"]
    assert sorted(os.listdir(tmp_path / "complete")) == ["labels.txt", "model.keras"]


def test_building_replaces_a_folder_whole_and_refuses_a_users_folder(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "labels.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with building(target, lambda folder: True) as work:
            (work / "labels.txt").write_text("new")
            raise RuntimeError("killed")
    assert (target / "labels.txt").read_text() == "old" and _no_partials(tmp_path) == []
    with building(target, lambda folder: True) as work:
        (work / "labels.txt").write_text("new")
    assert (target / "labels.txt").read_text() == "new" and _no_partials(tmp_path) == []
    with pytest.raises(UserError, match="already holds other files"):
        with building(target, lambda folder: False):
            pass
    assert (target / "labels.txt").read_text() == "new"


# ---------------------------------------------------------------- export
def test_a_failed_export_leaves_the_old_one_whole_then_a_new_one_replaces_it(
        tmp_path, monkeypatch):
    from mbv2gui.core.export import export_run, model_card
    from mbv2gui.core.files.sample_images import write_color_classes

    write_color_classes(tmp_path / "data", ("red", "blue"), per_class=3, size=32)
    first = tiny_run(tmp_path / "run1", ["blue", "red"])
    second = tiny_run(tmp_path / "run2", ["cat", "dog", "eel"])
    out = tmp_path / "out"
    export_run(first.run_dir, "keras", out, project_path=tmp_path / "data")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def killed(*args, **kwargs):  # the worst moment: the new model written, labels not yet
        raise KeyboardInterrupt

    monkeypatch.setattr(model_card, "write_card", killed)
    with pytest.raises(KeyboardInterrupt):
        export_run(second.run_dir, "keras", out, project_path=tmp_path / "data")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _no_partials(tmp_path) == []
    monkeypatch.undo()
    export_run(second.run_dir, "keras", out, project_path=tmp_path / "data")
    assert (out / "labels.txt").read_text(encoding="utf-8") == "cat\ndog\neel\n"
    assert (out / "model.keras").read_bytes() != before["model.keras"]
    assert _no_partials(tmp_path) == []

    (out / "notes.txt").write_text("mine")  # a user's file: the folder is not swapped away
    with pytest.raises(UserError, match="already holds other files"):
        export_run(second.run_dir, "keras", out, project_path=tmp_path / "data")
    assert (out / "notes.txt").read_text() == "mine"


def test_an_export_on_a_full_disk_is_said_before_it_starts(tmp_path, monkeypatch):
    from mbv2gui.core.export import export_run
    from mbv2gui.core.files.sample_images import write_color_classes

    write_color_classes(tmp_path / "data", ("red", "blue"), per_class=3, size=32)
    run = tiny_run(tmp_path / "run", ["blue", "red"])
    _disk_with_free(monkeypatch, 3_000_000)
    with pytest.raises(UserError) as error:
        export_run(run.run_dir, "keras", tmp_path / "out", project_path=tmp_path / "data")
    assert f"The disk holding {tmp_path / 'out'}" in error.value.message
    assert "3.0 MB free" in error.value.message and "needed to export the model" in \
        error.value.message
    assert not (tmp_path / "out").exists() and _no_partials(tmp_path) == []


# ---------------------------------------------------------------- a model carrying code
def test_a_model_with_a_lambda_layer_is_refused_and_said_so(tmp_path):
    from mbv2gui.core.training.tfsetup import keras

    k = keras()
    run = tiny_run(tmp_path / "run", ["a", "b"])
    inputs = k.Input((32, 32, 3))
    k.Model(inputs, k.layers.Lambda(lambda x: x * 2)(inputs)).save(run.model_path)
    with pytest.raises(UserError) as error:
        Run.load(run.run_dir).load_model()
    assert error.value.message == (
        f"The model file {run.model_path} contains code (a Lambda layer) and was not loaded, "
        "for safety; use a model trained by mbv2gui.")
    assert "damaged" not in error.value.message


def test_opening_a_project_in_the_window_sweeps_its_runs_folder(qtbot, tmp_path):
    from mbv2gui.core.store.project import Project, sidecar_for
    from mbv2gui.gui.shell.main_window import MainWindow

    path = tmp_path / "p.mbv2"
    Project.create(path).close()
    runs = sidecar_for(path) / "runs"
    leftover = runs / f".r1.partial-{_dead_pid()}"
    leftover.mkdir(parents=True)
    (leftover / "pixels.tmp.npy").write_bytes(b"x")
    (runs / "r2").mkdir()
    (runs / "r2" / "labels.txt").write_text("a\nb\n")  # a real run stays
    window = MainWindow()
    try:
        assert window.projects.open_project(str(path))
        assert os.listdir(runs) == ["r2"]
    finally:
        assert window.runner.shutdown(5.0)
        window.close()
        window.deleteLater()


def test_a_teacher_model_carrying_code_is_refused_in_either_file_format(tmp_path):
    from mbv2gui.core.training.model import teacher_probabilities
    from mbv2gui.core.training.tfsetup import keras

    k = keras()
    inputs = k.Input((32, 32, 3))
    model = k.Model(inputs, k.layers.Lambda(lambda x: x * 2)(inputs))
    for name in ("teacher.keras", "teacher.h5"):  # the legacy HDF5 format too
        model.save(tmp_path / name)
        with pytest.raises(UserError, match=r"contains code \(a Lambda layer\) and was not "
                                            "loaded, for safety"):
            teacher_probabilities(str(tmp_path / name), [], 2, 32, 4.0, lambda: False)
