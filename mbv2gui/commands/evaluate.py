"""`mbv2gui evaluate RUN DATA [--json FILE]`: how well a run does on labeled images.

DATA is a folder with one subfolder per class, or a project (its labeled images). The run's
model predicts every image and the answers are compared with the labels, with the same
computation the Evaluate view uses (mbv2gui.core.inference.evaluation).
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
    parser.add_argument("--json", metavar="FILE",
                        help="also write the results and the misclassified images to FILE")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def data_items(data: str) -> list[tuple[str, str]]:
    """(path, class name) pairs from a folder of class subfolders or a project."""
    from mbv2gui.core.store.project import PROJECT_SUFFIX, Project

    if os.path.isfile(data) and data.endswith(PROJECT_SUFFIX):
        project = Project.open(data)
        try:
            items = [(image.path, image.label) for image in project.labeled_images()]
        finally:
            project.close()
        if not items:
            raise UserError(f"The project {os.path.basename(data)} has no labeled images to evaluate on.")
        return items
    if not os.path.isdir(data):
        raise UserError(f"{data} is neither a folder nor a project file; give a folder with one "
                        "subfolder per class, or a project.")
    return folder_items(data)


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
    items = data_items(args.data)  # first: a wrong DATA is told before the model loads
    from mbv2gui.commands.progress import run_job
    from mbv2gui.core.runs import Run

    run_ = Run.load(args.run)
    evaluation = run_job(evaluate_files, run_, items, quiet=args.quiet)
    print(format_report(evaluation))
    if args.json:
        try:
            with open(args.json, "w", encoding="utf-8") as handle:
                json.dump(evaluation.to_dict(), handle, indent=2)
        except OSError as exc:
            raise UserError(f"Could not write {args.json}: {exc.strerror}.", str(exc)) from exc
    return 0
