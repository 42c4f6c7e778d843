"""Graphics items of the timeline: segment lanes (culled to the view) and the view box.

Frame ``i`` occupies ``[i, i + 1)`` on the x axis, so a segment ``(onset, offset)``
(inclusive) is the box ``[onset, offset + 1)`` and ``floor(x)`` is the frame under the mouse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import PySide6  # noqa: F401  (pyqtgraph must find PySide6 first)
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter

EDGE_TOLERANCE_PX = 5.0
DEFAULT_NEW_LENGTH = 15  # frames of a segment created by double-click


@dataclass(frozen=True)
class LaneStyle:
    """Fill and outline of one kind of box."""

    fill: QColor
    outline: QColor


def merge_to_pixels(starts: np.ndarray, stops: np.ndarray, x_min: float,
                    pixel: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge boxes ``[start, stop)`` that touch the same pixel column into one box.

    Zoomed out, thousands of segments are a few pixels apart; drawing one box per run of
    covered pixels keeps painting proportional to the widget's width, not the segment count.

    Returns:
        Merged starts and stops, in x order.
    """
    if len(starts) == 0 or pixel <= 0:
        return np.asarray(starts, float), np.asarray(stops, float)
    order = np.argsort(starts, kind="stable")
    starts, stops = np.asarray(starts, float)[order], np.asarray(stops, float)[order]
    first_col = np.floor((starts - x_min) / pixel)
    reach = np.maximum.accumulate(stops)
    last_col = np.floor((reach - x_min) / pixel)
    new_run = np.ones(len(starts), bool)
    new_run[1:] = first_col[1:] > last_col[:-1]
    run_id = np.cumsum(new_run) - 1
    merged_starts = starts[new_run]
    merged_stops = np.zeros(len(merged_starts))
    np.maximum.at(merged_stops, run_id, stops)
    return merged_starts, merged_stops


def true_runs(mask: np.ndarray) -> np.ndarray:
    """``(K, 2)`` inclusive ``[start, stop]`` frame ranges of the True runs of ``mask``."""
    padded = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return edges.reshape(-1, 2) - np.array([0, 1])


