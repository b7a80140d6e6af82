"""The Export dialog at its default size (issue 18): the verification sentence and the int8
progress message are read whole, never cut or over other text, and the run is named in words."""

from __future__ import annotations

from mbv2gui.gui.shell.context import AppContext
from mbv2gui.gui.shell.export_dialog import ExportDialog

VERIFIED = ("Exported model.tflite (1.1 MB) to /home/someone/exports/20261206-010441-e3ba-export. "
            "Same top answer as the app on 80 of 80 images (100.0%), checked with the TensorFlow "
            "Lite interpreter. labels.txt, model.json and “How to use this model.md” are beside it.")


def fits(label) -> bool:
    return label.heightForWidth(label.width()) <= label.height()


def test_every_message_is_read_whole_at_the_default_size(qtbot, tmp_path):
    run_dir = tmp_path / "20261206-010441-e3ba"
    run_dir.mkdir()
    dialog = ExportDialog(AppContext(), str(run_dir))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert "e3ba" not in dialog.windowTitle() and "Run of 6 Dec" in dialog.windowTitle()
    assert "Run of 6 Dec" in dialog.heading.text()
    dialog.status.setText(VERIFIED)
    dialog.open_button.setVisible(True)
    qtbot.wait(10)
    assert fits(dialog.status)
    dialog.set_format("tflite-int8")
    dialog._set_running(True)
    dialog.status.setText("Exporting TensorFlow Lite, 8-bit integer (smallest, fastest)… "
                          "calibrating the int8 model on 100 of the project's images")
    qtbot.wait(10)
    assert fits(dialog.status)
    # Nothing overlaps: each widget in the column starts below the one before it ends.
    widgets = [dialog.int8_input, dialog.folder_edit, dialog.progress, dialog.status,
               dialog.export_button]
    tops = [w.mapTo(dialog, w.rect().topLeft()).y() for w in widgets]
    bottoms = [w.mapTo(dialog, w.rect().bottomLeft()).y() for w in widgets]
    assert all(bottoms[i] < tops[i + 1] for i in range(len(widgets) - 1))
    dialog._set_running(False)
