"""Makes the README's screenshots the way a person would get there: the real main window, a
project made by dropping a folder of sign-digit photos on it, a training started from the
Train view, predictions from the Predict view. Run under a virtual display:

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python docs/make_screenshots.py DATASET

DATASET is a folder with one subfolder per class (../shared/datasets/sign-digits-mini).
Writes docs/screenshot-train.png and docs/screenshot-predict.png, and a mid-training shot to
look at (not in the README) in the temporary folder.
Trains from scratch (no ImageNet file offline), so it takes a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication

DOCS = Path(__file__).resolve().parent


def wait_until(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout_s:.0f} s")
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)


def settle(seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def save(window, name: str, folder: Path = DOCS) -> None:
    settle()
    window.grab().save(str(folder / name))
    print(f"wrote {folder / name}", flush=True)


def train(window, epochs: int) -> None:
    from mbv2gui.gui.shell.main_window import TRAIN

    window.show_view(TRAIN)
    view = window._ensure_view(TRAIN)
    view.form.set_values(image_size=96, alpha=0.35, weights="none", epochs=epochs,
                         batch_size=16)
    view.start_training()
    wait_until(lambda: len(view.plots.points(view.plots.val_accuracy)[0]) >= epochs // 4, 1800)
    save(window, "screenshot-train-during.png", Path(tempfile.gettempdir()))
    wait_until(lambda: not view.is_training(), 3600)
    save(window, "screenshot-train.png")


def predict(window, dataset: Path) -> None:
    from mbv2gui.gui.shell.main_window import PREDICT

    # One photo of each of the first classes (held-out ones would be better; any will do for
    # showing the heat map and the confidences).
    photos = [sorted(p for p in folder.iterdir() if p.is_file())[-1]
              for folder in sorted(dataset.iterdir()) if folder.is_dir()][:4]
    window.predict_paths([str(p) for p in photos])
    view = window._ensure_view(PREDICT)
    wait_until(lambda: not view.is_busy(), 600)
    save(window, "screenshot-predict.png")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--skip-training", action="store_true",
                        help="(with --project) use the project's runs as they are")
    parser.add_argument("--project", type=Path, help="reuse this project file")
    args = parser.parse_args()
    sys.path.insert(0, str(DOCS.parent))
    from mbv2gui.gui.shell.app import create_application
    from mbv2gui.gui.shell.main_window import MainWindow

    app = create_application()
    window = MainWindow(app.windowIcon())
    window.resize(1360, 860)
    window.show()
    project_file = args.project or Path(tempfile.mkdtemp()) / "sign digits.mbv2"
    if project_file.exists():
        window.projects.open_project(str(project_file))
    else:
        window.projects.create_project(str(project_file))
        window.imports.import_paths([str(args.dataset)])
        wait_until(lambda: window.context.project.image_count() >= 200
                   and not window.runner.running_jobs(), 300)
    print(f"project: {project_file}", flush=True)
    if not args.skip_training:
        train(window, args.epochs)
    predict(window, args.dataset)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
