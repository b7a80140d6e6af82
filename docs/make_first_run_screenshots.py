"""Makes the README's first-run pictures the way a new user gets there, with no ImageNet weights
on the machine: the Train view saying the pretrained weights will be downloaded at Start, what
it says when they cannot be downloaded (offline), and the result of a weak model trained from
scratch. Run with a display or offscreen:

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/make_first_run_screenshots.py DATASET

DATASET is a folder with one subfolder per class (../shared/datasets/sign-digits-mini). The
Keras cache is pointed at an empty temporary folder, and the download at a closed local port,
so the pictures show what a user without the weights sees. Writes docs/first-run-*.png.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))
sys.path.insert(0, str(DOCS.parent))

from make_screenshots import save, settle, wait_until  # noqa: E402


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--epochs", type=int, default=4, help="the weak run's epochs")
    args = parser.parse_args()
    empty = Path(tempfile.mkdtemp())
    os.environ["KERAS_HOME"] = str(empty / "keras")
    os.environ["MBV2GUI_WEIGHTS_URL"] = f"http://127.0.0.1:{closed_port()}/mobilenet_v2/"
    os.environ.setdefault("MBV2GUI_SETTINGS_DIR", str(empty / "settings"))
    from mbv2gui.gui.shell.app import create_application
    from mbv2gui.gui.shell.main_window import TRAIN, MainWindow

    app = create_application()
    window = MainWindow(app.windowIcon())
    window.resize(1360, 860)
    window.show()
    window.projects.create_project(str(empty / "sign digits.mbv2"))
    window.imports.import_paths([str(args.dataset)])
    wait_until(lambda: window.context.project.image_count() >= 10
               and not window.runner.running_jobs(), 300)
    window.show_view(TRAIN)
    view = window._ensure_view(TRAIN)
    view.form.set_advanced_visible(True)
    settle()
    save(window, "first-run-weights.png")

    view.start_training()  # the download fails at once: nobody listens on that port
    wait_until(lambda: view.weights_notice.isVisible(), 120)
    save(window, "first-run-offline.png")

    view.form.set_advanced_visible(False)
    view.form.set_values(epochs=args.epochs, batch_size=16)
    view.weights_notice.trigger("Train from Scratch")
    wait_until(lambda: not view.is_training(), 1800)
    save(window, "first-run-weak.png")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
