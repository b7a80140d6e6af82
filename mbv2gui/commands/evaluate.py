"""`mbv2gui evaluate RUN DATA [--all] [--json FILE]`: how well a run does on labeled images.

DATA is a folder with one subfolder per class, or a project. From a project, only the images
the run did not train on count by default (those it kept aside for validation and testing, the
figure the window shows); `--all` takes every labeled image, the trained-on ones included. The
report says which images were used. The run's model predicts each image and the answers are
compared with the labels, with the same computation the Evaluate view uses
(mbv2gui.core.inference.evaluation).
"""

from __future__ import annotations

import argparse
import json
import os

from mbv2gui.core.errors import UserError
from mbv2gui.core.inference.evaluation import Evaluation, evaluate_files, folder_items, misclassified


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="a run folder (made by `mbv2gui train`)")
    parser.add_argument("data", metavar="DATA",
                        help="a folder with one subfolder of images per class, or a project file")
    parser.add_argument("--all", action="store_true", dest="everything",
                        help="from a project: every labeled image, also those the run trained "
                        "on (by default only the images it kept aside, which it never saw)")
    parser.add_argument("--json", metavar="FILE",
                        help="also write the results and the misclassified images to FILE")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _is_project(data: str) -> bool:
    from mbv2gui.core.store.project import PROJECT_SUFFIX

    return os.path.isfile(data) and data.endswith(PROJECT_SUFFIX)


def _project_images(data: str) -> list:
    from mbv2gui.core.store.project import Project

    project = Project.open(data)
    try:
        images = project.labeled_images()
    finally:
        project.close()
    if not images:
        raise UserError(f"The project {os.path.basename(data)} has no labeled images to evaluate on.")
    return images


def data_items(data: str) -> list[tuple[str, str]]:
    """(path, class name) pairs from a folder of class subfolders or a project."""
    if _is_project(data):
        return [(image.path, image.label) for image in _project_images(data)]
    if not os.path.isdir(data):
        raise UserError(f"{data} is neither a folder nor a project file; give a folder with one "
                        "subfolder per class, or a project.")
    return folder_items(data)


def images_to_evaluate(data: str, held_out_rows: list, everything: bool = False
                       ) -> tuple[list[tuple[str, str]], str]:
    """The (path, class name) pairs to evaluate on, and a sentence saying which they are.
    `held_out_rows`: the run's predictions.json rows (the images it kept aside)."""
    if not _is_project(data):
        items = data_items(data)
        return items, (f"Images used: every image in the folder {data} ({len(items):,} files; "
                       "any that cannot be read are left out and named).")
    images = _project_images(data)
    held = {row.get("content_hash") for row in held_out_rows} | {row.get("path") for row in held_out_rows}
    kept = [image for image in images if image.content_hash in held or image.path in held]
    name, total = os.path.basename(data), len(images)
    if everything:
        return ([(i.path, i.label) for i in images],
                f"Images used: all {total:,} labeled images of {name} (--all), including the "
                f"{total - len(kept):,} the run could have trained on: the accuracy on those "
                "says little about new images.")
    if not kept:
        return ([(i.path, i.label) for i in images],
                f"Images used: all {total:,} labeled images of {name}: the run kept none of "
                "them aside (it was trained on other images, or on all of these).")
    return ([(i.path, i.label) for i in kept],
            f"Images used: the {len(kept):,} labeled images of {name} the run did not train on "
            f"(kept aside for validation and testing); --all adds the other "
            f"{total - len(kept):,}.")


def format_report(evaluation: Evaluation, misclassified_shown: int = 10) -> str:
    names = evaluation.class_names
    lines = []
    accuracy = evaluation.accuracy
    lines.append(f"Accuracy: {accuracy:.1%} on {evaluation.total} images" if accuracy is not None
                 else "Accuracy: no images to evaluate")
    width = max(8, *(len(n) for n in names))
    lines.append("")
    lines.append(f"{'class':<{width}}  precision  recall     f1  support")
    for m in evaluation.per_class:
        lines.append(f"{m.name:<{width}}  {m.precision:9.3f}  {m.recall:6.3f}  {m.f1:5.3f}  {m.support:7d}")
    lines.append("")
    lines.append("Confusion matrix (rows: true class, columns: predicted class):")
    cell = max(4, len(str(int(evaluation.confusion.max(initial=0)))) + 1)
    if max(len(n) for n in names) < cell + 3:  # short names ("0".."9", "cat") head the columns
        cell = max(cell, max(len(n) for n in names) + 1)
        lines.append(" " * width + "".join(f"{n:>{cell}}" for n in names))
        rows = [f"{name:<{width}}" for name in names]
    else:  # long names: columns numbered, so that any number of classes fits a terminal
        lines.append(" " * (width + 5) + "".join(f"{j + 1:>{cell}}" for j in range(len(names))))
        rows = [f"{name:<{width}} {i + 1:>3}:" for i, name in enumerate(names)]
    for row, counts in zip(rows, evaluation.confusion):
        lines.append(row + "".join(f"{c:>{cell}}" for c in counts))
    mistakes = misclassified(evaluation)
    if mistakes:
        lines.append("")
        lines.append(f"{len(mistakes)} misclassified; the most confident mistakes:")
        for p in mistakes[:misclassified_shown]:
            lines.append(f"  {names[p.true]} → {names[p.predicted]} ({p.confidence:.0%}): {p.path}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if not _is_project(args.data):
        data_items(args.data)  # first: a wrong DATA is told before the run is read
    from mbv2gui.commands.progress import run_job
    from mbv2gui.core.runs import Run

    run_ = Run.load(args.run)  # its files only; the model loads when the job needs it
    items, which = images_to_evaluate(args.data, run_.predictions, args.everything)
    evaluation = run_job(evaluate_files, run_, items, quiet=args.quiet)
    print(which)
    print(format_report(evaluation))
    if args.json:
        try:
            with open(args.json, "w", encoding="utf-8") as handle:
                json.dump(evaluation.to_dict(), handle, indent=2)
        except OSError as exc:
            raise UserError(f"Could not write {args.json}: {exc.strerror}.", str(exc)) from exc
    return 0
