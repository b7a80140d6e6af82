"""Help → Getting Started (issue 18): what to do first, what pretrained weights are and why they
matter, and how many images per class to expect to need."""

from __future__ import annotations

from mbv2gui.gui.shell.main_window import MainWindow


def test_help_menu_opens_getting_started(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    titles = [a.text() for a in window.menuBar().actions()[-1].menu().actions()]
    assert titles[0] == "&Getting Started"
    box = window.menus.show_getting_started()
    qtbot.waitExposed(box)
    text = box.text()
    for needed in ("New Project", "Import Folder", "pretrained weights", "ImageNet",
                   "images per class", "validation"):
        assert needed in text
    box.close()
    assert window.runner.shutdown(5.0)
