"""The timeline's bottom axis in clock time (h:mm:ss.mmm), ticks on round times.

The x axis counts frames (frame ``i`` spans ``[i, i + 1)``); the axis labels the frame
boundaries with their time, ``x / fps``, and places ticks on round time steps (1 ms to
1 h) so the labels read 0:00:01.000, 0:00:02.000 rather than the times of round frame
numbers. Without a frame rate it falls back to frame numbers.
"""

from __future__ import annotations

from fractions import Fraction

from collections.abc import Callable

import PySide6  # noqa: F401  (pyqtgraph must find PySide6 first)
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QLabel

STEPS_S = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60,
           120, 300, 600, 900, 1800, 3600, 7200)
LABEL_PX = 105    # room for one "0:00:00.000" label


def format_clock(ms: float) -> str:
    """Milliseconds as ``h:mm:ss.mmm`` (negative times get a minus sign)."""
    sign = "-" if ms < 0 else ""
    total = int(round(abs(ms)))
    seconds, millis = divmod(total, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def frame_clock(frame_x: float, fps: Fraction) -> str:
    """The time of frame boundary ``frame_x`` at ``fps``."""
    return format_clock(float(frame_x) * 1000.0 / float(fps))


class TimeAxisItem(pg.AxisItem):
    """A bottom axis labelled in clock time; ``set_fps(None)`` shows frame numbers."""

    def __init__(self, **kwargs) -> None:
        super().__init__("bottom", **kwargs)
        self.fps: Fraction | None = None

    def set_fps(self, fps: Fraction | None) -> None:
        """The frame rate that turns frames into times (None: label frames)."""
        self.fps = Fraction(fps) if fps else None
        self.setLabel("time (h:mm:ss.mmm)" if self.fps else "frame")
        self.picture = None
        self.update()

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph override)
        if self.fps is None or maxVal <= minVal or size <= 0:
            return super().tickSpacing(minVal, maxVal, size)
        rate = float(self.fps)
        span_s = (maxVal - minVal) / rate
        max_ticks = max(2.0, size / LABEL_PX)
        major = next((s for s in STEPS_S if span_s / s <= max_ticks), STEPS_S[-1])
        minor = major / 5 if major * rate / 5 >= 1 else major
        return [(major * rate, 0), (minor * rate, 0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph override)
        if self.fps is None:
            return super().tickStrings(values, scale, spacing)
        return [frame_clock(v, self.fps) for v in values]


class HoverReadout(QObject):
    """A small label by the mouse over the plot: the frame under it and its time.

    Args:
        plot_widget: the ``pg.PlotWidget`` (the label is its child).
        view_box: its view box (maps scene points to frames).
        axis: the time axis (its ``fps``).
        frame_at: frame under data x, or None when there is no clip.
    """

    def __init__(self, plot_widget, view_box, axis: TimeAxisItem,
                 frame_at: Callable[[float], int | None]) -> None:
        super().__init__(plot_widget)
        self.plot_widget, self.view_box, self.axis, self.frame_at = (plot_widget, view_box,
                                                                     axis, frame_at)
        self.label = QLabel("", plot_widget)
        self.label.setStyleSheet("QLabel { color: #e0e0e8; background: rgba(20,20,24,200);"
                                 " padding: 1px 4px; }")
        self.label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.label.hide()
        plot_widget.scene().sigMouseMoved.connect(self._on_scene_mouse_moved)

    def _on_scene_mouse_moved(self, pos) -> None:
        frame = (self.frame_at(self.view_box.mapSceneToView(pos).x())
                 if self.view_box.sceneBoundingRect().contains(pos) else None)
        if frame is None:
            self.label.hide()
            return
        fps = self.axis.fps
        self.label.setText(f"frame {frame}" + (f" · {frame_clock(frame, fps)}" if fps else ""))
        self.label.adjustSize()
        at = self.plot_widget.mapFromScene(pos)
        self.label.move(min(at.x() + 12, self.plot_widget.width() - self.label.width()),
                        max(0, at.y() - self.label.height() - 6))
        self.label.show()
