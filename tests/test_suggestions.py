"""Suggestions for the project's own unlabeled images: stored as predict_files answers them,
unreadable ones left out, a cancelled job keeps the old ones, a changed file loses its
prediction, accepting at a threshold picks exactly the still-unlabeled images of existing
classes, and the command applies and undoes those labels."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from helpers_images import make_class_tree
from mbv2gui.core.errors import JobCancelled
from mbv2gui.core.files.images import content_hash
from mbv2gui.core.inference.predict import predict_files
from mbv2gui.core.store.project import NewImage, Project
from mbv2gui.core.runs import Run
from mbv2gui.core.training.config import TrainConfig
from mbv2gui.core.training.train import train
from mbv2gui.core.inference.suggestions import accept_suggestions, suggest_labels, unlabeled_images


def new_image(path: Path, label=None, status="ok") -> NewImage:
    return NewImage(str(path), path.stat().st_size, path.stat().st_mtime, content_hash(path),
                    32, 32, status=status, label=label)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A project with 4 labeled images per class, 3 unlabeled per class, one unlabeled file
    that turns out damaged (status still ok) and one already known unreadable; a tiny run."""
    root = tmp_path_factory.mktemp("unlabeled")
    made = make_class_tree(root / "images", per_class=7, size=32)
    broken = root / "images" / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    known_bad = root / "images" / "known_bad.jpg"
    known_bad.write_bytes(b"nothing")
    project = Project.create(root / "p.mbv2")
    images = [new_image(p, label=name) for name, paths in made.items() for p in paths[:4]]
    images += [new_image(p) for paths in made.values() for p in paths[4:]]
    images += [new_image(broken), new_image(known_bad, status="unreadable")]
    project.add_images(images)
    project.close()
    config = TrainConfig(image_size=32, alpha=0.35, weights="none", epochs=2, batch_size=8)
    run = train(root / "p.mbv2", config, run_dir=root / "run")
    return root, run


@pytest.fixture
def project(trained, tmp_path):
    """A fresh copy of the project (tests change labels), with the run's suggestions stored."""
    root, run = trained
    path = tmp_path / "p.mbv2"
    path.write_bytes((root / "p.mbv2").read_bytes())
    result = suggest_labels(path, run.run_dir)
    opened = Project.open(path)
    opened.result = result
    yield opened
    opened.close()


def test_stored_rows_equal_predict_files(trained, project):
    _, run = trained
    records = unlabeled_images(project)
    names = sorted(os.path.basename(r.path) for r in records)
    assert names == sorted([f"{c}_{i:03d}.{'png' if i % 2 == 0 else 'jpg'}"
                            for c in ("red", "blue", "green") for i in (4, 5, 6)] + ["broken.png"])
    expected = predict_files(Run.load(run.run_dir), [r.path for r in records])
    stored = project.suggestions()
    good = [(r, row) for r, row in zip(records, expected) if row["error"] is None]
    assert len(good) == 9 and set(stored) == {r.id for r, _ in good}
    for record, row in good:
        label, confidence = stored[record.id]
        assert label == row["label"] in run.class_names
        assert confidence == pytest.approx(row["confidence"], abs=1e-6)
    result = project.result
    assert result["suggested"] == 9
    assert result["run_id"] == run.run_id == project.suggestions_run_id()
    assert [os.path.basename(p) for p, _ in result["unreadable"]] == ["broken.png"]
    assert "broken.png" in result["unreadable"][0][1]
    assert {i: label for i, (label, _) in result["suggestions"].items()} == {
        i: label for i, (label, _) in stored.items()}


def test_accept_threshold_picks_unlabeled_images_of_existing_classes(project):
    stored = project.suggestions()
    ids = {c.name: c.id for c in project.classes()}
    everything = accept_suggestions(project, 0.0)
    assert everything == {i: ids[label] for i, (label, _) in stored.items()}
    assert accept_suggestions(project, 1.01) == {}
    middle = sorted(c for _, c in stored.values())[len(stored) // 2]
    assert set(accept_suggestions(project, middle)) == {
        i for i, (_, c) in stored.items() if c >= middle}

    first, second = sorted(stored)[:2]
    project.set_labels({first: ids["red"]})  # labeled since: no longer offered
    assert first not in accept_suggestions(project, 0.0)
    doomed = stored[second][0]
    project.delete_class(ids[doomed])  # its suggestions have no class to become
    assert all(stored[i][0] != doomed for i in accept_suggestions(project, 0.0))
    assert second not in accept_suggestions(project, 0.0)


def test_changed_file_loses_its_prediction_and_new_job_replaces_old(trained, project):
    _, run = trained
    image_id = sorted(project.suggestions())[0]
    record = project.image(image_id)
    project.remove_images([image_id])
    project.restore_images([dataclasses.replace(record, content_hash="different")])
    assert image_id not in project.suggestions()
    # A cancelled job stores nothing: the previous suggestions stay.
    before = project.suggestions()
    with pytest.raises(JobCancelled):
        suggest_labels(project.path, run.run_dir, should_stop=lambda: True)
    assert project.suggestions() == before
    # Labeling some and predicting again replaces the whole table (no stale rows).
    labeled = sorted(before)[:3]
    project.label_images(labeled, project.classes()[0].id)
    suggest_labels(project.path, run.run_dir)
    after = project.suggestions()
    assert not set(labeled) & set(after) and len(after) == len(before) - 3 + 1  # + the changed one


def test_project_without_suggestions(tmp_path):
    project = Project.create(tmp_path / "empty.mbv2")
    try:
        assert project.suggestions() == {}
        assert accept_suggestions(project, 0.5) == {}
        assert project.suggestions_run_id() is None
    finally:
        project.close()


def test_accept_command_applies_and_undoes(project, qtbot):
    from mbv2gui.gui.label.accept_suggestions import AcceptSuggestionsCommand, AcceptThresholdDialog
    from mbv2gui.gui.shell.context import AppContext

    context = AppContext()
    context.set_project(project)
    labels = accept_suggestions(project, 0.0)
    assert len(labels) == 9
    ids = sorted(labels)
    with qtbot.waitSignal(context.imagesChanged) as changed:
        context.undo_stack.push(AcceptSuggestionsCommand(context, labels))
    assert sorted(changed.args[0]) == ids
    assert {r.id: r.class_id for r in project.images(ids)} == labels
    assert context.undo_stack.undoText() == "Accept suggestions for 9 images"
    assert accept_suggestions(project, 0.0) == {}  # nothing left to accept
    with qtbot.waitSignal(context.imagesChanged) as changed:
        context.undo_stack.undo()
    assert sorted(changed.args[0]) == ids
    assert all(r.class_id is None for r in project.images(ids))
    context.undo_stack.redo()
    assert {r.id: r.class_id for r in project.images(ids)} == labels
    context.undo_stack.undo()

    dialog = AcceptThresholdDialog(project, percent=0)
    qtbot.addWidget(dialog)
    assert dialog.threshold() == 0.0 and "9 images will be labeled" in dialog.count.text()
    dialog.spin.setValue(100)
    expected = len(accept_suggestions(project, 1.0))
    assert (f"{expected} image" in dialog.count.text()) if expected else (
        "No unlabeled image" in dialog.count.text())
    context.project = None  # the fixture closes the project
