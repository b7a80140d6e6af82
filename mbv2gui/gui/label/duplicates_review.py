"""The near-duplicate review: groups of near-identical images (core/inference/duplicates.py,
found in the engine), a threshold to move, and for each group "Keep the first, exclude the
rest" (one undo step) or "Keep all". Whatever the person keeps, each group stays on one side
of the automatic train/validation split (the groups are saved in the project as they are
shown); pinned images that still straddle the split are named at the top.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QFrame, QGridLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QScrollArea, QSlider, QVBoxLayout, QWidget)

from mbv2gui.core.inference.duplicates import FLOOR, group_pairs
from mbv2gui.core.store.near_duplicates import leak_sentence, pinned_leaks, save_groups
from mbv2gui.gui.common import undo_commands as commands

SHOWN_GROUPS = 100  # rows built at once; the count says how many more there are
THUMB = 96


class DuplicatesReview(QDialog):
    def __init__(self, context, loader, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Near-duplicate images")
        self.resize(860, 600)
        self.context = context
        self.loader = loader
        self._job = None
        self.result: dict = {}
        self.groups: list[list[int]] = []  # image ids
        self._thumbs: dict[str, list[tuple[QLabel, str]]] = {}
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(int(FLOOR * 1000), 1000)
        self.slider.setMaximumWidth(220)
        self.slider.valueChanged.connect(lambda _v: self.regroup())
        self.slider.sliderReleased.connect(self.save)
        self.threshold_text = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.leaks = QLabel()
        self.leaks.setWordWrap(True)
        self.leaks.setStyleSheet("color: #a04000;")
        self.rows = QWidget()
        self.rows_layout = QVBoxLayout(self.rows)
        self.rows_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.rows)
        top = QHBoxLayout()
        for widget in (QLabel("Similar at least:"), self.slider, self.threshold_text,
                       self.progress):
            top.addWidget(widget)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.leaks)
        layout.addWidget(scroll, 1)
        loader.ready.connect(self._on_thumbnail)
        context.imagesChanged.connect(lambda _ids: self._refresh_rows_text())

    # ----------------------------------------------------------------- the job
    def start(self) -> None:
        from mbv2gui.core.inference.duplicates import PIXELS_BY_DEFAULT, find_near_duplicates
        from mbv2gui.gui.label.label_tools import current_run_dir

        if self._job is not None or self.context.project is None:
            return
        run_dir = None if PIXELS_BY_DEFAULT else current_run_dir(self.context)
        self._job = self.context.jobs.start_in_engine(
            find_near_duplicates, str(self.context.project.path), run_dir,
            name="looking for near-duplicates")
        self._job.ask_before_quit = False
        self._job.finished.connect(self.show_result)
        self._job.failed.connect(lambda text, _detail: self.status.setText(text))
        self._job.ended.connect(self._on_ended)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText("Comparing every image with the others…")

    def is_running(self) -> bool:
        return self._job is not None

    def _on_ended(self) -> None:
        self._job = None
        self.progress.hide()

    def show_result(self, result: dict) -> None:
        from mbv2gui.core.store.near_duplicates import stored_threshold

        self.result = result
        project = self.context.project
        saved = stored_threshold(project, result["source"]) if project is not None else None
        start = saved if saved is not None else result["threshold"]
        self.slider.blockSignals(True)
        self.slider.setValue(round(start * 1000))
        self.slider.blockSignals(False)
        self.regroup()
        self.save()

    def threshold(self) -> float:
        return self.slider.value() / 1000

    # ----------------------------------------------------------------- groups
    def regroup(self) -> None:
        self.threshold_text.setText(f"{self.threshold():.3f}")
        if not self.result:
            return
        ids = self.result["ids"]
        self.groups = [[ids[i] for i in group]
                       for group in group_pairs(len(ids), self.result["pairs"], self.threshold())]
        self._build_rows()

    def save(self) -> None:
        """Stores the groups as shown: the automatic split keeps each on one side."""
        project = self.context.project
        if project is None or not self.result:
            return
        hashes = {im.id: im.content_hash for im in project.images() if im.content_hash}
        save_groups(project, [[hashes[i] for i in g if i in hashes] for g in self.groups],
                    self.threshold(), self.result["source"])
        self._refresh_rows_text()

    def _build_rows(self) -> None:
        while self.rows_layout.count() > 1:
            item = self.rows_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self._thumbs = {}
        project = self.context.project
        records = {im.id: im for im in project.images()} if project else {}
        for group in self.groups[:SHOWN_GROUPS]:
            self.rows_layout.insertWidget(self.rows_layout.count() - 1,
                                          self._group_row([records[i] for i in group
                                                           if i in records]))
        self._refresh_rows_text()

    def _group_row(self, records) -> QFrame:
        row = QFrame()
        row.setFrameShape(QFrame.Shape.StyledPanel)
        grid = QGridLayout(row)
        for column, record in enumerate(records):
            thumb = QLabel()
            thumb.setFixedSize(THUMB, THUMB)
            thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self._thumbs.setdefault(record.content_hash, []).append((thumb, record.path))
            self._set_thumb(thumb, record.content_hash, record.path)
            caption = QLabel()
            caption.setObjectName(f"caption-{record.id}")
            caption.setWordWrap(True)
            caption.setFixedWidth(THUMB + 40)
            grid.addWidget(thumb, 0, column)
            grid.addWidget(caption, 1, column)
        ids = [r.id for r in records]
        keep_one = QPushButton("Keep the first, exclude the rest")
        keep_one.clicked.connect(lambda: self.keep_first(ids))
        keep_all = QPushButton("Keep all")
        keep_all.setToolTip("Keep every image; they still stay on one side of the split.")
        keep_all.clicked.connect(lambda: self.keep_all(ids))
        buttons = QVBoxLayout()
        buttons.addWidget(keep_one)
        buttons.addWidget(keep_all)
        buttons.addStretch(1)
        grid.addLayout(buttons, 0, len(records), 2, 1)
        grid.setColumnStretch(len(records) + 1, 1)
        row.setProperty("ids", ids)
        return row

    def _set_thumb(self, label: QLabel, content_hash, path) -> None:
        pixmap = self.loader.pixmap(content_hash, path)
        if hasattr(pixmap, "scaled"):
            label.setPixmap(pixmap.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))

    def wanted_hashes(self) -> set[str]:
        return set(self._thumbs)

    def _on_thumbnail(self, content_hash: str) -> None:
        for label, path in self._thumbs.get(content_hash, []):
            self._set_thumb(label, content_hash, path)

    def _refresh_rows_text(self) -> None:
        """Each image's file, label, split and whether it is excluded; the counts; the leaks."""
        project = self.context.project
        if project is None or not self.result:
            return
        classes = {c.id: c.name for c in project.classes()}
        shown = [i for g in self.groups[:SHOWN_GROUPS] for i in g]
        for record in project.images(shown):
            caption = self.rows.findChild(QLabel, f"caption-{record.id}")
            if caption is not None:
                name = record.path.replace("\\", "/").rsplit("/", 1)[-1]
                state = "excluded" if record.excluded else classes.get(record.class_id,
                                                                       "unlabeled")
                split = "" if record.split == "auto" else f", pinned: {record.split}"
                caption.setText(f"{name}\n{state}{split}")
        count = len(self.groups)
        images = sum(map(len, self.groups))
        more = (f" The first {SHOWN_GROUPS} are shown." if count > SHOWN_GROUPS else "")
        self.status.setText(
            f"{count:,} group{'' if count == 1 else 's'} of near-identical images "
            f"({images:,} images). Each group stays on one side of the train/validation "
            f"split.{more}" if count else
            "No near-identical images at this threshold." if self.result else "")
        self.leaks.setText(leak_sentence(pinned_leaks(project)))
        self.leaks.setVisible(bool(self.leaks.text()))

    # ----------------------------------------------------------------- actions
    def keep_first(self, ids: list[int]) -> None:
        """Excludes every image of the group but the first (one undo step)."""
        rest = ids[1:]
        if rest:
            self.context.undo_stack.push(commands.SetExcluded(
                self.context, {i: True for i in rest},
                f"Exclude {len(rest):,} near-duplicate image{'' if len(rest) == 1 else 's'}"))

    def keep_all(self, ids: list[int]) -> None:
        """Keeps (includes) every image of the group (one undo step when any was excluded)."""
        project = self.context.project
        excluded = [r.id for r in project.images(ids) if r.excluded] if project else []
        if excluded:
            self.context.undo_stack.push(commands.SetExcluded(
                self.context, {i: False for i in excluded},
                f"Include {len(excluded):,} near-duplicate image(s)"))
