"""Timeline time axis, hover readout, zoom actions, no-face band, labels and apex marks."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QMainWindow

from app.editing.document import AnnotationDocument
from app.timeline.time_axis import format_clock, frame_clock
from app.timeline.timeline_widget import TimelineWidget
from app.timeline.zoom import ZoomActions, segment_view, span_around
from meldae.annotations import ClipAnnotations, Segment

FPS = Fraction(30000, 1001)


@pytest.fixture
def host(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    doc = AnnotationDocument(ClipAnnotations(
        [Segment(100, 109, apex=104, label="AU4"), Segment(5000, 5020, label="odd")], []),
        18000)
    timeline = TimelineWidget()
    timeline.set_document(doc)
    window.setCentralWidget(timeline)
    window.resize(1000, 320)
    timeline.set_frame_count(18000)
    timeline.set_fps(FPS)
    state = {"frame": 0, "span": (100, 109)}
    zoom = ZoomActions(timeline, lambda: state["frame"], lambda: state["span"], window)
    window.show()
    qtbot.waitExposed(window)
    return window, doc, timeline, zoom, state


def test_clock_format_and_axis_labels_read_time():
    assert format_clock(0) == "0:00:00.000"
    assert format_clock(3_723_456) == "1:02:03.456"
    assert frame_clock(30, Fraction(30)) == "0:00:01.000"
    assert frame_clock(18000, FPS) == "0:10:00.600"


def test_axis_ticks_fall_on_round_times(host):
    _window, _doc, timeline, _zoom, _state = host
    axis = timeline.time_axis
    spacing = axis.tickSpacing(0, 18000, 900)
    major_frames = spacing[0][0]
    major_s = round(major_frames / float(FPS), 6)
    assert major_s in (15, 30, 60, 120, 300)        # a round step, not a frame count
    labels = axis.tickStrings([0, major_frames, 2 * major_frames], 1, major_frames)
    assert labels[0] == "0:00:00.000" and labels[1].endswith(".000")
    assert axis.labelText.startswith("time")


def test_hover_shows_frame_and_time(host, qtbot):
    _window, _doc, timeline, _zoom, _state = host
    timeline.zoom_to(0, 200)
    scene_pos = timeline.view_box.mapViewToScene(QPointF(150.5, 0.5))
    timeline.plot_widget.scene().sigMouseMoved.emit(scene_pos)
    label = timeline.hover.label
    assert label.isVisible() and label.text() == f"frame 150 · {frame_clock(150, FPS)}"


def test_zoom_to_segment_fit_and_around_the_playhead(host):
    _window, _doc, timeline, zoom, state = host
    assert zoom.to_segment()
    lo, hi = timeline.visible_range()
    assert lo <= 100 and hi >= 110 and hi - lo <= 40       # a 10-frame ME is now wide
    zoom.fit()
    assert timeline.visible_range() == pytest.approx((0, 18000))
    state["frame"] = 9000
    zoom.by(4.0)
    lo, hi = timeline.visible_range()
    assert hi - lo == pytest.approx(4500) and lo < 9000.5 < hi
    share_before = (9000.5 - lo) / (hi - lo)
    zoom.by(0.5)
    lo2, hi2 = timeline.visible_range()
    assert (9000.5 - lo2) / (hi2 - lo2) == pytest.approx(share_before)  # playhead kept in place
    state["span"] = None
    assert not zoom.to_segment()


def test_zoom_helpers_clamp_to_the_clip():
    assert span_around(5, (0, 100), 100.0, 1000) == (4.5, 14.5)       # never under 10 frames
    assert span_around(500, (0, 1000), 0.5, 1000) == (0.0, 1000.0)    # never past the clip
    assert segment_view(0, 9, 1000) == (0.0, 30.0)
    assert segment_view(995, 999, 1000)[1] == 1000


def test_playhead_outside_the_view_pages_it(host):
    _window, _doc, timeline, _zoom, _state = host
    timeline.zoom_to(0, 300)
    timeline.set_playhead(5000, follow=True)
    lo, hi = timeline.visible_range()
    assert lo <= 5000 < hi and hi - lo == pytest.approx(300)


def test_no_face_frames_are_a_band_not_a_score(host):
    _window, _doc, timeline, _zoom, _state = host
    loc = np.full(18000, np.nan, np.float32)
    loc[:300] = 0.2
    faces = np.ones(18000, bool)
    faces[50:80] = False
    faces[290:300] = False
    timeline.set_scores(loc, faces)
    assert timeline.no_face_item.segments.tolist() == [[50, 79], [290, 299]]
    y = timeline.curve.yData           # the data given (getData is clipped to the view)
    assert np.isnan(y[50:80]).all() and np.isfinite(y[:50]).all()   # a gap, not a zero


def test_labels_and_apex_are_drawn_and_unknown_labels_marked(host, qtbot):
    window, doc, timeline, zoom, _state = host
    marks = {m.onset: m for m in timeline.marks_item.marks}
    assert marks[100].apex == 104 and marks[100].label == "AU4" and marks[100].known
    doc.set_vocabulary(("AU4", "AU12"))
    marks = {m.onset: m for m in timeline.marks_item.marks}
    assert marks[100].known and not marks[5000].known
    zoom.to_segment()
    image = window.grab().toImage()                # paints the marks (no exception)
    assert not image.isNull()
    assert "apex" in timeline.legend.text() and "no face" in timeline.legend.text()
