"""The model's answers on the project's own unlabeled images, kept in the project, so the user
can review them in the gallery and accept the confident ones as labels.

`predict_unlabeled(project_path, run_dir, report, should_stop)` is a job (see core/jobs.py): it
predicts every unlabeled, readable image with the run's model (core/inference/predict.py predict_files)
and stores one row per image in the project's `predictions` table, replacing the previous
predictions (those of an earlier run) in one transaction. The table is this module's own,
created on first use (`CREATE TABLE IF NOT EXISTS`); it keeps each image's content hash so a
prediction never outlives the pixels it was made on (a changed file, or a new image that got a
removed image's id, has no prediction).

`stored_predictions(project)` reads them back; `accept_predictions(project, threshold)` says
which labels accepting the confident ones would set. It does not set them: the GUI applies
them through an undoable command (gui/label/accept_predictions.py).

Writes go through `Project._transaction()` (one committed transaction, as every project
change), reads through the project's connection. Qt-free; TensorFlow only inside the job.
"""

from __future__ import annotations

from mbv2gui.core.jobs import ignore_events, message, never_stop

TABLE = """
CREATE TABLE IF NOT EXISTS predictions (
    image_id     INTEGER PRIMARY KEY,
    run_id       TEXT,
    label        TEXT,
    confidence   REAL,
    content_hash TEXT   -- the image's hash when predicted: a changed file loses its prediction
)"""


def _has_table(project) -> bool:
    row = project._db.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='predictions'").fetchone()
    return row is not None


def unlabeled_images(project) -> list:
    """The images to predict: unlabeled and readable (status ok), in the order they were added."""
    return [r for r in project.images() if r.class_id is None and r.status == "ok"]


def store_predictions(project, run_id: str, rows: dict[int, tuple[str, float, str | None]]) -> None:
    """Replaces every stored prediction with `rows` {image id: (label, confidence, content
    hash)}, in one transaction."""
    with project._transaction() as db:
        db.execute(TABLE)
        db.execute("DELETE FROM predictions")
        db.executemany(
            "INSERT INTO predictions (image_id, run_id, label, confidence, content_hash) "
            "VALUES (?, ?, ?, ?, ?)",
            [(image_id, run_id, label, float(confidence), content_hash)
             for image_id, (label, confidence, content_hash) in rows.items()])


def predict_unlabeled(project_path, run_dir, report=ignore_events, should_stop=never_stop) -> dict:
    """Predicts the project's unlabeled, readable images with the run in `run_dir` and stores
    the answers. Returns {"run_id", "predicted": count stored, "unreadable": [(path, reason)],
    "predictions": {image id: (label, confidence)}}. Raises JobCancelled when stopped (nothing
    is stored then: the previous predictions stay as they were)."""
    from mbv2gui.core.inference.predict import predict_files
    from mbv2gui.core.store.project import Project
    from mbv2gui.core.runs import Run

    run = Run.load(run_dir)
    project = Project.open(project_path)
    try:
        images = unlabeled_images(project)
        if not images:
            report(message("There are no unlabeled images to predict.", "info"))
        rows = predict_files(run, [r.path for r in images], report, should_stop) if images else []
        stored, unreadable = {}, []
        for record, row in zip(images, rows):
            if row["error"] is None:
                stored[record.id] = (row["label"], row["confidence"], record.content_hash)
            else:
                unreadable.append((record.path, row["error"]))
        store_predictions(project, run.run_id, stored)
    finally:
        project.close()
    if unreadable:
        report(message(f"{len(unreadable)} image(s) could not be read and have no prediction "
                       f"(the first: {unreadable[0][1]})", "warning"))
    return {"run_id": run.run_id, "predicted": len(stored), "unreadable": unreadable,
            "predictions": {i: (label, confidence) for i, (label, confidence, _) in stored.items()}}


def stored_predictions(project) -> dict[int, tuple[str, float]]:
    """{image id: (label, confidence)} for every image that has a prediction still valid (the
    image is in the project with the content it was predicted on). Labeled images keep theirs
    too (labeled after the prediction); the gallery shows what it needs."""
    if not _has_table(project):
        return {}
    rows = project._db.execute(
        "SELECT p.image_id, p.label, p.confidence FROM predictions p JOIN images i "
        "ON i.id = p.image_id WHERE p.content_hash IS i.content_hash ORDER BY p.image_id")
    return {image_id: (label, confidence) for image_id, label, confidence in rows}


def predictions_run_id(project) -> str | None:
    """The run the stored predictions came from (None: no predictions)."""
    if not _has_table(project):
        return None
    row = project._db.execute("SELECT run_id FROM predictions LIMIT 1").fetchone()
    return row[0] if row else None


def accept_predictions(project, threshold: float) -> dict[int, int | None]:
    """The labels accepting the predictions at or above `threshold` (0..1) would set:
    {image id: class id} for images still unlabeled whose predicted class still exists (a
    renamed or deleted class's predictions are skipped). Sets nothing itself."""
    predictions = stored_predictions(project)
    if not predictions:
        return {}
    class_ids = {c.name: c.id for c in project.classes()}
    unlabeled = {r.id for r in project.images(list(predictions)) if r.class_id is None}
    return {image_id: class_ids[label]
            for image_id, (label, confidence) in predictions.items()
            if image_id in unlabeled and label in class_ids and confidence >= threshold}
