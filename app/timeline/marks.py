"""What is drawn on top of the ME boxes: each segment's label and its apex.

Labels are drawn in screen pixels (the plot's x and y scales differ wildly), from the box's
left edge, running past a narrow box up to the next one, elided when there is no room; a label that is
not in the clip's controlled vocabulary is drawn in italics with a trailing "?". The apex
is a vertical line through the middle of its frame with a small triangle on top. With more
than ``MAX_DETAILED`` segments in view only the apex lines are drawn, in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import PySide6  # noqa: F401  (pyqtgraph must find PySide6 first)
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPolygonF

from app.timeline.styles import APEX_COLOR

MIN_LABEL_PX = 18
LABEL_PX = 90      # room a label may take beyond a narrow box
MAX_DETAILED = 300  # more marks in view: apex lines only (painting stays ~ms at any zoom)


@dataclass(frozen=True)
class Mark:
    """One segment's marks: its span, apex (None: none), label, and whether the label is
    in the vocabulary."""

    onset: int
    offset: int
    apex: int | None
    label: str
    known: bool = True


class SegmentMarksItem(pg.GraphicsObject):
    """Labels and apexes of the segments of a lane ``[y0, y0 + height)``."""

    def __init__(self, y0: float, height: float) -> None:
        super().__init__()
        self.y0, self.height = float(y0), float(height)
        self._marks: list[Mark] = []
        self._onsets = np.zeros(0, np.int64)
        self._extent = 1
        self.font = QFont()
        self.font.setPointSizeF(8.0)

    @property
    def marks(self) -> list[Mark]:
        """The marks drawn (sorted by onset)."""
        return list(self._marks)

    def set_marks(self, marks: list[Mark], extent: int | None = None) -> None:
        """Replace the marks."""
        self.prepareGeometryChange()
        self._marks = sorted(marks, key=lambda m: (m.onset, m.offset))
        self._onsets = np.array([m.onset for m in self._marks], np.int64)
        self._max_len = max((m.offset - m.onset + 1 for m in self._marks), default=0)
        if extent is not None:
            self._extent = max(1, int(extent))
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return QRectF(0.0, self.y0, float(self._extent), self.height)

    def _visible(self) -> list[Mark]:
        view = self.getViewBox()
        if view is None or not self._marks:
            return self._marks
        (x_min, x_max), _ = view.viewRange()
        lo = int(np.searchsorted(self._onsets, x_min - self._max_len, side="left"))
        hi = int(np.searchsorted(self._onsets, x_max, side="right"))
        return [m for m in self._marks[lo:hi] if m.offset + 1 >= x_min]

    def paint(self, painter: QPainter, option, widget=None) -> None:  # noqa: D102
        visible = self._visible()
        if not visible:
            return
        to_px = painter.transform()
        if len(visible) > MAX_DETAILED:
            self._paint_dense(painter, visible)
            return
        painter.save()
        painter.resetTransform()
        painter.setFont(self.font)
        metrics = QFontMetrics(self.font)
        top, bottom = self.y0 + self.height, self.y0
        for k, mark in enumerate(visible):
            a = to_px.map(QPointF(mark.onset, top))
            b = to_px.map(QPointF(mark.offset + 1, bottom))
            left, right = min(a.x(), b.x()), max(a.x(), b.x())
            y_top, y_bottom = min(a.y(), b.y()), max(a.y(), b.y())
            if mark.apex is not None:
                self._paint_apex(painter, to_px.map(QPointF(mark.apex + 0.5, 0)).x(),
                                 y_top, y_bottom)
            # a label may run past a narrow box, up to the next box (as far as LABEL_PX)
            following = (to_px.map(QPointF(visible[k + 1].onset, top)).x()
                         if k + 1 < len(visible) else left + LABEL_PX)
            right = max(right, min(left + LABEL_PX, following - 2))
            if mark.label and right - left >= MIN_LABEL_PX:
                text = mark.label if mark.known else f"{mark.label}?"
                font = QFont(self.font)
                font.setItalic(not mark.known)
                painter.setFont(font)
                elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight,
                                            int(right - left - 6))
                painter.setPen(pg.mkPen(QColor(255, 255, 255) if mark.known
                                        else QColor(255, 200, 120)))
                painter.drawText(QRectF(left + 3, y_top + 1, right - left - 6,
                                        y_bottom - y_top - 2),
                                 int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
                                 elided)
        painter.restore()

    def _paint_dense(self, painter: QPainter, visible: list[Mark]) -> None:
        """Zoomed far out: the apexes as one batch of lines, no labels (unreadable anyway)."""
        apexes = [m.apex + 0.5 for m in visible if m.apex is not None]
        if not apexes:
            return
        painter.setPen(pg.mkPen(APEX_COLOR, width=1, cosmetic=True))
        top, bottom = self.y0 + self.height, self.y0
        painter.drawLines([QLineF(x, bottom, x, top) for x in apexes])

    @staticmethod
    def _paint_apex(painter: QPainter, x: float, y_top: float, y_bottom: float) -> None:
        painter.setPen(pg.mkPen(APEX_COLOR, width=2))
        painter.drawLine(QPointF(x, y_top), QPointF(x, y_bottom))
        painter.setBrush(QBrush(APEX_COLOR))
        painter.drawPolygon(QPolygonF([QPointF(x - 4, y_top - 5), QPointF(x + 4, y_top - 5),
                                       QPointF(x, y_top + 1)]))
