"""The timeline's waveform lane: the audio's min/max envelope, drawn for the visible range
and scaled to the clip's loudest sample.

Painting picks the pyramid level of the :class:`meldae.audio.Envelope` that has about two
bins per pixel column for the visible time span, slices the visible bins, and draws one
vertical line per bin (``QPainter.drawLines`` with a single array): the cost follows the
widget's width, not the clip's length, at every zoom level.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import PySide6  # noqa: F401  (pyqtgraph must find PySide6 first)
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QPainter

BINS_PER_PIXEL = 2


class WaveformItem(pg.GraphicsObject):
    """Min/max audio envelope in the lane ``[y0, y0 + height)`` (x: frames)."""

    def __init__(self, y0: float, height: float, color: QColor = QColor(110, 200, 210)) -> None:
        super().__init__()
        self.y0, self.height = float(y0), float(height)
        self.color = color
        self._envelope = None
        self._fps = 30.0
        self._extent = 1
        self._gain = 1.0
        self.drawn_bins = 0        # bins painted last time (tests and benchmarks read it)

    @property
    def envelope(self):
        """The envelope drawn (None: none)."""
        return self._envelope

    def set_envelope(self, envelope, fps: Fraction | float) -> None:
        """Draw ``envelope`` (a ``meldae.audio.Envelope``; None clears) at ``fps``."""
        self._envelope = envelope
        self._fps = float(fps) or 30.0
        self._gain = 1.0
        if envelope is not None:
            envelope.levels()     # build the pyramid now, not in the first paint
            if len(envelope):     # scaled to the clip's loudest sample, so quiet clips show
                peak = max(float(np.abs(envelope.mins).max()), float(envelope.maxs.max()))
                self._gain = 1.0 / max(peak, 1e-3)
        self.update()

    def set_extent(self, extent: int) -> None:
        """The x extent of the lane (the clip's frame count)."""
        self.prepareGeometryChange()
        self._extent = max(1, int(extent))
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt override)
        return QRectF(0.0, self.y0, float(self._extent), self.height)

    def _view_x_range(self) -> tuple[float, float]:
        view = self.getViewBox()
        if view is None:
            return 0.0, float(self._extent)
        (x_min, x_max), _ = view.viewRange()
        return max(0.0, x_min), min(float(self._extent), x_max)

    def visible_lines(self, x_min: float, x_max: float, width_px: int) -> np.ndarray:
        """``(K, 4)`` line coordinates ``x, y_min, x, y_max`` for frames ``[x_min, x_max)``
        drawn ``width_px`` pixels wide (at most ``BINS_PER_PIXEL`` bins per pixel)."""
        env = self._envelope
        if env is None or len(env) == 0 or x_max <= x_min:
            return np.zeros((0, 4))
        t0, t1 = x_min / self._fps, x_max / self._fps
        rate, lo, hi = env.level_for(t1 - t0, max(16, BINS_PER_PIXEL * int(width_px)))
        first = max(0, int(math.floor(t0 * rate)))
        last = min(len(lo), int(math.ceil(t1 * rate)) + 1)
        if last <= first:
            return np.zeros((0, 4))
        x = (np.arange(first, last) + 0.5) / rate * self._fps
        mid, half = self.y0 + self.height / 2, self.height / 2 * self._gain
        return np.stack([x, mid + lo[first:last] * half, x, mid + hi[first:last] * half], 1)

    def paint(self, painter: QPainter, option, widget=None) -> None:  # noqa: D102
        x_min, x_max = self._view_x_range()
        view = self.getViewBox()
        width_px = int(view.width()) if view is not None else 1000
        lines = self.visible_lines(x_min, x_max, max(1, width_px))
        self.drawn_bins = len(lines)
        painter.setPen(pg.mkPen(self.color, width=1, cosmetic=True))
        mid = self.y0 + self.height / 2
        painter.drawLine(QLineF(x_min, mid, x_max, mid))
        if len(lines):
            xs = np.repeat(lines[:, 0], 2)
            ys = np.stack([lines[:, 1], lines[:, 3]], 1).reshape(-1)
            painter.drawPath(pg.arrayToQPath(xs, ys, connect="pairs"))
