"""The real main window, driven as a person would: drop a folder tree, watch images and classes
arrive, undo the import, close and reopen, recent projects, missing files, quitting mid-job."""

import os
import shutil
import time

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from mbv2gui.core.errors import JobCancelled
from mbv2gui.gui.shell.main_window import WELCOME, WORKSPACE, MainWindow
from mbv2gui.core.files.filecheck import find_relink
from mbv2gui.gui.shell.project_flow import describe_check, suggested_project_path
from mbv2gui.gui.shell.settings import recent_projects

COLORS = {"red": (220, 40, 40), "green": (40, 180, 60)}
PER_CLASS = 4


def make_image_tree(root):
    """photos/red/*.png, photos/green/*.png (each image distinct), one loose image, a text file."""
    photos = root / "photos"
    for name, color in COLORS.items():
        (photos / name).mkdir(parents=True)
        for i in range(PER_CLASS):
            image = Image.new("RGB", (24, 24), color)
            image.putpixel((i, i), (255, 255, 255))  # distinct content, so no duplicates
            image.save(photos / name / f"{name}{i}.png")
    Image.new("RGB", (24, 24), (30, 30, 200)).save(photos / "loose.png")
    (photos / "notes.txt").write_text("not an image")
    return photos


EXPECTED = len(COLORS) * PER_CLASS + 1


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    yield window
    # Stop what still runs (a file check, say) before closing, so closing asks nothing.
    assert window.runner.shutdown(5.0)
    window.close()
    window.deleteLater()


