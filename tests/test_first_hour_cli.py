"""The command line's first hour (issue 18): `mbv2gui PATH --help` prints help, `evaluate` on a
project takes the images the run did not train on and says so (`--all` for every one), and
`train` says in words why it ended before its last epoch."""

from __future__ import annotations

import os

from mbv2gui import cli
from mbv2gui.commands.evaluate import images_to_evaluate
from mbv2gui.core.store.project import NewImage, Project
from mbv2gui.core.training.stopping_words import early_stop_sentence
from mbv2gui.gui.train.run_summary import result_sentence


def test_path_with_help_prints_help_and_opens_no_window(tmp_path, capsys, monkeypatch):
    opened = []
    monkeypatch.setattr("mbv2gui.gui.shell.app.run_app", lambda *a: opened.append(a) or 0)
    assert cli.main([str(tmp_path / "p.mbv2"), "--help"]) == 0
    assert opened == []
    assert "usage: mbv2gui" in capsys.readouterr().out
    assert cli.main([str(tmp_path / "p.mbv2")]) == 0 and len(opened) == 1  # still opens it


def make_project(tmp_path, count=5):
    project = Project.create(tmp_path / "p.mbv2")
    images = []
    for i in range(count):
        path = tmp_path / f"img{i}.png"
        path.write_bytes(b"x" * (i + 1))
        images.append(NewImage(str(path), i + 1, os.stat(path).st_mtime, f"hash{i}", 8, 8,
                               label="a" if i % 2 else "b"))
    project.add_images(images)
    project.close()
    return str(tmp_path / "p.mbv2")


def test_evaluate_takes_the_images_the_run_did_not_train_on(tmp_path):
    data = make_project(tmp_path)
    held = [{"path": "/moved/elsewhere.png", "content_hash": "hash1"},
            {"path": str(tmp_path / "img4.png"), "content_hash": "other"}]
    items, which = images_to_evaluate(data, held)
    assert sorted(os.path.basename(p) for p, _ in items) == ["img1.png", "img4.png"]
    assert "the 2 labeled images of p.mbv2 the run did not train on" in which
    assert "--all adds the other 3" in which
    items, which = images_to_evaluate(data, held, everything=True)
    assert len(items) == 5 and "all 5 labeled images" in which and "(--all)" in which
    items, which = images_to_evaluate(data, [])
    assert len(items) == 5 and "kept none of them aside" in which


def test_early_stopping_is_said_in_words():
    metrics = {"stopped_early": True, "stopped_early_by_user": False, "best_epoch": 114,
               "early_stop": {"epoch": 126, "epochs": 150, "patience": 12, "validated": True}}
    sentence = early_stop_sentence(metrics)
    assert sentence == ("Stopped at epoch 126 of 150 because the validation accuracy had not "
                        "improved for 12 epochs; the best epoch, 114, is kept.")
    assert sentence in result_sentence(metrics)  # the Train view says the same
    assert early_stop_sentence({**metrics, "stopped_early": False}) == ""
    assert early_stop_sentence({**metrics, "stopped_early_by_user": True}) == ""


def test_the_training_loop_records_why_it_stopped():
    from mbv2gui.core.training.loop import HISTORY_KEYS, EpochLoop

    class Model:
        def get_weights(self):
            return [1]

        def set_weights(self, weights):
            pass

    class Session:  # what the loop asks of a training session
        history = {key: [] for key in HISTORY_KEYS}
        epoch_offset, best_row, stopped_by_user, early_stopped, early_stop = 0, None, False, False, None

        def should_stop(self):
            return False

        def throttle(self, event):
            pass

        def report(self, event):
            pass

        def patience(self, phase):
            return 3

        def validate(self):
            return 0.5, 0.8  # never improves after the first epoch

    session = Session()
    EpochLoop(session, "head", Model(), 20, 2).run(lambda epoch: [(0, [0, 0], 0)] * 2,
                                             lambda x, y, w: (0.3, 0.9), lambda: 1e-3)
    metrics = {"stopped_early": session.early_stopped, "best_epoch": session.best_row + 1,
               "early_stop": session.early_stop}
    assert early_stop_sentence(metrics) == ("Stopped at epoch 4 of 20 because the validation "
                                            "accuracy had not improved for 3 epochs; the best "
                                            "epoch, 1, is kept.")
