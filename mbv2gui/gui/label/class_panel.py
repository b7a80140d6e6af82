"""The class panel: "All images", "Unlabeled", the classes (swatch, name, key hint, count) and
"Unreadable". Clicking an entry filters the gallery; dropping gallery tiles on a class labels
them. Every class edit goes through an undo command (mbv2gui.gui.common.undo_commands).

Questions to the user go through a few small methods (`ask_text`, `confirm`, `choose`,
`ask_color`) so tests can answer them without a modal dialog.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (QAbstractItemView, QColorDialog, QHBoxLayout, QInputDialog,
                               QLabel, QListWidget, QListWidgetItem, QMenu, QMessageBox,
                               QPushButton, QStyle, QStyledItemDelegate, QVBoxLayout, QWidget)

from mbv2gui.core.errors import UserError
from mbv2gui.gui.common import undo_commands as commands
from mbv2gui.gui.label.gallery_model import GalleryFilter, ids_from_mime

KindRole, ClassIdRole, CountRole, ColorRole, HintRole = (Qt.ItemDataRole.UserRole + n for n in range(1, 6))


class _EntryDelegate(QStyledItemDelegate):
    def sizeHint(self, option, index) -> QSize:
        return QSize(160, max(28, option.fontMetrics.height() + 12))

    def paint(self, painter: QPainter, option, index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = option.rect
        view = option.widget
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, option.palette.highlight())
            pen = option.palette.highlightedText().color()
        else:
            pen = option.palette.text().color()
        if view is not None and getattr(view, "drop_row", -1) == index.row():
            painter.setPen(QPen(option.palette.highlight().color(), 2))
            painter.drawRect(rect.adjusted(1, 1, -2, -2))
        metrics = option.fontMetrics
        left = rect.left() + 10
        color = index.data(ColorRole)
        if color:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(color))
            painter.drawEllipse(QRectF(left, rect.center().y() - 6, 12, 12))
        left += 20
        count = index.data(CountRole)
        count_text = f"{count:,}" if count is not None else ""
        count_width = metrics.horizontalAdvance(count_text)
        right = rect.right() - 10 - count_width
        painter.setPen(pen)
        painter.drawText(QRect(right, rect.top(), count_width, rect.height()),
                         Qt.AlignmentFlag.AlignVCenter, count_text)
        hint = index.data(HintRole)
        if hint:
            width = max(18, metrics.horizontalAdvance(hint) + 8)  # "12" fits as well as "1"
            box = QRect(right - 8 - width, rect.center().y() - 9, width, 18)
            painter.setPen(QPen(option.palette.mid().color(), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(box), 4, 4)
            painter.setPen(pen)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, hint)
            right = box.left()
        name_rect = QRect(left, rect.top(), right - left - 6, rect.height())
        font = option.font
        font.setBold(index.data(KindRole) == "all")
        painter.setFont(font)
        painter.setPen(pen)
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(index.data(Qt.ItemDataRole.DisplayRole),
                                            Qt.TextElideMode.ElideRight, name_rect.width()))
        painter.restore()


class ClassList(QListWidget):
    """The entries; takes drops of gallery tiles (ids in the MIME data)."""

    dropped = Signal(object, object)  # the entry's QListWidgetItem, QMimeData

    def __init__(self, parent=None):
        super().__init__(parent)
        self.drop_row = -1
        self.setItemDelegate(_EntryDelegate(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def _target(self, event) -> QListWidgetItem | None:
        item = self.itemAt(event.position().toPoint())
        ok = item is not None and item.data(KindRole) in ("class", "unlabeled")
        return item if ok and ids_from_mime(event.mimeData()) else None

    def dragEnterEvent(self, event) -> None:
        event.setAccepted(event.mimeData().hasFormat("application/x-mbv2gui-image-ids"))

    def dragMoveEvent(self, event) -> None:
        item = self._target(event)
        self.drop_row = self.row(item) if item else -1
        self.viewport().update()
        event.setAccepted(item is not None)

    def dragLeaveEvent(self, event) -> None:
        self.drop_row = -1
        self.viewport().update()

    def dropEvent(self, event) -> None:
        item = self._target(event)
        self.drop_row = -1
        self.viewport().update()
        if item is not None:
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self.dropped.emit(item, event.mimeData())


class ClassPanel(QWidget):
    filterChosen = Signal(object)           # GalleryFilter
    imagesDropped = Signal(list, object)    # image ids, class id (None: unlabeled)

    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        # () -> (images per class id, problem images); LabelView counts from its model's rows
        # in memory. None: ask the store (two GROUP BY queries).
        self.counts = None
        title = QLabel("Classes")
        title.setObjectName("panelTitle")
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        self.list = ClassList()
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.list.itemDoubleClicked.connect(lambda item: self.ask_rename(item.data(ClassIdRole)))
        self.list.dropped.connect(self.drop_on)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.add_button = QPushButton("Add class…")
        self.add_button.clicked.connect(lambda: self.ask_add())
        self.merge_button = QPushButton("Merge…")
        self.merge_button.clicked.connect(self.ask_merge)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(lambda: self.ask_delete(self.current_class_id()))
        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        for button in (self.merge_button, self.delete_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(title)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.add_button)
        layout.addLayout(buttons)
        self._update_buttons()  # entries come with refresh(), once the owner set `counts`

    # ----------------------------------------------------------------- entries
    def refresh(self) -> None:
        """Rebuilds the entries with fresh counts, keeping the chosen one (no filter signal)."""
        project = self.context.project
        chosen = self._key(self.list.currentItem())
        selected = {self._key(item) for item in self.list.selectedItems()}
        self.list.blockSignals(True)
        self.list.clear()
        if project is not None:
            counts, problems = self.counts() if self.counts else self._query_counts(project)
            self._add_entry("All images", "all", None, sum(counts.values()))
            self._add_entry("Unlabeled", "unlabeled", None, counts.get(None, 0))
            for number, info in enumerate(project.classes(), start=1):
                self._add_entry(info.name, "class", info.id, counts.get(info.id, 0), info.color,
                                str(number))
            if problems:
                self._add_entry("Unreadable", "problems", None, problems)
        for row in range(self.list.count()):
            item = self.list.item(row)
            if self._key(item) == chosen:
                self.list.setCurrentItem(item)
            item.setSelected(self._key(item) in selected or self._key(item) == chosen)
        self.list.blockSignals(False)
        self._update_buttons()

    @staticmethod
    def _query_counts(project) -> tuple[dict, int]:
        statuses = project.status_counts()
        return project.class_counts(), statuses.get("unreadable", 0) + statuses.get("missing", 0)

    def _add_entry(self, name, kind, class_id, count, color=None, hint="") -> None:
        item = QListWidgetItem(name)
        for role, value in ((KindRole, kind), (ClassIdRole, class_id), (CountRole, count),
                            (ColorRole, color), (HintRole, hint)):
            item.setData(role, value)
        tip = "Drop images here to label them" if kind in ("class", "unlabeled") else ""
        if hint:  # the badge's number: a key up to 9, typed after L beyond
            tip += (f", or press {hint}." if int(hint) <= 9 else
                    f", or press L, type {hint} (or the name) and Enter.")
        item.setToolTip(tip)
        self.list.addItem(item)

    @staticmethod
    def _key(item):
        return (item.data(KindRole), item.data(ClassIdRole)) if item is not None else None

    def entry(self, kind: str, class_id: int | None = None) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            if self._key(self.list.item(row)) == (kind, class_id):
                return self.list.item(row)
        return None

    def choose(self, kind: str, class_id: int | None = None) -> None:
        """Makes an entry current (and so filters the gallery), or clears the choice."""
        item = self.entry(kind, class_id)
        if item is None:
            self.list.clearSelection()
            self.list.setCurrentItem(None)
        else:
            self.list.setCurrentItem(item)

    def current_class_id(self) -> int | None:
        item = self.list.currentItem()
        return item.data(ClassIdRole) if item is not None and item.data(KindRole) == "class" else None

    def selected_class_ids(self) -> list[int]:
        return [item.data(ClassIdRole) for item in self.list.selectedItems()
                if item.data(KindRole) == "class"]

    def _on_current(self, item, _previous) -> None:
        if item is None:
            return
        kind, class_id = self._key(item)
        made = {"all": GalleryFilter.everything, "unlabeled": GalleryFilter.unlabeled,
                "problems": GalleryFilter.problems}
        self.filterChosen.emit(made[kind]() if kind in made else GalleryFilter.of_class(class_id, item.text()))

    def _update_buttons(self) -> None:
        has_classes = any(self.list.item(r).data(KindRole) == "class" for r in range(self.list.count()))
        self.merge_button.setEnabled(len(self.selected_class_ids()) == 2 or (
            self.current_class_id() is not None and has_classes))
        self.delete_button.setEnabled(self.current_class_id() is not None)

    def drop_on(self, item: QListWidgetItem, mime) -> None:
        """A drop of gallery tiles on an entry (also what tests call: the same path)."""
        ids = ids_from_mime(mime)
        if ids and item.data(KindRole) in ("class", "unlabeled"):
            self.imagesDropped.emit(ids, item.data(ClassIdRole))

    def _context_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        menu = QMenu(self)
        menu.addAction("Add class…", lambda: self.ask_add())
        if item is not None and item.data(KindRole) == "class":
            class_id = item.data(ClassIdRole)
            menu.addAction("Rename…", lambda: self.ask_rename(class_id))
            menu.addAction("Change color…", lambda: self.ask_recolor(class_id))
            menu.addAction("Merge into another class…", self.ask_merge)
            menu.addAction("Delete…", lambda: self.ask_delete(class_id))
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_F2 and self.current_class_id() is not None:
            self.ask_rename(self.current_class_id())
        else:
            super().keyPressEvent(event)

    # ----------------------------------------------------------------- edits (undoable)
    def _perform(self, command_type, *args) -> bool:
        try:
            commands.perform(self.context, command_type(self.context, *args))
            return True
        except UserError as error:
            QMessageBox.warning(self, "mbv2gui", str(error))
            return False

    def _info(self, class_id):
        return next((c for c in self.context.project.classes() if c.id == class_id), None)

    def ask_add(self, default: str = "", why: str = "") -> bool:
        count = len(self.context.project.classes()) if self.context.project else 0
        name = self.ask_text("Add Class", (why + "\n\n" if why else "") + "Name of the new class:",
                             default or f"Class {count + 1}")
        return bool(name) and self._perform(commands.AddClass, name)

    def ask_rename(self, class_id: int | None) -> None:
        info = self._info(class_id) if class_id is not None else None
        if info is not None:
            name = self.ask_text("Rename Class", f"New name for “{info.name}”:", info.name)
            if name and name.strip() != info.name:
                self._perform(commands.RenameClass, class_id, name)

    def ask_recolor(self, class_id: int) -> None:
        info = self._info(class_id)
        color = self.ask_color(QColor(info.color), f"Color of “{info.name}”") if info else None
        if color is not None and color.isValid():
            self._perform(commands.RecolorClass, class_id, color.name())

    def ask_merge(self) -> None:
        selected = self.selected_class_ids()
        classes = self.context.project.classes()
        if len(selected) == 2:
            a, b = (self._info(i) for i in selected)
            choice = self.choose_option("Merge Classes", f"Merge “{a.name}” and “{b.name}” into one "
                                        "class? All their images get the class you keep.",
                                        [f"Keep “{b.name}”", f"Keep “{a.name}”"])
            pairs = [(a.id, b.id), (b.id, a.id)]
        else:
            source = self._info(self.current_class_id())
            others = [c for c in classes if source is not None and c.id != source.id]
            if not others:
                return
            choice = self.ask_item("Merge Classes", f"Move all images of “{source.name}” into "
                                   f"which class? “{source.name}” is then deleted.",
                                   [c.name for c in others])
            pairs = [(source.id, c.id) for c in others]
        if choice is not None:
            self._perform(commands.MergeClasses, *pairs[choice])

    def ask_delete(self, class_id: int | None) -> None:
        info = self._info(class_id) if class_id is not None else None
        if info is None:
            return
        count = self.context.project.class_counts().get(class_id, 0)
        if count == 0 or self.confirm("Delete Class", f"Delete the class “{info.name}”? Its "
                                      f"{count:,} images become unlabeled (Undo brings them back).",
                                      "Delete"):
            self._perform(commands.DeleteClass, class_id)

    # ----------------------------------------------------------------- questions (tests replace)
    def ask_text(self, title: str, label: str, default: str) -> str | None:
        text, ok = QInputDialog.getText(self, title, label, text=default)
        return text.strip() if ok and text.strip() else None

    def ask_color(self, initial: QColor, title: str) -> QColor | None:
        return QColorDialog.getColor(initial, self, title)

    def ask_item(self, title: str, label: str, items: list[str]) -> int | None:
        text, ok = QInputDialog.getItem(self, title, label, items, 0, False)
        return items.index(text) if ok and text in items else None

    def confirm(self, title: str, text: str, yes: str) -> bool:
        return self.choose_option(title, text, [yes]) == 0

    def choose_option(self, title: str, text: str, options: list[str]) -> int | None:
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self)
        buttons = [box.addButton(option, QMessageBox.ButtonRole.AcceptRole) for option in options]
        box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        return buttons.index(box.clickedButton()) if box.clickedButton() in buttons else None
