"""File dialogs more than one place opens."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QWidget

from mbv2gui.core.files.images import IMAGE_EXTENSIONS


def choose_image_files(parent: QWidget, title: str) -> list[str]:
    """Image files the person picks (an empty list if they cancel)."""
    patterns = " ".join(f"*{ext}" for ext in sorted(IMAGE_EXTENSIONS))
    files, _ = QFileDialog.getOpenFileNames(parent, title, "",
                                            f"Images ({patterns});;All files (*)")
    return files
