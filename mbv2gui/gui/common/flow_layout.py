"""A layout that places widgets left to right and wraps them onto the next line, like words
(Qt's flow layout example): the Predict view's cards fill whatever width the window has."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout


class FlowLayout(QLayout):
    """Lays widgets out left to right, wrapping to the next line (Qt's flow layout example)."""

    def __init__(self, parent=None, spacing: int = 14):
        super().__init__(parent)
        self._items = []
        self._spacing = spacing

    def addItem(self, item) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self):
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, apply: bool) -> int:
        """Places the items in lines; the block of lines is centered as a whole (the cards
        all have one width, so the columns line up)."""
        margins = self.contentsMargins()
        area = rect.adjusted(margins.left(), margins.top(), -margins.right(), -margins.bottom())
        lines, line, width = [], [], 0
        for item in self._items:
            hint = item.sizeHint()
            needed = hint.width() if not line else width + self._spacing + hint.width()
            if line and needed > area.width():
                lines.append((line, width))
                line, needed = [], hint.width()
            line.append(item)
            width = needed
        if line:
            lines.append((line, width))
        widest = max((w for _items, w in lines), default=0)
        left = area.x() + max(0, (area.width() - widest) // 2)
        y = area.y()
        for items, _width in lines:
            x, line_height = left, 0
            for item in items:
                hint = item.sizeHint()
                if apply:
                    item.setGeometry(QRect(QPoint(x, y), hint))
                x += hint.width() + self._spacing
                line_height = max(line_height, hint.height())
            y += line_height + self._spacing
        return (y - self._spacing if lines else y) - rect.y() + margins.bottom()
