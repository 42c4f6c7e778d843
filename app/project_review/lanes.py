"""The adjudication view's lanes: both annotators' ME and Speaking rows and the result, with
the disagreements highlighted (pyqtgraph)."""

from __future__ import annotations

import PySide6  # noqa: F401  (pyqtgraph must find PySide6 first)
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QWidget

from meldae.annotations import ClipAnnotations, Segment

# lane rows, top to bottom: (y, title)
ROWS = {"me_a": 5, "me_b": 4, "me_result": 3, "speaking_a": 2, "speaking_b": 1, "speaking_result": 0}
LANE_HEIGHT = 0.7
ME_FILL = QColor(230, 120, 40)
SPEAKING_FILL = QColor(70, 130, 200)
UNDECIDED = QColor(220, 40, 40, 70)
DECIDED = QColor(60, 170, 90, 50)
SELECTED_PEN = QColor(20, 20, 20)


class AdjudicationLanes(pg.PlotWidget):
    """Six lanes (A, B, result for ME and for Speaking) over the clip's frames."""

    def __init__(self, name_a: str, name_b: str, n_frames: int, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.n_frames = max(1, int(n_frames))
        self.setMouseEnabled(x=True, y=False)
        self.setMenuEnabled(False)
        self.hideButtons()
        titles = {"me_a": f"ME · {name_a}", "me_b": f"ME · {name_b}", "me_result": "ME · result",
                  "speaking_a": f"Speaking · {name_a}", "speaking_b": f"Speaking · {name_b}",
                  "speaking_result": "Speaking · result"}
        self.getAxis("left").setTicks([[(y + LANE_HEIGHT / 2, titles[k]) for k, y in ROWS.items()]])
        self.getAxis("bottom").setLabel("frame")
        self.setYRange(-0.2, 6, padding=0)
        self.setXRange(0, self.n_frames, padding=0.01)
        self.setLimits(xMin=-10, xMax=self.n_frames + 10, minXRange=10)
        self._boxes: dict[str, list[QGraphicsRectItem]] = {k: [] for k in ROWS}
        self._highlights: dict[str, QGraphicsRectItem] = {}

    def _box(self, x0: float, x1: float, y0: float, h: float, fill: QColor, pen: QColor | None = None,
             z: float = 0.0) -> QGraphicsRectItem:
        item = QGraphicsRectItem(QRectF(x0, y0, max(x1 - x0, 0.5), h))
        item.setBrush(QBrush(fill))
        cosmetic = QPen(pen or fill.darker(130))
        cosmetic.setCosmetic(True)
        item.setPen(cosmetic)
        item.setZValue(z)
        self.addItem(item)
        return item

    def set_lane(self, lane: str, segments: list[Segment]) -> None:
        """Draw ``segments`` in ``lane`` (a key of ``ROWS``)."""
        for item in self._boxes[lane]:
            self.removeItem(item)
        fill = ME_FILL if lane.startswith("me") else SPEAKING_FILL
        y = ROWS[lane]
        self._boxes[lane] = [self._box(s.onset, s.offset + 1, y, LANE_HEIGHT, fill, z=1)
                             for s in segments]

    def set_versions(self, a: ClipAnnotations, b: ClipAnnotations) -> None:
        """Draw both annotators' confirmed content."""
        self.set_lane("me_a", a.confirmed_segments())
        self.set_lane("me_b", b.confirmed_segments())
        self.set_lane("speaking_a", a.confirmed_speaking())
        self.set_lane("speaking_b", b.confirmed_speaking())

    def set_result(self, result: ClipAnnotations) -> None:
        """Draw the adjudicated result so far."""
        self.set_lane("me_result", result.segments)
        self.set_lane("speaking_result", result.speaking)

    def set_highlight(self, key: str, lane: str, onset: int, offset: int, decided: bool,
                      selected: bool) -> None:
        """Mark disagreement ``key`` across its lane's three rows."""
        old = self._highlights.pop(key, None)
        if old is not None:
            self.removeItem(old)
        y0 = ROWS[f"{lane}_result"] - 0.1
        self._highlights[key] = self._box(onset, offset + 1, y0, 2 + LANE_HEIGHT + 0.2,
                                          DECIDED if decided else UNDECIDED,
                                          SELECTED_PEN if selected else None, z=0)

    def highlight_color(self, key: str) -> QColor:
        """The fill of ``key``'s highlight (tests read it)."""
        return self._highlights[key].brush().color()

    def show_range(self, onset: int, offset: int) -> None:
        """Zoom to frames ``onset..offset`` with some context."""
        pad = max(40, 2 * (offset - onset + 1))
        self.setXRange(onset - pad, offset + 1 + pad, padding=0)
