"""The Label view: classes on the left, the gallery in the middle, the current image on the
right (a QSplitter whose sizes are remembered), and a hint bar with the keys.

Keyboard first: 1-9 give the selection the n-th class (and move on when one image was
selected), L labels by name or number (every class, the tenth and beyond too), 0 clears, U jumps
to the next unlabeled image, Delete removes from the project. The keys work wherever the focus
is in the view (after a click in the class panel too). Every change is an undo command,
committed to the store at once; undoing a label selects its images again.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QByteArray, QCoreApplication, QEvent, QItemSelectionModel, Qt, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMenu, QPushButton, QSplitter, QVBoxLayout,
                               QWidget)

from mbv2gui.gui.common import undo_commands as commands
from mbv2gui.gui.label.class_palette import ClassPalette
from mbv2gui.gui.label.class_panel import ClassPanel
from mbv2gui.gui.label.gallery_model import GalleryFilter, GalleryModel
from mbv2gui.gui.label.gallery_view import GalleryView
from mbv2gui.gui.label.label_tools import LabelTools
from mbv2gui.gui.label.preview import SPLITS, Preview
from mbv2gui.gui.shell.settings import settings
from mbv2gui.gui.label.suggestions_bar import SuggestionsBar
from mbv2gui.gui.common.thumbnail_loader import ThumbnailLoader

# Help → Keyboard Shortcuts reads this (mbv2gui.gui.shell.menus).
SHORTCUTS = [
    ("1 – 9", "Give the selected images the 1st … 9th class (then go to the next image)"),
    ("L", "Label by name or number: type a few letters (or 12 for the 12th class), Enter"),
    ("0", "Remove the label of the selected images"),
    ("U", "Go to the next unlabeled image (in the order shown: “Label next” follows the model)"),
    ("Arrow keys", "Move between images"),
    ("Shift/Ctrl + click, drag a rectangle", "Select several images"),
    ("Ctrl+A", "Select all images shown"),
    ("Delete", "Remove the selected images from the project (not from disk)"),
    ("Drag images onto a class", "Label them"),
]
HINT = ("<b>1</b>–<b>9</b> label &nbsp;·&nbsp; <b>L</b> label by name &nbsp;·&nbsp; <b>0</b> unlabel &nbsp;·&nbsp; <b>U</b> next "
        "unlabeled &nbsp;·&nbsp; <b>arrows</b> move &nbsp;·&nbsp; <b>Del</b> remove &nbsp;·&nbsp; "
        "<b>Ctrl+Z</b> undo")
ASK_BEFORE_REMOVING = 10  # removing more images than this asks first
EMPTY_PROJECT = ("No images yet.\n\nDrop a folder of images here, or use File → Import Folder "
                 "(Ctrl+I). A folder with one subfolder per class (cat/, dog/) arrives labeled; "
                 "loose images arrive unlabeled, ready for the number keys.")
EMPTY_FILTER = "No images here. Choose “All images” on the left to see every image."


class LabelView(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.loader = ThumbnailLoader(self)
        self.model = GalleryModel(self.loader, self)
        self.gallery = GalleryView()
        self.gallery.setModel(self.model)
        self.loader.set_visible_hashes(self._visible_hashes)
        self.classes = ClassPanel(context)
        self.classes.counts = self.model.counts
        self.preview = Preview(context)
        self.suggestions = SuggestionsBar(context)
        self.suggestions.count_pending = self.model.pending_suggestions
        self.suggestions.suggestionsChanged.connect(self.model.set_suggestions)
        self.model.set_suggestions(self.suggestions.suggestions())

        self.hint = QLabel(HINT)
        self.hint.setObjectName("labelHints")
        self.hint.setWordWrap(True)  # else its width is the gallery's minimum width
        palette = self.hint.palette()
        palette.setColor(QPalette.ColorRole.WindowText, palette.color(QPalette.ColorRole.PlaceholderText))
        self.hint.setPalette(palette)
        self.hint.setContentsMargins(4, 0, 4, 2)
        self.caption = QLabel()
        self.caption.setObjectName("galleryCaption")
        self.show_all = QPushButton("Show all images")
        self.show_all.setFlat(True)
        self.show_all.clicked.connect(lambda: self.classes.choose("all"))
        top = QHBoxLayout()
        top.setContentsMargins(4, 4, 4, 0)
        top.addWidget(self.caption, 1)
        top.addWidget(self.show_all)
        self.tools = LabelTools(context, self.loader)
        self.tools.orderChanged.connect(self.set_order)
        self.tools.lassoed.connect(self.show_chosen)
        middle = QWidget()
        column = QVBoxLayout(middle)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(top)
        column.addWidget(self.tools)
        column.addWidget(self.suggestions)
        column.addWidget(self.hint)
        column.addWidget(self.gallery, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for widget in (self.classes, middle, self.preview):
            self.splitter.addWidget(widget)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([220, 700, 320])
        state = settings().value("labelView/splitter")
        if isinstance(state, QByteArray):
            self.splitter.restoreState(state)
        self.splitter.splitterMoved.connect(
            lambda *_: settings().setValue("labelView/splitter", self.splitter.saveState()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        # Counts in the class panel: recounted once a burst of changes settles.
        self._recount = QTimer(self)
        self._recount.setSingleShot(True)
        self._recount.setInterval(40)
        self._recount.timeout.connect(self.classes.refresh)
        self._recount.timeout.connect(self._count_unlabeled)

        self.gallery.digitPressed.connect(self.digit)
        self.gallery.labelByNameRequested.connect(self.label_by_name)
        # The labeling keys work wherever the focus is in this view: the class list would
        # otherwise eat digits for its type-ahead search while an image still looks selected.
        self.classes.list.installEventFilter(self)
        self.palette_popup = None
        context.undo_stack.indexChanged.connect(self._on_undo_index)
        self._undo_index = context.undo_stack.index()
        self.gallery.nextUnlabeledRequested.connect(self.next_unlabeled)
        self.gallery.removeRequested.connect(self.remove_selected)
        self.gallery.customContextMenuRequested.connect(self._gallery_menu)
        self.gallery.selectionModel().currentChanged.connect(lambda *_: self._update_preview())
        self.gallery.selectionModel().selectionChanged.connect(lambda *_: self._update_preview())
        self.model.modelReset.connect(self._update_caption)
        self.model.rowsInserted.connect(self._update_caption)
        self.model.rowsRemoved.connect(self._update_caption)
        self.classes.filterChosen.connect(self.set_filter)
        self.classes.imagesDropped.connect(self.label_ids)
        self.preview.splitRequested.connect(self.set_split)
        self.preview.excludeRequested.connect(self.set_excluded)
        context.projectChanged.connect(self._on_project)
        context.imagesChanged.connect(self._on_images_changed)
        # A file found broken when its thumbnail was made: every view recounts.
        self.loader.imagesMarked.connect(context.imagesChanged.emit)
        context.classesChanged.connect(self._on_classes_changed)
        context.showImagesRequested.connect(self.show_ids)
        app = QCoreApplication.instance()
        if app is not None:  # let decodes in flight finish before the interpreter goes
            app.aboutToQuit.connect(self.loader.shutdown)
            app.aboutToQuit.connect(self.preview.shutdown)
        self._on_project(context.project)

    # ----------------------------------------------------------------- context signals
    def _on_project(self, project) -> None:
        self._recount.stop()
        self._undo_index = self.context.undo_stack.index()
        self.loader.set_project(project)
        self.model.set_project(project)
        self.classes.refresh()
        self._count_unlabeled()
        self.classes.choose("all")
        self._update_caption()
        self._update_preview()

    def _count_unlabeled(self) -> None:
        self.suggestions.set_unlabeled_count(self.model.counts()[0].get(None, 0))

    def _on_images_changed(self, ids: list) -> None:
        if self.context.project is None:
            return
        self.model.update_ids(ids)
        self._recount.start()
        if not ids or self.preview.image_id in ids:
            self._update_preview()

    def _on_classes_changed(self) -> None:
        if self.context.project is None:
            return
        self.model.reload_classes()
        self.classes.refresh()
        self.preview.refresh()
        shown = self.model.filter()
        if shown.kind == "class" and self.model.class_info(shown.class_id) is None:
            self.classes.choose("all")  # the class shown was deleted or merged away
        self._update_caption()

    def set_filter(self, gallery_filter: GalleryFilter) -> None:
        self.model.set_filter(gallery_filter)
        if self.model.rowCount():
            self._select_row(0)
        self._update_preview()

    def show_ids(self, ids: list, caption: str) -> None:
        """What other views ask for: these images only (e.g. "Unreadable images")."""
        self.classes.choose("none")
        self.set_filter(GalleryFilter.of_ids(list(ids), caption))

    def set_order(self, ids) -> None:
        """Shows the images in this order (None: as added), keeping the current image."""
        current = self.gallery.currentIndex()
        image_id = self.model.id_at(current.row()) if current.isValid() else None
        self.model.set_order(ids)
        row = self.model.row_of_ids().get(image_id, 0) if ids is None else 0
        if self.model.rowCount():
            self._select_row(row)

    def show_chosen(self, ids: list, caption: str) -> None:
        """Images chosen elsewhere (the map's lasso), shown and all selected: one key labels
        them all."""
        self.show_ids(ids, caption)
        self.gallery.selectAll()
        self.window().activateWindow()
        self.gallery.setFocus()

    def _update_caption(self, *_args) -> None:
        gallery_filter = self.model.filter()
        caption = html.escape(gallery_filter.caption)  # rich text: a class name may hold "<"
        info = self.model.class_info(gallery_filter.class_id) if gallery_filter.kind == "class" else None
        if info is not None:
            caption = f"Class “{html.escape(info.name)}”"  # its name now, after a rename
        count = self.model.rowCount()
        empty_project = self.context.project is None or not self.context.project.image_count()
        self.gallery.empty_text = EMPTY_PROJECT if empty_project else EMPTY_FILTER
        self.gallery.viewport().update()
        self.caption.setText(f"<b>{caption}</b> &nbsp;·&nbsp; {count:,} "
                             f"image{'' if count == 1 else 's'}")
        self.show_all.setVisible(gallery_filter.kind != "all")

    def _update_preview(self) -> None:
        current = self.gallery.currentIndex()
        rows = self.gallery.selected_rows()
        image_id = self.model.id_at(current.row()) if current.isValid() else None
        self.preview.show_image(image_id, max(1, len(rows)))

    def _visible_hashes(self) -> set[str]:
        shown = {self.model.image_row(r).content_hash for r in self.gallery.visible_rows()}
        return shown | self.tools.wanted_hashes()  # the map's and the duplicate review's

    # ----------------------------------------------------------------- selection
    def selected_ids(self) -> list[int]:
        rows = self.gallery.selected_rows()
        if not rows and self.gallery.currentIndex().isValid():
            rows = [self.gallery.currentIndex().row()]
        return [self.model.id_at(row) for row in rows]

    def _select_row(self, row: int) -> None:
        index = self.model.index(row)
        self.gallery.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.gallery.scrollTo(index)

    # ----------------------------------------------------------------- labeling
    def digit(self, number: int) -> None:
        """Key `number`: 0 clears the label, n gives the n-th class."""
        project = self.context.project
        if project is None or not self.model.rowCount():
            return
        if number == 0:
            self._label_selection(None, "Remove the label of")
            return
        classes = project.classes()
        if number > len(classes):
            why = (f"Key {number} gives images the class number {number}, but there "
                   f"{'is no class yet' if not classes else f'are only {len(classes)} classes'}.")
            if not self.classes.ask_add(f"Class {len(classes) + 1}", why):
                return
            classes = project.classes()
            if number > len(classes):
                return
        info = classes[number - 1]
        self._label_selection(info.id, f"Label “{info.name}”:")

    def _label_selection(self, class_id: int | None, verb: str) -> None:
        rows = self.gallery.selected_rows()
        single = len(rows) <= 1
        ids = self.selected_ids()
        if not ids:
            return
        self.label_ids(ids, class_id, verb)
        current = self.gallery.currentIndex().row()
        if single and current + 1 < self.model.rowCount():
            self._select_row(current + 1)

    def label_ids(self, ids: list, class_id, verb: str = "") -> None:
        """Gives images a class (None: unlabeled) as one undoable step; drops land here too."""
        if not ids or self.context.project is None:
            return
        if not verb:
            info = self.model.class_info(class_id)
            verb = f"Label “{info.name}”:" if info else "Remove the label of"
        text = f"{verb} {len(ids):,} image{'' if len(ids) == 1 else 's'}"
        self.context.undo_stack.push(commands.SetLabels(self.context, {i: class_id for i in ids}, text))

    def label_by_name(self) -> None:
        """L: a box to type a class name or number into; Enter labels the selection."""
        project = self.context.project
        ids = self.selected_ids() if project is not None else []
        if not ids:
            return
        classes = project.classes()
        if not classes:
            self.digit(1)  # offers to add the first class, as the number keys do
            return
        self.palette_popup = ClassPalette(classes, len(ids), self)
        self.palette_popup.chosen.connect(self._label_chosen_class)
        self.palette_popup.move(self.gallery.mapToGlobal(self.gallery.rect().center())
                                - self.palette_popup.rect().center())
        self.palette_popup.show()
        self.palette_popup.edit.setFocus()

    def _label_chosen_class(self, class_id: int) -> None:
        info = self.model.class_info(class_id)
        self._label_selection(class_id, f"Label “{info.name}”:" if info else "")

    def key_action(self, event):
        """The view's labeling keys (digits, L, U, Delete) wherever the focus is, or None."""
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if modifiers != Qt.KeyboardModifier.NoModifier:
            return None
        text = event.text()
        if len(text) == 1 and text.isdigit():
            return lambda: self.digit(int(text))
        return {Qt.Key.Key_L: self.label_by_name, Qt.Key.Key_U: self.next_unlabeled,
                Qt.Key.Key_Delete: self.remove_selected}.get(event.key())

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.KeyPress:
            action = self.key_action(event)
            if action is not None:
                action()
                return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event) -> None:
        # Keys no child used (a button in the preview has the focus, say) end up here.
        action = self.key_action(event)
        if action is not None:
            action()
        else:
            super().keyPressEvent(event)

    def _on_undo_index(self, index: int) -> None:
        """After an undo, the images it gave back their old label (or brought back) are
        selected again: the person is back on the image they took back, not on the next."""
        undone = index < self._undo_index
        self._undo_index = index
        if not undone or self.context.project is None:
            return
        try:
            command = self.context.undo_stack.command(index)
        except RuntimeError:  # the stack is being destroyed with the window (it clears itself)
            return
        ids = command.image_ids() if hasattr(command, "image_ids") else []
        self.select_ids(ids)

    def select_ids(self, ids: list[int]) -> None:
        """Selects those of `ids` the gallery shows (the first one current)."""
        row_of = self.model.row_of_ids()
        rows = sorted(row_of[i] for i in ids if i in row_of)
        if not rows:
            return
        selection = self.gallery.selectionModel()
        self._select_row(rows[0])
        for row in rows[1:]:
            selection.select(self.model.index(row), QItemSelectionModel.SelectionFlag.Select)

    def next_unlabeled(self) -> None:
        current = self.gallery.currentIndex().row() if self.gallery.currentIndex().isValid() else -1
        row = self.model.next_unlabeled(current) if self.model.rowCount() else None
        if row is None:
            self.context_message("Every image shown here has a label.")
        else:
            self._select_row(row)

    def context_message(self, text: str) -> None:
        window = self.window()
        bar = window.statusBar() if hasattr(window, "statusBar") else None
        if bar is not None:
            bar.showMessage(text, 4000)
        self.caption.setToolTip(text)

    # ----------------------------------------------------------------- other edits
    def remove_selected(self) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        if len(ids) > ASK_BEFORE_REMOVING and not self.classes.confirm(
                "Remove Images", f"Remove {len(ids):,} images from the project? The files stay "
                "on disk, and Undo puts them back.", "Remove"):
            return
        row = min(self.gallery.selected_rows() or [self.gallery.currentIndex().row()])
        self.context.undo_stack.push(commands.RemoveImages(self.context, ids))
        if self.model.rowCount():
            self._select_row(min(row, self.model.rowCount() - 1))

    def set_split(self, split: str) -> None:
        ids = self.selected_ids()
        if ids:
            name = dict(SPLITS)[split]
            self.context.undo_stack.push(commands.SetSplits(
                self.context, {i: split for i in ids}, f"Split “{name}” for {len(ids):,} image(s)"))

    def set_excluded(self, flag: bool) -> None:
        ids = self.selected_ids()
        if ids:
            verb = "Exclude" if flag else "Include"
            self.context.undo_stack.push(commands.SetExcluded(
                self.context, {i: flag for i in ids}, f"{verb} {len(ids):,} image(s)"))

    def _gallery_menu(self, pos) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        menu = QMenu(self)
        classes = self.context.project.classes()
        label_menu = menu.addMenu("Label as")
        for number, info in enumerate(classes, start=1):
            key = f"\t{number}" if number <= 9 else f"\tL, {number}"
            label_menu.addAction(f"{info.name}{key}", lambda c=info.id: self.label_ids(ids, c))
        label_menu.addAction("Unlabeled\t0", lambda: self.label_ids(ids, None))
        split_menu = menu.addMenu("Split")
        for value, text in SPLITS:
            split_menu.addAction(text, lambda v=value: self.set_split(v))
        menu.addAction("Exclude from training", lambda: self.set_excluded(True))
        menu.addAction("Include in training", lambda: self.set_excluded(False))
        menu.addSeparator()
        menu.addAction("Remove from project…\tDel", self.remove_selected)
        menu.exec(self.gallery.viewport().mapToGlobal(pos))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.gallery.setFocus()

