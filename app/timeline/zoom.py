"""Zooming the timeline: to the selected segment, to the whole clip, in and out around the
playhead — as keys and View menu actions.

The view keeps the playhead where it was on screen when zooming in or out around it, and a
segment zoomed to is shown with a margin of its own length on both sides (at least
``MIN_SPAN`` frames in all), so its edges can be dragged.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence

from app.actions import window_action

ZOOM_STEP = 2.0
MIN_SPAN = 10


def span_around(frame: float, view: tuple[float, float], factor: float,
                n_frames: int) -> tuple[float, float]:
    """The x range after zooming ``view`` by ``factor`` (>1: in) keeping ``frame`` in place."""
    x_min, x_max = view
    width = x_max - x_min
    new_width = min(float(n_frames), max(float(MIN_SPAN), width / factor))
    frame = min(max(frame, x_min), x_max)
    share = (frame - x_min) / width if width > 0 else 0.5
    start = frame - share * new_width
    start = min(max(0.0, start), max(0.0, n_frames - new_width))
    return start, start + new_width


def segment_view(onset: int, offset: int, n_frames: int) -> tuple[float, float]:
    """The x range that shows segment ``[onset, offset]`` with a margin."""
    length = offset - onset + 1
    width = max(float(MIN_SPAN), 3.0 * length)
    centre = (onset + offset + 1) / 2.0
    start = min(max(0.0, centre - width / 2), max(0.0, n_frames - width))
    return start, min(float(n_frames), start + width)


class ZoomActions(QObject):
    """View ▸ zoom actions driving a :class:`app.timeline.timeline_widget.TimelineWidget`.

    Args:
        timeline: the timeline.
        playhead: returns the current frame.
        selected_span: returns ``(onset, offset)`` of the selected segment, or None.
        window: owner of the actions.
    """

    def __init__(self, timeline, playhead: Callable[[], int],
                 selected_span: Callable[[], tuple[int, int] | None], window) -> None:
        super().__init__(window)
        self.timeline, self.playhead, self.selected_span = timeline, playhead, selected_span
        self.zoom_segment = window_action(window, "Zoom to segment", "Z", self.to_segment,
                                          "Show the selected segment (else the one at the "
                                          "playhead) with a margin")
        self.zoom_fit = window_action(window, "Zoom to fit", "Shift+Z", self.fit,
                                      "Show the whole clip")
        self.zoom_in = window_action(window, "Zoom in", "=", lambda: self.by(ZOOM_STEP),
                                     "Zoom in around the playhead (+ works too)")
        self.zoom_in.setShortcuts([QKeySequence("="), QKeySequence("+")])
        self.zoom_out = window_action(window, "Zoom out", "-", lambda: self.by(1 / ZOOM_STEP),
                                      "Zoom out around the playhead")

    def actions(self) -> list:
        """The actions, in menu order."""
        return [self.zoom_segment, self.zoom_fit, self.zoom_in, self.zoom_out]

    def to_segment(self) -> bool:
        """Zoom to the selected segment; False when there is none."""
        span = self.selected_span()
        if span is None or self.timeline.n_frames <= 0:
            return False
        self.timeline.zoom_to(*segment_view(span[0], span[1], self.timeline.n_frames))
        return True

    def fit(self) -> None:
        """Show the whole clip."""
        if self.timeline.n_frames > 0:
            self.timeline.zoom_to(0, self.timeline.n_frames)

    def by(self, factor: float) -> None:
        """Zoom by ``factor`` (>1: in) around the playhead."""
        n = self.timeline.n_frames
        if n > 0:
            frame = self.playhead() + 0.5
            self.timeline.zoom_to(*span_around(frame, self.timeline.visible_range(), factor, n))
