"""The app's engine from Python (a notebook, a script): the same core jobs the window and the
command line run, with a progress bar, and results as plain data (dicts, lists, paths).

    from mbv2gui import Project, train, predict, evaluate, export, report

    project = Project("photos")               # a folder with one subfolder per class, or a .mbv2
    run = train(project, epochs=5)            # {"run": folder, "val_accuracy": ..., ...}
    evaluate(run)["confusion_matrix"]         # on the run's validation images
    predict(run, ["new.jpg"])                 # [{"path", "label", "confidence", "top_k", "error"}]
    export(run, "onnx", "exported")           # {"files", "agreement", "summary", ...}
    report(run, "report")                     # report.html and report.pdf
    plot_curves(run); plot_confusion(run)     # with matplotlib (pip install mbv2gui[plots])

A run is named by its folder (a path) or by the dict train() returned. Errors are UserError:
one sentence saying what is wrong and what to do. TensorFlow is imported by the first job only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Project", "train", "predict", "evaluate", "export", "report", "plot_curves",
           "plot_confusion"]


@dataclass(frozen=True)
class Project:
    """Images to train on: a folder with one subfolder per class, or a project file (.mbv2)."""

    path: Path

    def __init__(self, path):
        object.__setattr__(self, "path", Path(path))

    def __fspath__(self) -> str:
        return str(self.path)

    def classes(self) -> dict:
        """{class: number of images} (a folder: its subfolders; a project: its labels)."""
        from mbv2gui.core.training.dataset import load_train_data

        _, data = load_train_data(str(self.path), 0.2, 0)
        counts = {name: 0 for name in data.class_names}
        for sample in data.samples:
            counts[sample.label] += 1
        return counts


def _progress_bar(title: str):
    """A report(event) that draws progress events: tqdm (its notebook widget when Jupyter
    has ipywidgets) when installed, else the command line's text bar."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        from mbv2gui.commands.progress import ProgressPrinter

        return ProgressPrinter()
    bar = tqdm(total=1, desc=title, unit="step", leave=True)

    def report(event: dict) -> None:
        if event.get("type") == "progress" and event.get("total"):
            bar.total = event["total"]
            bar.n = event["done"]
            if event.get("message"):
                bar.set_postfix_str(str(event["message"])[:40], refresh=False)
            bar.refresh()
        elif event.get("type") == "epoch":
            shown = {k: round(v, 3) for k, v in event.items()
                     if k in ("loss", "accuracy", "val_loss", "val_accuracy")
                     and isinstance(v, (int, float))}
            bar.set_postfix(shown)

    report.close = bar.close
    return report


def _run_job(title: str, job, *args, progress: bool = True, **kwargs):
    report = _progress_bar(title) if progress else (lambda event: None)
    try:
        return job(*args, report=report, **kwargs)
    finally:
        getattr(report, "close", lambda: None)()


def _run_folder(run) -> Path:
    return Path(run["run"] if isinstance(run, dict) else run)


def _load(run):
    from mbv2gui.core.runs import Run

    return Run.load(_run_folder(run))


def train(data, out=None, *, progress: bool = True, **settings) -> dict:
    """Trains on `data` (a Project, a folder of class subfolders or a .mbv2 file) and returns
    the run as plain data. `settings` are TrainConfig's: image_size, alpha, weights ("auto",
    "imagenet", "none", a run folder or a weights file), epochs, fine_tune_epochs, val_split,
    seed, batch_size, ... `out`: the run folder (default: the project's or the user's runs)."""
    from mbv2gui.core.inference.quality import quality_sentence
    from mbv2gui.core.training.train import TrainConfig, train as train_job

    config = TrainConfig(**settings)
    result = _run_job("Training", train_job, os.fspath(data), config, progress=progress,
                      run_dir=out)
    return {"run": str(result.run_dir), "name": result.display_name,
            "class_names": list(result.class_names),
            "val_accuracy": result.metrics.get("val_accuracy"),
            "verdict": quality_sentence(result), "history": dict(result.history),
            "settings": config.to_dict()}


def predict(run, images, top_k: int = 3, *, progress: bool = True) -> list[dict]:
    """The top classes of each image (paths, or folders whose images are taken)."""
    from mbv2gui.core.inference.predict import expand_paths, predict_files

    paths = expand_paths([os.fspath(p) for p in
                          ([images] if isinstance(images, (str, os.PathLike)) else images)])
    return _run_job("Predicting", predict_files, _load(run), paths, progress=progress,
                    top_k=top_k)


def evaluate(run, data=None, *, progress: bool = True) -> dict:
    """Accuracy (with how sure it is), per-class precision/recall/F1 and the confusion matrix:
    on the run's validation images, or on `data` (a folder with one subfolder per class)."""
    from mbv2gui.core.inference.evaluation import evaluate_files, evaluate_run, folder_items
    from mbv2gui.core.inference.quality import accuracy_uncertainty

    loaded = _load(run)
    if data is None:
        evaluation = evaluate_run(loaded)
    else:
        evaluation = _run_job("Evaluating", evaluate_files, loaded, folder_items(data),
                              progress=progress)
    result = evaluation.to_dict()
    if evaluation.accuracy is not None:
        result["accuracy_words"] = accuracy_uncertainty(evaluation.accuracy, evaluation.total)
    return result


def export(run, fmt: str, out, *, progress: bool = True) -> dict:
    """Writes the run's model in format `fmt` (see mbv2gui.core.export.formats.FORMATS) into
    the folder `out`, checked against the app's answers; the result as plain data."""
    from mbv2gui.core.export import export_run

    result = _run_job(f"Exporting {fmt}", export_run, _run_folder(run), fmt, out,
                      progress=progress)
    return {**result.to_dict(), "summary": result.summary()}


def report(run, out, pdf: bool = True) -> list[Path]:
    """The run's report: OUT.html (self-contained) and, with Qt, OUT.pdf."""
    from mbv2gui.gui.common.report_files import write_report

    return write_report(_run_folder(run), out, pdf=pdf)


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        from mbv2gui.core.errors import UserError

        raise UserError("Plots need matplotlib; install mbv2gui[plots] (pip install "
                        "matplotlib).", str(exc)) from exc
    return plt


def plot_curves(run):
    """Loss and accuracy per epoch, train and validation (a matplotlib figure)."""
    plt = _pyplot()
    history = _load(run).history
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for axis, key in zip(axes, ("loss", "accuracy")):
        for prefix, name in (("", "train"), ("val_", "validation")):
            if history.get(prefix + key):
                axis.plot(range(1, len(history[prefix + key]) + 1), history[prefix + key],
                          marker="o", label=name)
        axis.set_title(key.capitalize())
        axis.set_xlabel("epoch")
        axis.legend()
    figure.tight_layout()
    return figure


def plot_confusion(run):
    """The confusion matrix on the validation images as a heat map (a matplotlib figure)."""
    plt = _pyplot()
    data = evaluate(run, progress=False)
    matrix, names = data["confusion_matrix"], data["class_names"]
    figure, axis = plt.subplots(figsize=(1.0 + 0.6 * len(names), 0.8 + 0.6 * len(names)))
    axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axis.set_yticks(range(len(names)), names)
    axis.set_xlabel("chosen by the model")
    axis.set_ylabel("true class")
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            axis.text(j, i, count, ha="center", va="center")
    figure.tight_layout()
    return figure
