"""Suggestions: the labels the model proposes for the project's own unlabeled images, kept in
the project, so the user can review them in the gallery and accept the confident ones.

`suggest_labels(project_path, run_dir, report, should_stop)` is a job (see core/jobs.py): it
predicts every unlabeled, readable image with the run's model (core/inference/predict.py predict_files)
and stores one suggestion per image in the project (`Project.store_suggestions`; the table is in
core/store/schema.py), replacing the previous ones (those of an earlier run) in one
transaction. Each keeps the image's content hash so a suggestion never outlives the pixels it
was made on (a changed file, or a new image that got a removed image's id, has none).

`Project.suggestions()` reads them back; `accept_suggestions(project, threshold)` says
which labels accepting the confident ones would set. It does not set them: the GUI applies
them through an undoable command (gui/label/accept_suggestions.py).

The store owns the SQL; this module decides what to predict and what to accept. Qt-free;
TensorFlow only inside the job.
"""

from __future__ import annotations

from mbv2gui.core.jobs import ignore_events, message, never_stop


def unlabeled_images(project) -> list:
    """The images to predict: unlabeled and readable (status ok), in the order they were added."""
    return [r for r in project.images() if r.class_id is None and r.status == "ok"]


def suggest_labels(project_path, run_dir, report=ignore_events, should_stop=never_stop) -> dict:
    """Predicts the project's unlabeled, readable images with the run in `run_dir` and stores
    the answers as suggestions. Returns {"run_id", "suggested": count stored, "unreadable":
    [(path, reason)], "suggestions": {image id: (label, confidence)}}. Raises JobCancelled when
    stopped (nothing is stored then: the previous suggestions stay as they were)."""
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
        project.store_suggestions(run.run_id, stored)
    finally:
        project.close()
    if unreadable:
        report(message(f"{len(unreadable)} image(s) could not be read and have no prediction "
                       f"(the first: {unreadable[0][1]})", "warning"))
    return {"run_id": run.run_id, "suggested": len(stored), "unreadable": unreadable,
            "suggestions": {i: (label, confidence) for i, (label, confidence, _) in stored.items()}}


def accept_suggestions(project, threshold: float) -> dict[int, int | None]:
    """The labels accepting the suggestions at or above `threshold` (0..1) would set:
    {image id: class id} for images still unlabeled whose suggested class still exists (a
    renamed or deleted class's suggestions are skipped). Sets nothing itself."""
    suggestions = project.suggestions()
    if not suggestions:
        return {}
    class_ids = {c.name: c.id for c in project.classes()}
    unlabeled = {r.id for r in project.images(list(suggestions)) if r.class_id is None}
    return {image_id: class_ids[label]
            for image_id, (label, confidence) in suggestions.items()
            if image_id in unlabeled and label in class_ids and confidence >= threshold}