def drop(window, paths):
    """A real drag-and-drop from outside the app, delivered where the platform delivers it:
    to the window's QWindow, before Qt chooses a child widget."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    target = window.windowHandle()
    centre = QPointF(window.width() / 2, window.height() / 2)
    enter = QDragEnterEvent(centre.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the window refused the drag"
    assert window.overlay.isVisible()
    event = QDropEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, event)
    assert event.isAccepted()
    assert not window.overlay.isVisible()


def wait_for_import(qtbot, window, count):
    qtbot.waitUntil(lambda: window.context.project is not None
                    and window.context.project.image_count() == count
                    and not window.imports.is_running(), timeout=15000)


def test_drop_imports_classes_shows_counts_and_undoes(qtbot, window, tmp_path):
    photos = make_image_tree(tmp_path)
    assert window.projects.create_project(str(tmp_path / "demo.mbv2"))
    assert window.pages.currentIndex() == WORKSPACE
    arrived = []
    window.context.imagesChanged.connect(arrived.extend)

    drop(window, [photos])
    wait_for_import(qtbot, window, EXPECTED)

    project = window.context.project
    assert sorted(project.class_names()) == ["green", "red"]
    assert sorted(arrived) == sorted(image.id for image in project.images())
    qtbot.waitUntil(lambda: f"{EXPECTED} images" in window.status.counts.text())
    assert "1 unlabeled" in window.status.counts.text()
    undo_import = f"Undo import {EXPECTED} images"  # says what it takes back
    assert window.notices.isVisible() and undo_import in window.notices.action_titles()
    window.notices.trigger(undo_import)
    assert project.image_count() == 0
    assert project.class_names() == []  # the classes the import made go with it
    assert not window.notices.isVisible()
    window.context.undo_stack.redo()
    assert project.image_count() == EXPECTED
    assert sorted(project.class_names()) == ["green", "red"]


def test_close_reopen_and_recent_projects(qtbot, window, tmp_path):
    photos = make_image_tree(tmp_path)
    path = str(tmp_path / "kept.mbv2")
    assert window.projects.create_project(path)
    drop(window, [photos / "red", photos / "green"])
    wait_for_import(qtbot, window, 2 * PER_CLASS)
    first = window.context.project.images()[0].id
    window.context.project.label_images([first], None)

    window.menus.close_project.trigger()
    assert window.context.project is None
    assert window.pages.currentIndex() == WELCOME
    assert recent_projects()[0] == os.path.abspath(path)
    assert window.welcome.recent_paths()[0] == os.path.abspath(path)
    assert not window.menus.import_csv.isEnabled()

    window.welcome.openPathRequested.emit(path)
    project = window.context.project
    assert project is not None and project.image_count() == 2 * PER_CLASS
    assert project.image(first).class_id is None
    assert window.windowTitle().startswith("kept")


def test_drop_on_an_empty_window_makes_a_project_next_to_the_folder(qtbot, window, tmp_path,
                                                                     monkeypatch):
    photos = make_image_tree(tmp_path)
    asked = []
    monkeypatch.setattr(window.projects, "choose_project_location",
                        lambda paths: asked.append(paths) or suggested_project_path(paths))
    assert window.pages.currentIndex() == WELCOME
    drop(window, [photos])
    wait_for_import(qtbot, window, EXPECTED)
    assert asked == [[str(photos)]]
    assert window.context.project.path == tmp_path / "photos.mbv2"


def test_where_a_project_for_dropped_images_goes(tmp_path):
    photos = make_image_tree(tmp_path)
    assert suggested_project_path([str(photos)]) == tmp_path / "photos.mbv2"
    assert suggested_project_path([str(photos / "red"), str(photos / "green")]) == \
        tmp_path / "photos.mbv2"
    assert suggested_project_path([str(photos / "loose.png")]) == tmp_path / "photos.mbv2"


def test_missing_images_are_reported_and_a_moved_folder_relinked(qtbot, window, tmp_path):
    photos = make_image_tree(tmp_path)
    path = str(tmp_path / "moved.mbv2")
    window.projects.create_project(path)
    drop(window, [photos])
    wait_for_import(qtbot, window, EXPECTED)
    window.projects.close_project()
    moved = tmp_path / "elsewhere" / "pictures"
    moved.parent.mkdir()
    shutil.move(str(photos), str(moved))

    window.projects.open_project(path)
    qtbot.waitUntil(lambda: "missing" in window.notices.text(), timeout=10000)
    assert "Relink Folder…" in window.notices.action_titles()
    missing_path = window.context.project.images()[0].path
    assert find_relink(missing_path, str(moved)) == (str(photos), str(moved))

    assert window.projects.relink_to(missing_path, str(moved))
    qtbot.waitUntil(lambda: "relinked" in window.notices.text(), timeout=10000)
    statuses = {image.status for image in window.context.project.images()}
    assert statuses == {"ok"}


def test_describe_check_in_words():
    assert describe_check({"missing": [1, 2], "changed": [3]}) == \
        "2 images are missing and 1 changed on disk since the project was last open."
    assert describe_check({"missing": [], "changed": []}) == ""


def test_quitting_while_a_job_runs_asks_then_stops_it(qtbot, window, monkeypatch):
    def runs_until_stopped(*, report, should_stop):
        while not should_stop():
            time.sleep(0.01)
        raise JobCancelled()

    questions = []
    monkeypatch.setattr(window, "confirm", lambda *args: questions.append(args) or True)
    job = window.runner.start(runs_until_stopped, name="training a model")
    window.close()
    assert questions and "training a model" in questions[0][1]
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert not job.is_running() and window.runner.running_jobs() == []


# The views are other modules' work with their own tests; here only the navigation is checked,
# so an error inside a view (reported in the log) does not fail this test.
@pytest.mark.qt_no_exception_capture
def test_every_view_is_reachable(qtbot, window, tmp_path):
    window.projects.create_project(str(tmp_path / "views.mbv2"))
    assert [window.navigation.item(i).text() for i in range(4)] == \
        ["Label", "Train", "Evaluate", "Predict"]
    for index in range(4):
        window.menus.views[index].trigger()
        qtbot.waitUntil(lambda: window.view(index) is not None)
        assert window.view_stack.currentIndex() == index


def test_redo_of_an_import_joins_a_class_made_meanwhile(qtbot, window, tmp_path):
    photos = make_image_tree(tmp_path)
    window.projects.create_project(str(tmp_path / "clash.mbv2"))
    drop(window, [photos])
    wait_for_import(qtbot, window, EXPECTED)
    project, stack = window.context.project, window.context.undo_stack
    stack.undo()
    red = project.add_class("red")  # may even reuse the old class's id
    stack.redo()
    assert project.image_count() == EXPECTED
    assert project.class_counts()[red.id] == PER_CLASS
    assert sorted(project.class_names()) == ["green", "red"]


def test_unexpected_errors_are_logged_and_explained(tmp_path, monkeypatch, qapp):
    import logging
    import threading

    from PySide6.QtWidgets import QMessageBox

    from mbv2gui.gui.shell.app import CrashReporter

    log_path = tmp_path / "mbv2gui.log"
    handler = logging.FileHandler(log_path)
    logging.getLogger().addHandler(handler)
    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(
        (box.text(), box.detailedText())))
    reporter = CrashReporter(log_path)
    try:
        raise ValueError("boom")
    except ValueError as exc:
        reporter.handle(type(exc), exc, exc.__traceback__)
        worker = threading.Thread(target=reporter.handle, args=(type(exc), exc, exc.__traceback__))
        worker.start()
        worker.join()
    logging.getLogger().removeHandler(handler)
    handler.close()
    assert len(shown) == 1  # the worker thread's error is logged, never a dialog off-thread
    message, detail = shown[0]
    assert message.startswith("Something went wrong.") and "ValueError: boom" in detail
    assert str(log_path) in detail
    assert log_path.read_text().count("ValueError: boom") == 2


def test_unreadable_images_can_be_shown_from_the_summary_and_the_status_bar(qtbot, window,
                                                                           tmp_path):
    photos = make_image_tree(tmp_path)
    (photos / "red" / "broken.png").write_bytes(b"this is not a PNG")
    window.projects.create_project(str(tmp_path / "broken.mbv2"))
    drop(window, [photos])
    wait_for_import(qtbot, window, EXPECTED + 1)
    broken = [i.id for i in window.context.project.images() if i.status == "unreadable"]
    assert len(broken) == 1
    qtbot.waitUntil(lambda: "1 unreadable" in window.status.counts.text())

    with qtbot.waitSignal(window.context.showImagesRequested, timeout=5000) as shown:
        window.notices.trigger("Show unreadable")
    assert shown.args == [broken, "Unreadable images"]
    with qtbot.waitSignal(window.context.showImagesRequested, timeout=5000) as shown:
        window.status.counts.linkActivated.emit("unreadable")
    assert shown.args == [broken, "Unreadable images"]
    assert window.view_stack.currentIndex() == 0


def test_the_app_starts_without_tensorflow_and_exits_cleanly(tmp_path):
    """run_app shows the window before anything slow is imported, then quits with code 0."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from PySide6.QtCore import QTimer\n"
        "from PySide6.QtWidgets import QApplication\n"
        "import mbv2gui.gui.shell.app as app\n"
        "def check():\n"
        "    shown = [w for w in QApplication.topLevelWidgets() if w.isVisible()]\n"
        "    print('shown', len(shown), 'tensorflow' in sys.modules, flush=True)\n"
        "    QApplication.quit()\n"
        "make = app.create_application\n"
        "app.create_application = lambda: (make(), QTimer.singleShot(300, check))[0]\n"
        "sys.exit(app.run_app(None))\n")
    env = dict(os.environ, MBV2GUI_SETTINGS_DIR=str(tmp_path), QT_QPA_PLATFORM="offscreen",
               HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "shown 1 False" in done.stdout
    assert list((tmp_path / "data").rglob("mbv2gui.log"))  # the log lives in the data folder


def test_closing_the_project_stops_its_import(qtbot, window, tmp_path, monkeypatch):
    import mbv2gui.core.files.importer as importer

    def slow_import(project_path, paths, *, report, should_stop):
        while not should_stop():
            time.sleep(0.01)
        raise JobCancelled()

    monkeypatch.setattr(importer, "import_paths", slow_import)
    window.projects.create_project(str(tmp_path / "stop.mbv2"))
    window.imports.import_paths([str(tmp_path)])
    assert window.imports.is_running() and window.status.jobs.isVisible()
    window.projects.close_project()
    qtbot.waitUntil(lambda: not window.imports.is_running() and not window.runner.running_jobs(),
                    timeout=3000)
    assert not window.status.jobs.isVisible()


def test_drops_on_the_predict_view_predict_instead_of_importing(qtbot, window, tmp_path):
    from mbv2gui.gui.shell.main_window import LABEL, PREDICT

    photos = make_image_tree(tmp_path)
    window.projects.create_project(str(tmp_path / "predict.mbv2"))
    window.show_view(PREDICT)
    qtbot.waitUntil(lambda: window.view(PREDICT) is not None)
    assert window.drop_caption().startswith("Drop to see what the model thinks")

    drop(window, [photos / "red" / "red0.png"])
    view = window.view(PREDICT)
    # No run yet: the view says so, and nothing was imported.
    qtbot.waitUntil(lambda: "no trained model" in view.notice.text())
    assert window.context.project.image_count() == 0

    window.show_view(LABEL)
    assert window.drop_caption() == "Drop to import these images"
    drop(window, [photos / "red" / "red0.png"])
    wait_for_import(qtbot, window, 1)


def test_retrain_requested_anywhere_shows_the_train_view_and_starts(qtbot, window, tmp_path):
    from mbv2gui.gui.shell.main_window import TRAIN

    photos = make_image_tree(tmp_path)
    window.projects.create_project(str(tmp_path / "retrain.mbv2"))
    window.imports.import_paths([str(photos)])
    wait_for_import(qtbot, window, EXPECTED)
    window.show_view(TRAIN)
    qtbot.waitUntil(lambda: window.view(TRAIN) is not None)
    view = window.view(TRAIN)
    view.form.set_values(image_size=32, alpha=0.35, weights="none", epochs=1, batch_size=4)
    window.show_view(0)

    window.context.retrainRequested.emit()
    assert window.view_stack.currentIndex() == TRAIN
    assert view.is_training()
    assert [job.name for job in window.runner.running_jobs()] == ["training"]
    view.stop_training()
    qtbot.waitUntil(lambda: not view.is_training(), timeout=60_000)