class SegmentLaneItem(pg.GraphicsObject):
    """Boxes ``[onset, offset + 1) × [y0, y0 + height)``, painted only where visible.

    Segments are given in their document order, each with its id (``ids``; default: its
    position); ``styles[i]`` picks the look of segment i. ``selected`` is the id drawn
    highlighted (the editor's selection, given to the view; ``-1``: none). Painting culls
    with binary search on the sorted onsets, so a lane of thousands of segments costs only
    what is on screen.
    """

    def __init__(self, y0: float, height: float, styles: list[LaneStyle]) -> None:
        super().__init__()
        self.y0, self.height = float(y0), float(height)
        self._styles = styles
        self._onsets = np.zeros(0, np.int64)
        self._offsets = np.zeros(0, np.int64)
        self._style_idx = np.zeros(0, np.int64)
        self._ids = np.zeros(0, np.int64)
        self._order = np.zeros(0, np.int64)       # document indices sorted by onset
        self._sorted_onsets = np.zeros(0, np.int64)
        self._max_len = 0
        self._extent = 1
        self.selected = -1
        self.preview: tuple[int, int] | None = None  # a box being created, not yet data

    def set_segments(self, onsets, offsets, style_idx=None, extent: int | None = None,
                     ids=None) -> None:
        """Replace the boxes; ``style_idx`` (same length) selects each box's style and
        ``ids`` names each box (default: its position)."""
        self.prepareGeometryChange()
        self._onsets = np.asarray(onsets, np.int64).reshape(-1)
        self._offsets = np.asarray(offsets, np.int64).reshape(-1)
        n = len(self._onsets)
        self._style_idx = (np.zeros(n, np.int64) if style_idx is None
                           else np.asarray(style_idx, np.int64).reshape(-1))
        self._ids = (np.arange(n, dtype=np.int64) if ids is None
                     else np.asarray(ids, np.int64).reshape(-1))
        self._order = np.argsort(self._onsets, kind="stable")
        self._sorted_onsets = self._onsets[self._order]
        self._max_len = int((self._offsets - self._onsets).max() + 1) if n else 0
        if extent is not None:
            self._extent = max(1, int(extent))
        elif n:
            self._extent = max(self._extent, int(self._offsets.max()) + 1)
        self.update()

    def set_extent(self, extent: int) -> None:
        """The x extent of the lane (the clip's frame count)."""
        self.prepareGeometryChange()
        self._extent = max(1, int(extent))
        self.update()

    @property
    def segments(self) -> np.ndarray:
        """``(K, 2)`` onsets and offsets in document order."""
        return np.stack([self._onsets, self._offsets], axis=1)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return QRectF(0.0, self.y0, float(self._extent), self.height)

    def visible_indices(self, x_min: float, x_max: float) -> np.ndarray:
        """Document indices of the segments overlapping ``[x_min, x_max]``."""
        lo = np.searchsorted(self._sorted_onsets, x_min - self._max_len, side="left")
        hi = np.searchsorted(self._sorted_onsets, x_max, side="right")
        candidates = self._order[lo:hi]
        return candidates[self._offsets[candidates] + 1 >= x_min]

    def _view_x_range(self) -> tuple[float, float]:
        view = self.getViewBox()
        if view is None:
            return 0.0, float(self._extent)
        (x_min, x_max), _ = view.viewRange()
        return x_min, x_max

    def paint(self, painter: QPainter, option, widget=None) -> None:  # noqa: D102
        x_min, x_max = self._view_x_range()
        visible = self.visible_indices(x_min, x_max)
        min_width = max(self.pixelWidth() or 0.0, 0.0)
        for style_no, style in enumerate(self._styles):
            idx = visible[self._style_idx[visible] == style_no]
            if not len(idx):
                continue
            painter.setPen(pg.mkPen(style.outline, width=1, cosmetic=True))
            painter.setBrush(QBrush(style.fill))
            starts, stops = merge_to_pixels(self._onsets[idx], self._offsets[idx] + 1,
                                            x_min, min_width)
            painter.drawRects([QRectF(a, self.y0, max(b - a, min_width), self.height)
                               for a, b in zip(starts.tolist(), stops.tolist())])
        selected = np.flatnonzero(self._ids == self.selected) if self.selected >= 0 else []
        if len(selected):
            painter.setPen(pg.mkPen(QColor(255, 255, 255), width=2.5, cosmetic=True))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self._rect(int(selected[0]), min_width))
        if self.preview is not None:
            onset, offset = self.preview
            painter.setPen(pg.mkPen(QColor(255, 255, 255), width=1, style=Qt.PenStyle.DashLine,
                                    cosmetic=True))
            painter.setBrush(QBrush(QColor(255, 255, 255, 60)))
            painter.drawRect(QRectF(onset, self.y0, offset - onset + 1, self.height))

    def _rect(self, index: int, min_width: float) -> QRectF:
        onset, offset = float(self._onsets[index]), float(self._offsets[index])
        return QRectF(onset, self.y0, max(offset - onset + 1.0, min_width), self.height)

    def hit_test(self, x: float, tolerance: float) -> tuple[int, str] | None:
        """The id of the segment under ``x`` and the part hit: ``"onset"``, ``"offset"`` or
        ``"body"``.

        Edges win over bodies within ``tolerance`` (data units); among several segments
        the nearest edge, then the shortest body, wins.
        """
        if not len(self._onsets):
            return None
        starts = self._onsets.astype(float)
        ends = self._offsets.astype(float) + 1.0
        d_on, d_off = np.abs(x - starts), np.abs(x - ends)
        near = np.minimum(d_on, d_off)
        best = int(np.argmin(near))
        if near[best] <= tolerance:
            return int(self._ids[best]), "onset" if d_on[best] <= d_off[best] else "offset"
        inside = np.flatnonzero((starts <= x) & (x < ends))
        if not len(inside):
            return None
        return int(self._ids[inside[np.argmin(ends[inside] - starts[inside])]]), "body"

    def span_of(self, segment_id: int) -> tuple[int, int]:
        """``(onset, offset)`` of the box with ``segment_id``."""
        i = int(np.flatnonzero(self._ids == segment_id)[0])
        return int(self._onsets[i]), int(self._offsets[i])


