"""The gallery's list model: every image of the project as a light row, filtered.

All rows are read in one query (`core/store/queries.py image_rows`) and kept as tuples; the
filter is a list of ids into them. Changes arrive as `imagesChanged(ids)`: the model re-reads
just those rows and inserts, removes or updates them in place, so an import landing in batches
or a key press relabeling one image never resets the view (a reset would lose the scroll
position and the selection). An empty id list means "many things changed": a full reload.

Rows that stop matching the filter (an image labeled while "Unlabeled" is shown) stay until the
filter is chosen again, so the image under the cursor never jumps away mid-labeling.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, Qt
from PySide6.QtGui import QColor

from mbv2gui.core.store.queries import PROBLEM_STATUSES, GalleryRow, image_rows
from mbv2gui.gui.common.thumbnail_loader import ThumbnailLoader, Unreadable

MIME_IDS = "application/x-mbv2gui-image-ids"
_USER = Qt.ItemDataRole.UserRole
RowRole, IdRole, LabelRole, ColorRole, StatusRole, ThumbnailRole = (_USER + n for n in range(1, 7))
# Incremental changes beyond this many scattered rows are cheaper as one reset.
MAX_PIECEMEAL = 200


@dataclass(frozen=True)
class GalleryFilter:
    """What the gallery shows: kind is "all", "unlabeled", "class", "problems" or "ids"."""

    kind: str = "all"
    class_id: int | None = None
    ids: tuple[int, ...] = ()
    caption: str = ""
    _id_set: frozenset = field(default=frozenset(), compare=False, repr=False)

    @classmethod
    def everything(cls) -> "GalleryFilter":
        return cls("all", caption="All images")

    @classmethod
    def unlabeled(cls) -> "GalleryFilter":
        return cls("unlabeled", caption="Unlabeled images")

    @classmethod
    def of_class(cls, class_id: int, name: str = "") -> "GalleryFilter":
        return cls("class", class_id, caption=f"Class “{name}”" if name else "One class")

    @classmethod
    def problems(cls) -> "GalleryFilter":
        return cls("problems", caption="Unreadable or missing images")

    @classmethod
    def of_ids(cls, ids: list[int], caption: str) -> "GalleryFilter":
        return cls("ids", ids=tuple(ids), caption=caption, _id_set=frozenset(ids))

    def accepts(self, row: GalleryRow) -> bool:
        if self.kind == "unlabeled":
            return row.class_id is None
        if self.kind == "class":
            return row.class_id == self.class_id
        if self.kind == "problems":
            return row.status in PROBLEM_STATUSES
        if self.kind == "ids":
            return row.id in self._id_set
        return True


def ids_from_mime(mime: QMimeData | None) -> list[int]:
    if mime is None or not mime.hasFormat(MIME_IDS):
        return []
    text = bytes(mime.data(MIME_IDS).data()).decode("ascii")
    return [int(part) for part in text.split(",") if part]


class GalleryModel(QAbstractListModel):
    def __init__(self, loader: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.loader = loader
        loader.ready.connect(self._on_thumbnail)
        self._project = None
        self._all: dict[int, GalleryRow] = {}
        self._by_hash: dict[str, int] = {}
        self._shown: list[int] = []
        self._row_of: dict[int, int] | None = None  # built lazily after structural changes
        self._classes: dict = {}
        self._colors: dict[int, QColor] = {}
        self._filter = GalleryFilter.everything()
        self._class_counts: Counter = Counter()
        self._problems = 0
        # Suggested labels for unlabeled images (image id -> (class name, confidence)), from
        # a run's suggestions (core/inference/suggestions.py); shown only while unlabeled.
        self._suggestions: dict[int, tuple[str, float]] = {}
        # An order to show the images in (image id -> place, e.g. "Label next"); None: as added.
        self._order: dict[int, int] | None = None

    # ----------------------------------------------------------------- loading and filtering
    def set_project(self, project) -> None:
        self._project = project
        self._filter = GalleryFilter.everything()
        self.reload()

    def _load_classes(self) -> None:
        self._classes = {c.id: c for c in self._project.classes()} if self._project else {}
        self._colors = {i: QColor(c.color) for i, c in self._classes.items()}

    def reload(self) -> None:
        """Re-reads every row and the classes (one query each)."""
        self._load_classes()
        rows = image_rows(self._project) if self._project else []
        self._all = {row.id: row for row in rows}
        self._by_hash = {row.content_hash: row.id for row in rows if row.content_hash}
        self._class_counts = Counter(row.class_id for row in rows)
        self._problems = sum(1 for row in rows if row.status in PROBLEM_STATUSES)
        self._refilter()

    def set_filter(self, gallery_filter: GalleryFilter) -> None:
        self._filter = gallery_filter
        self._refilter()

    def filter(self) -> GalleryFilter:
        return self._filter

    def set_order(self, ids: list[int] | None) -> None:
        """Shows the images in this order (the ids it leaves out follow in the order they
        were added); None: the order they were added. `U` follows the order shown."""
        self._order = None if ids is None else {i: place for place, i in enumerate(ids)}
        self._refilter()

    def _refilter(self) -> None:
        self.beginResetModel()
        accepts = self._filter.accepts
        if self._filter.kind == "ids":
            self._shown = [i for i in self._filter.ids if i in self._all]
        elif self._filter.kind == "all":
            self._shown = sorted(self._all)
        else:
            self._shown = sorted(i for i, row in self._all.items() if accepts(row))
        if self._order is not None and self._filter.kind != "ids":
            last = len(self._order)  # images the order does not rank follow, as added
            self._shown.sort(key=lambda i: (self._order.get(i, last), i))
        self._row_of = None
        self.endResetModel()

    def set_suggestions(self, suggestions: dict[int, tuple[str, float]]) -> None:
        self._suggestions = dict(suggestions)
        if self._shown:
            self.dataChanged.emit(self.index(0), self.index(len(self._shown) - 1),
                                  [LabelRole, Qt.ItemDataRole.ToolTipRole])

    def suggestion(self, row: GalleryRow) -> tuple[str, float] | None:
        """The suggested (class name, confidence) of an unlabeled image, else None."""
        return self._suggestions.get(row.id) if row.class_id is None else None

    def pending_suggestions(self, suggestions: dict) -> int:
        """How many of `suggestions` are for images in the project still without a label."""
        return sum(1 for image_id in suggestions
                   if image_id in self._all and self._all[image_id].class_id is None)

    def suggested_color(self, name: str) -> QColor | None:
        return next((self._colors[i] for i, c in self._classes.items() if c.name == name), None)

    def reload_classes(self) -> None:
        """Names and colors changed: repaint the chips; no row moves."""
        self._load_classes()
        if self._shown:
            self.dataChanged.emit(self.index(0), self.index(len(self._shown) - 1),
                                  [LabelRole, ColorRole, Qt.ItemDataRole.ToolTipRole])

    # ----------------------------------------------------------------- incremental updates
    def update_ids(self, ids: list[int]) -> None:
        if not ids:
            self.reload()
            return
        fresh = {row.id: row for row in image_rows(self._project, list(ids))}
        if any(row.class_id not in self._classes for row in fresh.values() if row.class_id):
            self._load_classes()  # an import made a class from a folder name as it went
        changed, inserted, removed = [], [], []
        row_of = self.row_of_ids()
        for image_id in ids:
            row = fresh.get(image_id)
            old = self._all.pop(image_id, None)
            if old is not None:
                self._count(old, -1)
                self._by_hash.pop(old.content_hash, None)
            if row is None:
                if image_id in row_of:
                    removed.append(row_of[image_id])
                continue
            self._all[image_id] = row
            self._count(row, +1)
            if row.content_hash:
                self._by_hash[row.content_hash] = image_id
            if image_id in row_of:
                changed.append(row_of[image_id])
            elif self._filter.accepts(row):
                inserted.append(image_id)
        if len(removed) + len(inserted) > MAX_PIECEMEAL:
            self._refilter()
            return
        self._remove_rows(sorted(set(removed), reverse=True))
        self._insert_ids(sorted(set(inserted)))
        if changed and not removed and not inserted:
            self.dataChanged.emit(self.index(min(changed)), self.index(max(changed)))
        elif changed:  # rows moved: look them up again
            rows = [self.row_of_ids()[i] for i in ids if i in self.row_of_ids()]
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)))

    def _count(self, row: GalleryRow, sign: int) -> None:
        self._class_counts[row.class_id] += sign
        self._problems += sign * (row.status in PROBLEM_STATUSES)

    def counts(self) -> tuple[dict[int | None, int], int]:
        """Images per class id (None: unlabeled) and unreadable/missing images, in the whole
        project, kept up to date from memory: recounting in SQL scanned 50,000 rows per key."""
        return {k: n for k, n in self._class_counts.items() if n > 0}, self._problems

    def _remove_rows(self, rows_descending: list[int]) -> None:
        for row in rows_descending:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._shown[row]
            self._row_of = None
            self.endRemoveRows()

    def _insert_ids(self, ids: list[int]) -> None:
        if not ids:
            return
        if (self._filter.kind == "ids" or self._order is not None or not self._shown
                or ids[0] > self._shown[-1]):
            # The common case (an import's batch): one block at the end.
            first = len(self._shown)
            self.beginInsertRows(QModelIndex(), first, first + len(ids) - 1)
            self._shown.extend(ids)
            self._row_of = None
            self.endInsertRows()
            return
        for image_id in ids:  # restored by undo: back in their places, in id order
            row = bisect.bisect_left(self._shown, image_id)
            self.beginInsertRows(QModelIndex(), row, row)
            self._shown.insert(row, image_id)
            self._row_of = None
            self.endInsertRows()

    def _on_thumbnail(self, content_hash: str) -> None:
        image_id = self._by_hash.get(content_hash)
        row = self.row_of_ids().get(image_id) if image_id is not None else None
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [ThumbnailRole, Qt.ItemDataRole.DecorationRole])

    # ----------------------------------------------------------------- lookups
    def row_of_ids(self) -> dict[int, int]:
        if self._row_of is None:
            self._row_of = {image_id: row for row, image_id in enumerate(self._shown)}
        return self._row_of

    def image_row(self, row: int) -> GalleryRow:
        return self._all[self._shown[row]]

    def id_at(self, row: int) -> int:
        return self._shown[row]

    def shown_ids(self) -> list[int]:
        return list(self._shown)

    def class_info(self, class_id: int | None):
        return self._classes.get(class_id)

    def class_color(self, class_id: int | None) -> QColor | None:
        return self._colors.get(class_id)

    def thumbnail(self, row: GalleryRow):
        """The row's QPixmap, an `Unreadable`, or None while it loads (asking queues it)."""
        if row.status in PROBLEM_STATUSES:
            return Unreadable(row.reason or f"the file is {row.status}")
        return self.loader.pixmap(row.content_hash, row.path)

    def next_unlabeled(self, after_row: int) -> int | None:
        """The first unlabeled row after `after_row`, wrapping round; None when all are labeled."""
        count = len(self._shown)
        for step in range(1, count + 1):
            row = (after_row + step) % count
            if self._all[self._shown[row]].class_id is None:
                return row
        return None

    # ----------------------------------------------------------------- Qt model interface
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._shown)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._shown):
            return None
        row = self._all[self._shown[index.row()]]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.name
        if role == RowRole:
            return row
        if role == ThumbnailRole or role == Qt.ItemDataRole.DecorationRole:
            thumb = self.thumbnail(row)
            if role == Qt.ItemDataRole.DecorationRole and isinstance(thumb, Unreadable):
                return None
            return thumb
        if role == LabelRole:
            info = self._classes.get(row.class_id)
            return info.name if info else ""
        if role == ColorRole:
            return self.class_color(row.class_id)
        if role == StatusRole:
            return row.status
        if role == IdRole:
            return row.id
        if role == Qt.ItemDataRole.ToolTipRole:
            info = self._classes.get(row.class_id)
            lines = [row.path, f"Label: {info.name if info else 'none'}"]
            suggested = self.suggestion(row)
            if suggested is not None:
                lines.append(f"Suggested by the model: {suggested[0]} ({suggested[1]:.0%})")
            if row.status != "ok":
                lines.append(f"{row.status.capitalize()}: {row.reason or ''}".rstrip(": "))
            return "\n".join(lines)
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return [MIME_IDS]

    def mimeData(self, indexes) -> QMimeData:
        mime = QMimeData()
        ids = sorted({self._shown[i.row()] for i in indexes if i.isValid()})
        mime.setData(MIME_IDS, ",".join(map(str, ids)).encode("ascii"))
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction
