"""The "Likely mislabeled" tab: the labeled images whose label the model most disbelieves.

The search (mbv2gui.core.inference.mislabeled) runs as a job; the list shows each image with its given
label, the label the model suggests and a score, most suspicious first. Enter or A accepts the
suggestion for the selected images (one undoable step); digits and X work as in every gallery.
An accepted image leaves the list: it has been dealt with.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from mbv2gui.gui.evaluate.review_gallery import GalleryEditor, ReviewGallery, ReviewItem

HELP = ("Checks every labeled image against a model trained without it, and lists the ones "
        "whose label the model most disbelieves. Select one and press Enter or A to accept the "
        "suggested label, a digit to choose a class, or X to exclude it from training.")


def suspect_item(suspect) -> ReviewItem:
    return ReviewItem(
        path=suspect.path, image_id=suspect.image_id, content_hash=suspect.content_hash,
        lines=(f"labeled {suspect.given}", f"looks like {suspect.suggested}",
               f"score {suspect.score:.2f}"),
        mark="suspect",
        tooltip=(f"Labeled “{suspect.given}”, but a model trained without this image gives that "
                 f"label only {suspect.self_confidence:.0%} and “{suspect.suggested}” "
                 f"{suspect.suggested_probability:.0%}.\n{suspect.path}"),
        payload=suspect)


class MislabeledPanel(QWidget):
    searchFinished = Signal(int)  # number of suspects found (for tests and the status bar)

    def __init__(self, context, thumbnails, parent=None):
        super().__init__(parent)
        self.context = context
        self.run_dir: str | None = None
        self.job = None
        self._held_back = []  # disagreements not worth a look at this model's quality
        self._warning = ""  # the job's last warning, added to the result sentence
        self.intro = QLabel(HELP)
        self.intro.setWordWrap(True)
        self.find_button = QPushButton("Find likely mislabeled images")
        self.find_button.clicked.connect(self.start_search)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        # The list behind the "too weak" sentence, for whoever wants to see it anyway.
        self.show_anyway_button = QPushButton("Show them anyway")
        self.show_anyway_button.clicked.connect(self.show_anyway)
        self.show_anyway_button.setVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.gallery = ReviewGallery(thumbnails)
        self.gallery.accept_keys = True
        self.gallery.acceptRequested.connect(self.accept)
        self.editor = GalleryEditor(context, self.gallery)
        self.editor.notice.connect(self.status.setText)

        buttons = QHBoxLayout()
        buttons.addWidget(self.find_button)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.show_anyway_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.gallery, 1)
        self._set_running(False)
        context.imagesChanged.connect(lambda _ids: self._refresh_given())
        context.classesChanged.connect(self._refresh_given)

    def _current(self, suspects: list) -> list:
        """The suspects with the label each image has now: one relabelled while the check ran
        (or since) shows its new label, not the one the check started from."""
        project = self.context.project
        ids = [s.image_id for s in suspects if s.image_id is not None]
        if project is None or not ids:
            return list(suspects)
        names = {c.id: c.name for c in project.classes()}
        now = {r.id: names.get(r.class_id, "nothing (unlabeled)") for r in project.images(ids)}
        return [dataclasses.replace(s, given=now[s.image_id]) if s.image_id in now else s
                for s in suspects]

    def _refresh_given(self) -> None:
        items = self.gallery.model().items()
        if not items or self.context.project is None:
            return
        suspects = self._current([item.payload for item in items])
        if [s.given for s in suspects] == [item.payload.given for item in items]:
            return
        row = self.gallery.currentIndex().row()
        self.gallery.set_items([suspect_item(s) for s in suspects])
        if 0 <= row < len(suspects):
            self.gallery.setCurrentIndex(self.gallery.model().index(row))

    def set_run(self, run_dir: str | None) -> None:
        """The run whose backbone computes the features; a new run clears old results."""
        if run_dir != self.run_dir:
            self.cancel()
            self.run_dir = run_dir
            self.gallery.set_items([])
            self._held_back = []
            self.show_anyway_button.setVisible(False)
            self.status.setText(self._weak_run_sentence())
        self.find_button.setEnabled(run_dir is not None and self.job is None)

    def _weak_run_sentence(self) -> str:
        """Why this run's opinion of the labels means little, or "" for a good run."""
        from mbv2gui.core.errors import UserError
        from mbv2gui.core.inference.quality import too_weak_sentence
        from mbv2gui.core.runs import Run

        text = ""
        if self.run_dir is not None:
            try:
                text = too_weak_sentence(Run.load(self.run_dir), "most images it would call "
                                         "mislabeled would be its own mistakes")
            except UserError:
                pass  # an unreadable run says so where it is chosen
        self.find_button.setText("Look anyway" if text else "Find likely mislabeled images")
        return text

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        self.find_button.setEnabled(not running and self.run_dir is not None)

    def start_search(self) -> None:
        if self.job is not None or self.context.project is None or self.run_dir is None:
            return
        from mbv2gui.core.inference.mislabeled import find_likely_mislabeled

        self.show_anyway_button.setVisible(False)
        self.status.setText("Looking for likely mislabeled images…")
        self.progress.setRange(0, 0)
        self._set_running(True)
        self.job = self.context.jobs.start_in_engine(find_likely_mislabeled,
                                                     str(self.context.project.path),
                                                     self.run_dir, name="looking for mislabeled images")
        self.job.progress.connect(self._on_progress)
        self.job.event.connect(self._on_event)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(lambda text, _detail: self._on_ended(text))
        self.job.cancelled.connect(lambda: self._on_ended("Stopped."))

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _on_progress(self, done: int, total, message: str) -> None:
        if total:
            self.progress.setRange(0, int(total))
            self.progress.setValue(done)
        if message:
            self.status.setText(message + "…")

    def _on_event(self, event: dict) -> None:
        if event.get("type") == "message" and event.get("level") == "warning":
            self._warning = event.get("text", "")

    def _on_finished(self, result) -> None:
        warning = self._warning
        self._held_back = self._current(result.held_back)
        self.gallery.set_items([suspect_item(s) for s in self._current(result.suspects)])
        self._on_ended(f"{result.sentence()} {warning}".strip())
        self.show_anyway_button.setText(f"Show {len(self._held_back)} anyway")
        self.show_anyway_button.setVisible(result.too_weak and bool(self._held_back))
        self.gallery.setFocus()
        self.searchFinished.emit(len(result.suspects))

    def show_anyway(self) -> None:
        """Lists the disagreements the too-weak cross-check held back, after the flagged ones."""
        shown = self.gallery.model().items()
        self.gallery.set_items(shown + [suspect_item(s) for s in self._held_back])
        self._held_back = []
        self.show_anyway_button.setVisible(False)
        self.status.setText(self.status.text() + " Shown anyway: most of these are probably "
                            "labeled correctly.")
    def _on_ended(self, text: str) -> None:
        self.job = None
        self._warning = ""
        self._set_running(False)
        self.status.setText(text)

    def accept(self, items: list[ReviewItem]) -> None:
        """Gives each selected image its suggested label, in one undoable step per class."""
        project = self.context.project
        if project is None:
            return
        for name in dict.fromkeys(item.payload.suggested for item in items):
            target = project.class_by_name(name)
            if target is None:
                self.status.setText(f"The class “{name}” does not exist any more.")
                continue
            self.editor.relabel([i for i in items if i.payload.suggested == name], target.id, name)
        accepted = {id(i) for i in items}
        remaining = [i for i in self.gallery.model().items() if id(i) not in accepted]
        row = self.gallery.currentIndex().row()
        self.gallery.set_items(remaining)
        if remaining:  # stay where the person was, so Enter, Enter, Enter walks down the list
            self.gallery.setCurrentIndex(self.gallery.model().index(min(row, len(remaining) - 1)))