class EditableLaneItem(SegmentLaneItem):
    """A lane whose boxes can be selected, moved and resized, and new ones drawn.

    The item never changes its own data: it emits intents (naming segments by id), and the
    timeline redraws when the document says a segment changed.
    """

    edit_requested = Signal(int, int, int, bool)    # segment id, onset, offset, finished
    create_requested = Signal(int, int)             # onset, offset
    selected_requested = Signal(int)                # segment id (-1: none)

    def __init__(self, y0: float, height: float, styles: list[LaneStyle]) -> None:
        super().__init__(y0, height, styles)
        self.setAcceptHoverEvents(True)
        self._drag: dict | None = None

    def _tolerance(self) -> float:
        return EDGE_TOLERANCE_PX * (self.pixelWidth() or 1.0)

    def hoverEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph hook)
        if ev.isExit():
            self.unsetCursor()
            return
        hit = self.hit_test(ev.pos().x(), self._tolerance())
        if hit is None:
            if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                ev.acceptDrags(Qt.MouseButton.LeftButton)
            self.unsetCursor()
            return
        ev.acceptDrags(Qt.MouseButton.LeftButton)
        ev.acceptClicks(Qt.MouseButton.LeftButton)
        shape = (Qt.CursorShape.OpenHandCursor if hit[1] == "body"
                 else Qt.CursorShape.SizeHorCursor)
        self.setCursor(shape)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph hook)
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        x = ev.pos().x()
        hit = self.hit_test(x, self._tolerance())
        if ev.double() and hit is None:
            onset = max(0, int(math.floor(x)))
            offset = min(self._extent - 1, onset + DEFAULT_NEW_LENGTH - 1)
            self.create_requested.emit(onset, max(onset, offset))
            ev.accept()
            return
        if hit is None:
            ev.ignore()   # the view box seeks
            return
        self.selected_requested.emit(hit[0])
        ev.accept()

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph hook)
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        if ev.isStart():
            self._start_drag(ev)
            if self._drag is None:
                ev.ignore()
                return
        if self._drag is None:
            ev.ignore()
            return
        ev.accept()
        x = ev.pos().x()
        if self._drag["part"] == "create":
            self._drag_create(int(math.floor(x)), ev.isFinish())
        else:
            self._drag_edit(x, ev.isFinish())
        if ev.isFinish():
            self._drag = None

    def _start_drag(self, ev) -> None:
        x = ev.buttonDownPos().x()
        frame = int(math.floor(x))
        hit = self.hit_test(x, self._tolerance())
        if hit is not None:
            segment_id, part = hit
            span = self.span_of(segment_id)
            self._drag = dict(part=part, id=segment_id, press_x=x, emitted=False,
                              orig=span, last=span)
            self.selected_requested.emit(segment_id)
        elif ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self._drag = dict(part="create", press=max(0, min(frame, self._extent - 1)))
        else:
            self._drag = None

    def _drag_edit(self, x: float, finished: bool) -> None:
        """Edges snap to the nearest frame boundary; a body moves by whole frames."""
        drag = self._drag
        onset, offset = drag["orig"]
        last_frame = self._extent - 1
        if drag["part"] == "onset":
            onset = max(0, min(round(x), offset))
        elif drag["part"] == "offset":
            offset = max(onset, min(round(x) - 1, last_frame))
        else:
            delta = round(x - drag["press_x"])
            delta = max(-onset, min(delta, last_frame - offset))
            onset, offset = onset + delta, offset + delta
        changed = (onset, offset) != drag["last"]
        if changed or (finished and drag["emitted"]):
            self.edit_requested.emit(drag["id"], onset, offset, finished)
            drag["emitted"], drag["last"] = True, (onset, offset)

    def _drag_create(self, frame: int, finished: bool) -> None:
        frame = max(0, min(frame, self._extent - 1))
        onset, offset = sorted((self._drag["press"], frame))
        self.preview = None if finished else (onset, offset)
        self.update()
        if finished:
            self.create_requested.emit(onset, offset)


class TimelineViewBox(pg.ViewBox):
    """x-only zoom (wheel) and pan (Shift+wheel, middle drag); left click/drag seeks."""

    scrub_requested = Signal(float)   # x in data coordinates

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=True, y=False)

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: N802 (Qt override)
        delta = ev.delta() if hasattr(ev, "delta") else ev.angleDelta().y()
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier or (
                hasattr(ev, "orientation") and ev.orientation() == Qt.Orientation.Horizontal):
            (x_min, x_max), _ = self.viewRange()
            self.translateBy(x=-(x_max - x_min) * 0.1 * np.sign(delta))
            ev.accept()
            return
        super().wheelEvent(ev, axis=0)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph hook)
        if ev.button() == Qt.MouseButton.LeftButton:
            self.scrub_requested.emit(self.mapSceneToView(ev.scenePos()).x())
            ev.accept()
            return
        ev.ignore()

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 (pyqtgraph hook)
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self.scrub_requested.emit(self.mapSceneToView(ev.scenePos()).x())
            return
        super().mouseDragEvent(ev, axis=0)


def data_to_scene(view: pg.ViewBox, x: float, y: float) -> QPointF:
    """Scene position of the data point ``(x, y)`` (used by tests to aim the mouse)."""
    return view.mapViewToScene(QPointF(x, y))
