"""A window in a fresh process, for the engine tests that must look at a whole process from
outside (which modules it loaded, what is left after it is closed or killed).

    python tests/engine_window_script.py train FOLDER   trains once through the Train view,
        opens Evaluate, predicts two files in the Predict view (heat maps included), prints one
        JSON line (what ended, the cards, whether TensorFlow/Keras are in this process's
        sys.modules, the engine's pid), closes the window, prints {"closed": true}
    python tests/engine_window_script.py hold FOLDER    starts an engine job that waits for
        Stop, prints {"engine_pid": ...}, and waits to be killed
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # helpers_images, engine_jobs


def wait_until(app, condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.01)
    return True


def say(data: dict) -> None:
    print(json.dumps(data), flush=True)


def main(mode: str, folder: Path) -> None:
    os.environ["MBV2GUI_SETTINGS_DIR"] = str(folder / "settings")
    from PySide6.QtWidgets import QApplication

    from helpers_images import make_class_tree
    from mbv2gui.gui.shell.main_window import EVALUATE, TRAIN, MainWindow

    app = QApplication([])
    window = MainWindow()
    window.show()
    engine_pids: list[int] = []

    def note_engine(event: dict) -> None:
        if event.get("type") == "engine":
            engine_pids.append(event["pid"])

    if mode == "hold":
        import engine_jobs

        job = window.runner.start_in_engine(engine_jobs.waits_for_stop, name="holding")
        job.event.connect(note_engine)
        wait_until(app, lambda: engine_pids, 60)
        say({"engine_pid": engine_pids[0], "window_pid": os.getpid(),
             "array_folder": window.runner.engine._generation.array_folder})
        while True:  # until the test kills us
            app.processEvents()
            time.sleep(0.05)

    make_class_tree(folder / "photos", per_class=4, size=32)
    window.projects.create_project(str(folder / "engine.mbv2"))
    window.imports.import_paths([str(folder / "photos")])
    wait_until(app, lambda: window.context.project.image_count() == 12
               and not window.imports.is_running(), 60)
    window.show_view(TRAIN)
    wait_until(app, lambda: window.view(TRAIN) is not None, 10)
    view = window.view(TRAIN)
    view.form.set_values(image_size=32, alpha=0.35, weights="none", epochs=1, batch_size=8,
                         fine_tune_epochs=0)
    ended: list[str] = []
    view.trainingEnded.connect(ended.append)
    assert view.start_training(), view.result.text()
    window.runner.running_jobs()[0].event.connect(note_engine)
    wait_until(app, lambda: ended, 300)

    window.show_view(EVALUATE)
    wait_until(app, lambda: window.view(EVALUATE) is not None, 10)
    photos = sorted(str(p) for p in (folder / "photos").rglob("*.png"))[:2]
    predict = window.predict_view()
    window.predict_paths(photos)
    wait_until(app, lambda: not predict.is_busy() and len(predict.cards) == len(photos), 120)
    cards = [{"label": card.row.get("label"), "error": card.row.get("error"),
              "heatmap": list(getattr(card.row.get("heatmap"), "shape", ()))}
             for card in predict.cards]
    say({"ended": ended, "result": view.result.text(), "runs": len(window.context.project.runs()),
         "cards": cards,
         "tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules,
         "engine_pid": engine_pids[0] if engine_pids else None, "window_pid": os.getpid()})
    window.close()
    app.processEvents()
    say({"closed": not window.isVisible()})


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
