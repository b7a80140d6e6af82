"""Starting the app: the QApplication, its look, the window (shown before anything slow is
imported: TensorFlow loads only when a view needs it), the project to reopen, and a safety net
that turns any unexpected error into a dialog and a log file instead of a vanished window."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QStandardPaths, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from mbv2gui import __version__
from mbv2gui.gui.shell.settings import APPLICATION, ORGANIZATION, recent_projects

log = logging.getLogger("mbv2gui")


def resource_path(*parts: str) -> Path:
    """A file under resources/, from a checkout, an install, or a frozen build."""
    try:
        from mbv2gui.core.resources import resource_path as shared

        return Path(shared(*parts))
    except ImportError:
        base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[2]))
        return base.joinpath("resources", *parts)


def log_folder() -> Path:
    folder = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    folder = folder / "logs" if str(folder) not in ("", ".") else Path.home() / ".mbv2gui" / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def setup_logging() -> Path | None:
    try:
        path = log_folder() / "mbv2gui.log"
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return None  # no writable data folder: the app still runs, it just cannot log
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    log.info("mbv2gui %s starting (Python %s)", __version__, sys.version.split()[0])
    return path


class CrashReporter:
    """sys.excepthook and threading.excepthook: log the traceback, and (on the GUI thread)
    tell the person in a sentence, with the detail and the log file's place under it."""

    def __init__(self, log_path: Path | None):
        self.log_path = log_path
        self._showing = False

    def install(self) -> None:
        sys.excepthook = self.handle
        threading.excepthook = lambda args: self.handle(args.exc_type, args.exc_value,
                                                        args.exc_traceback)

    def handle(self, exc_type, exc_value, exc_tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        detail = "".join(traceback.format_exception(exc_type, exc_value, exc_tb))
        log.error("Unexpected error:\n%s", detail)
        sys.stderr.write(detail)
        if threading.current_thread() is not threading.main_thread() or self._showing:
            return  # never open a dialog off the GUI thread, or one on top of another
        message = getattr(exc_value, "message", None) or (
            "Something went wrong. mbv2gui is still running and your labels are saved; "
            "if something looks wrong, close and reopen the project.")
        if self.log_path is not None:
            detail += f"\nThis is also written to {self.log_path}."
        box = QMessageBox(QMessageBox.Icon.Warning, "mbv2gui", message)
        box.setDetailedText(detail)
        self._showing = True
        try:
            box.exec()
        finally:
            self._showing = False


def create_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName(APPLICATION)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationDisplayName("mbv2gui")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("mbv2gui")
    icon_file = resource_path("icons", "mbv2gui.png")
    if icon_file.is_file():
        app.setWindowIcon(QIcon(str(icon_file)))
    style = resource_path("style.qss")
    if style.is_file():
        app.setStyle("Fusion")  # the same, predictable base on every platform for our sheet
        app.setStyleSheet(style.read_text(encoding="utf-8"))
    return app


def run_app(project_path: str | None = None) -> int:
    started = time.monotonic()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ chatter, if it loads
    app = create_application()
    reporter = CrashReporter(setup_logging())
    reporter.install()

    from mbv2gui.gui.shell.main_window import MainWindow

    window = MainWindow(app.windowIcon())
    window.show()
    log.info("window shown after %.2f s", time.monotonic() - started)

    def open_first() -> None:
        # After the first paint, so a slow disk never delays the window.
        if project_path:
            window.open_path(os.path.abspath(project_path))
        elif recent := recent_projects():
            window.projects.open_project(recent[0], quiet=True)

    QTimer.singleShot(0, open_first)
    code = app.exec()
    if not window.runner.shutdown(10.0):
        # The database commits every change at once, so leaving now loses nothing; waiting
        # forever for a stuck thread, or letting Qt abort on it, would be worse.
        log.warning("a job did not stop within 10 s; exiting anyway")
        logging.shutdown()
        os._exit(code)
    return code
