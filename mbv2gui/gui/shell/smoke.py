"""`mbv2gui --smoke-test FOLDER`: what packaging/smoke.sh asks the BUILT app to do, the way a
user would: show the window, import a folder of images through the window's own import flow,
train a tiny model for one epoch, predict, write FOLDER/result.json (with the ImageNet weights
the bundle holds), and exit 0. Any failure prints the reason and exits 1, so a broken bundle (a
missing module, Qt plugin or TF library) is caught before a user double-clicks it."""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication


def _wait_for_job(job, timeout_s: float):
    """Runs the event loop until `job` ends; returns its result or raises with its message."""
    outcome: dict = {}
    loop = QEventLoop()
    job.finished.connect(lambda result: (outcome.update(result=result), loop.quit()))
    job.failed.connect(lambda text, detail: (outcome.update(error=f"{text}\n{detail}"), loop.quit()))
    job.cancelled.connect(lambda: (outcome.update(error="cancelled"), loop.quit()))
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    if "error" in outcome or "result" not in outcome:
        raise RuntimeError(outcome.get("error", f"the job did not finish in {timeout_s:.0f} s"))
    return outcome["result"]


def _wait_until(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _open_every_view(window) -> list[str]:
    """Builds every view; a view that could not be (a module or a library such as pyqtgraph
    missing from the bundle) shows a placeholder page, which fails the smoke test."""
    names = []
    for index, name in enumerate(window.VIEW_NAMES):
        window.show_view(index)
        view = window._ensure_view(index)
        if view.objectName() == "placeholderPage":
            raise RuntimeError(f"the {name} view could not be built: {view.toolTip()}")
        names.append(type(view).__name__)
    return names


def _predict_in_the_view(window, paths: list[str]) -> int:
    """Predicts through the Predict view (Grad-CAM heat maps included); returns its cards."""
    view = window.predict_view()
    window.predict_paths(paths)
    if not _wait_until(lambda: not view.is_busy() and len(view.cards) == len(paths), 300):
        raise RuntimeError(f"the Predict view made {len(view.cards)} of {len(paths)} cards")
    return len(view.cards)


def _weights_report() -> dict:
    """Whether the bundle has the ImageNet weights, and whether the default settings find them
    there (a lookup only: no network, no TensorFlow)."""
    from mbv2gui.core.training.config import TrainConfig
    from mbv2gui.core.training.weights import bundled_imagenet_files, describe_weights

    defaults = TrainConfig()
    status = describe_weights(defaults.weights, defaults.alpha, defaults.image_size)
    return {"bundled_weights": bundled_imagenet_files(), "default_weights": status.kind}


def run_smoke_test(folder: str) -> int:
    work = Path(folder)
    work.mkdir(parents=True, exist_ok=True)
    try:
        from mbv2gui.gui.shell.app import create_application
        from mbv2gui.gui.shell.main_window import MainWindow

        app = create_application()
        window = MainWindow(app.windowIcon())
        window.show()
        app.processEvents()
        result = {"window_shown_at": time.time(), **_weights_report()}
        print("smoke: window shown", flush=True)

        from mbv2gui.core.files.sample_images import write_color_classes

        images = work / "images"
        files = write_color_classes(images, per_class=6, size=48)
        window.projects.create_project(str(work / "smoke.mbv2"))
        project = window.context.project
        window.imports.import_paths([str(images)])
        if not _wait_until(lambda: project.image_count() >= len(files), 120):
            raise RuntimeError(f"the import did not finish: {project.image_count()} of {len(files)}")
        result["images_imported"] = project.image_count()
        print(f"smoke: imported {project.image_count()} images", flush=True)

        from mbv2gui.core.inference.predict import predict_files
        from mbv2gui.core.training.config import TrainConfig
        from mbv2gui.core.training.train import train

        config = TrainConfig(image_size=32, alpha=0.35, weights="none", epochs=1, batch_size=4)
        run = _wait_for_job(window.runner.start_in_engine(train, str(project.path), config, name="training"), 600)
        result["run_id"] = run.run_dir.name
        print(f"smoke: trained run {run.run_dir.name}", flush=True)
        window.context.runsChanged.emit()
        window.context.set_current_run(run.run_id)
        result["views"] = _open_every_view(window)
        result["cards"] = _predict_in_the_view(window, [str(p) for p in files[:2]])
        print(f"smoke: views {result['views']}, {result['cards']} prediction cards", flush=True)
        predictions = _wait_for_job(
            window.runner.start_in_engine(predict_files, run, [str(p) for p in files[:4]], name="predicting"), 300)
        result["predictions"] = [{"path": p["path"], "label": p["label"],
                                  "confidence": p["confidence"], "error": p["error"]}
                                 for p in predictions]
        if any(p["error"] for p in predictions):
            raise RuntimeError(f"prediction failed: {predictions}")
        (work / "result.json").write_text(json.dumps(result, indent=2))
        window.close()
        return 0
    except Exception:  # noqa: BLE001 - the smoke test reports every failure the same way
        traceback.print_exc()
        return 1
