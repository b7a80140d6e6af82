"""Label by name: L opens a small box; typing a few letters of a class (or its number, which the
class panel shows on its badge) narrows the list, Enter labels the selection with the first
match. Keys 1-9 reach nine classes; this reaches every class, the tenth and beyond included."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout


def matching_classes(classes: list, typed: str) -> list:
    """The classes `typed` points at, best first: its number exactly, then names starting with
    it, then names containing it (case-insensitive). Empty text: every class, in order."""
    typed = typed.strip().casefold()
    if not typed:
        return list(classes)
    numbered = [c for n, c in enumerate(classes, start=1) if str(n) == typed]
    starts = [c for c in classes if c.name.casefold().startswith(typed)]
    contains = [c for c in classes if typed in c.name.casefold() and c not in starts]
    return list(dict.fromkeys(numbered + starts + contains))


class ClassPalette(QDialog):
    chosen = Signal(int)  # the class id

    def __init__(self, classes: list, count: int, parent=None):
        super().__init__(parent, Qt.WindowType.Popup)
        self.classes = list(classes)
        self.setObjectName("classPalette")
        title = QLabel(f"Label {count:,} image{'' if count == 1 else 's'} as… "
                       "(type a name or number, Enter)")
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("class name or number")
        self.list = QListWidget()
        self.list.itemActivated.connect(self._choose_item)
        self.edit.textChanged.connect(self._filter)
        self.edit.returnPressed.connect(self.choose_first)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        for widget in (title, self.edit, self.list):
            layout.addWidget(widget)
        self.resize(320, 300)
        self._filter("")

    def _filter(self, text: str) -> None:
        self.list.clear()
        numbers = {c.id: n for n, c in enumerate(self.classes, start=1)}
        for info in matching_classes(self.classes, text):
            item = QListWidgetItem(f"{numbers[info.id]:>3}   {info.name}")
            item.setData(Qt.ItemDataRole.UserRole, info.id)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def shown_names(self) -> list[str]:
        return [self.list.item(r).text().split("   ", 1)[1] for r in range(self.list.count())]

    def choose_first(self) -> None:
        item = self.list.currentItem() or (self.list.item(0) if self.list.count() else None)
        if item is not None:
            self._choose_item(item)

    def _choose_item(self, item: QListWidgetItem) -> None:
        self.chosen.emit(int(item.data(Qt.ItemDataRole.UserRole)))
        self.accept()

    def keyPressEvent(self, event) -> None:
        # Up/Down move in the list while the typing stays in the box.
        if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            row = self.list.currentRow() + (1 if event.key() == Qt.Key.Key_Down else -1)
            self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
            return
        super().keyPressEvent(event)
