"""Timeline: predicted segments from the threshold, document rendering, mouse intents."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.editing.document import AnnotationDocument
from app.timeline.timeline_widget import ME_LANE, TimelineWidget
from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source

ME_Y = ME_LANE[0] + ME_LANE[1] / 2


@pytest.fixture
def timeline(qtbot):
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.resize(1000, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _scores(loc, state=None, faces=None):
    from meldae.scores import ClipScores

    n = len(loc)
    return ClipScores.from_arrays(np.asarray(loc, np.float32),
                                  np.zeros(n, np.float32) if state is None else state,
                                  np.ones(n, bool) if faces is None else np.asarray(faces, bool))


@pytest.fixture
def proposals(timeline):
    from app.review.proposals import ProposalController

    return ProposalController(timeline)


def test_timeline_draws_the_proposals_it_is_given(timeline):
    from meldae.postprocess import PostProcessing

    timeline.set_frame_count(8)
    loc = np.array([0, .2, .8, .9, .1, .7, .7, 0], np.float32)
    timeline.set_scores(loc)
    assert len(timeline.predicted_item.segments) == 0          # scores alone propose nothing
    given = PostProcessing(0.5).propose(_scores(loc))
    timeline.set_proposals(given)
    assert timeline.proposals is given and timeline.threshold == 0.5
    assert timeline.predicted_item.segments.tolist() == [[2, 3], [5, 6]]
    assert timeline.threshold_line.value() == pytest.approx(0.5)


def test_threshold_drag_asks_and_the_controller_reproposes(timeline, proposals, qtbot):
    timeline.set_frame_count(8)
    loc = np.array([0, .2, .8, .9, .1, .7, .7, 0], np.float32)
    proposals.set_scores(_scores(loc))
    assert timeline.predicted_item.segments.tolist() == [[2, 3], [5, 6]]
    with qtbot.waitSignal(timeline.threshold_requested) as asked, \
            qtbot.waitSignal(proposals.threshold_changed) as changed:
        timeline.threshold_line.setValue(0.75)   # what dragging the line does
    assert asked.args == [pytest.approx(0.75)] and changed.args == [pytest.approx(0.75)]
    assert proposals.post.threshold == pytest.approx(0.75)
    assert timeline.predicted_item.segments.tolist() == [[2, 3]]
    (seg,) = proposals.current.segments
    assert (seg.apex, seg.score) == (3, pytest.approx(0.85))   # mean of .8 and .9
    proposals.set_threshold(0.85)
    assert timeline.predicted_item.segments.tolist() == [[3, 3]]
    assert timeline.threshold_line.value() == pytest.approx(0.85)


def test_unscored_frames_and_missing_faces_never_in_segments(timeline, proposals):
    from meldae.postprocess import PostProcessing

    timeline.set_frame_count(6)
    loc = np.array([.9, .9, .9, .9, np.nan, np.nan], np.float32)
    valid = np.array([1, 1, 0, 1, 0, 0], bool)
    state = np.array([.8, .8, .1, .1, np.nan, np.nan], np.float32)
    proposals.set_scores(_scores(loc, state, valid))
    assert timeline.predicted_item.segments.tolist() == [[0, 1], [3, 3]]
    # the speaking band from the state head (>= 0.5)
    assert timeline.speak_model_item.segments.tolist() == [[0, 1]]
    # ... or >= the state threshold the checkpoint chose on validation; frame 2 has no face
    proposals.set_post(PostProcessing(0.5, state_threshold=0.05))
    assert timeline.speak_model_item.segments.tolist() == [[0, 1], [3, 3]]


def test_complete_scores_bring_their_checkpoint_postprocessing(timeline, proposals):
    timeline.set_frame_count(8)
    scores = _scores([0, .2, .8, .9, .1, .7, .7, 0])
    scores.info = {"meta": {"postprocessing": {"threshold": 0.75, "min_length": 1,
                                               "merge_gap": 0, "state_threshold": 0.3}}}
    proposals.set_complete_scores(scores)
    assert (proposals.post.threshold, proposals.post.state_threshold) == (0.75, 0.3)
    assert timeline.threshold == 0.75
    assert timeline.predicted_item.segments.tolist() == [[2, 3]]
    proposals.clear()                                           # a new clip
    assert len(timeline.predicted_item.segments) == 0 and proposals.post.threshold == 0.75


def test_renders_document_and_follows_its_signals(timeline, qtbot):
    doc = AnnotationDocument(ClipAnnotations(
        segments=[Segment(10, 20), Segment(40, 45, source=Source.PREDICTED)],
        speaking=[Segment(0, 30)]), n_frames=100)
    timeline.set_frame_count(100)
    timeline.set_document(doc)
    assert timeline.me_item.segments.tolist() == [[10, 20], [40, 45]]
    assert timeline.speak_annot_item.segments.tolist() == [[0, 30]]
    doc.insert_segment(Segment(60, 61))
    assert timeline.me_item.segments.tolist() == [[10, 20], [40, 45], [60, 61]]
    first = doc.ids[0]
    timeline.set_selected(first)
    doc.replace_segment(first, Segment(50, 55))     # re-sorts to position 1
    assert timeline.me_item.segments.tolist() == [[40, 45], [50, 55], [60, 61]]
    assert timeline.selected == first               # an id needs no following
    assert timeline.me_item.hit_test(52.0, 0.1) == (first, "body")
    doc.remove_segment(doc.ids[0])
    assert timeline.selected == first
    doc.set_speaking([])
    assert timeline.speak_annot_item.segments.shape == (0, 2)


def test_segment_styles_by_source_and_review(timeline):
    doc = AnnotationDocument(ClipAnnotations(segments=[
        Segment(1, 2), Segment(3, 4, source=Source.PREDICTED),
        Segment(5, 6, source=Source.PREDICTED, review=ReviewState.ACCEPTED),
        Segment(7, 8, source=Source.PREDICTED, review=ReviewState.REJECTED)]), n_frames=20)
    timeline.set_frame_count(20)
    timeline.set_document(doc)
    assert timeline.me_item._style_idx.tolist() == [0, 1, 2, 3]


def test_click_seeks_to_the_frame_under_the_mouse(timeline, qtbot, to_view):
    timeline.set_frame_count(200)
    pos = to_view(timeline, 57.6, 0.5)
    with qtbot.waitSignal(timeline.seek_requested) as blocker:
        QTest.mouseClick(timeline.plot_widget.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier, pos.toPoint())
    assert blocker.args[0] in (57, 56, 58)   # one pixel is ~0.2 frames here
    assert blocker.args[0] == 57


def test_drag_edge_emits_snapped_edits_then_finished(timeline, qtbot, drag, to_view):
    doc = AnnotationDocument(ClipAnnotations(segments=[Segment(40, 60)]), n_frames=200)
    timeline.set_frame_count(200)
    timeline.set_document(doc)
    edits = []
    timeline.segment_edit_requested.connect(lambda *a: edits.append(a))
    start = to_view(timeline, 61.0, ME_Y)     # the offset edge: offset + 1 on the x axis
    end = to_view(timeline, 71.2, ME_Y)
    drag(timeline.plot_widget.viewport(), start, end)
    assert edits, "no edit requested"
    assert edits[-1] == (doc.ids[0], 40, 70, True), edits
    assert all(not finished for *_, finished in edits[:-1])
    assert all(isinstance(v, int) for v in edits[-1][:3])


def test_drag_body_moves_both_edges(timeline, qtbot, drag, to_view):
    doc = AnnotationDocument(ClipAnnotations(segments=[Segment(40, 60)]), n_frames=200)
    timeline.set_frame_count(200)
    timeline.set_document(doc)
    edits = []
    timeline.segment_edit_requested.connect(lambda *a: edits.append(a))
    drag(timeline.plot_widget.viewport(), to_view(timeline, 50.5, ME_Y),
         to_view(timeline, 30.5, ME_Y))
    assert edits[-1] == (doc.ids[0], 20, 40, True)


def test_shift_drag_on_empty_lane_requests_a_new_segment(timeline, qtbot, drag, to_view):
    timeline.set_frame_count(200)
    timeline.set_document(AnnotationDocument(n_frames=200))
    created = []
    timeline.segment_create_requested.connect(lambda *a: created.append(a))
    drag(timeline.plot_widget.viewport(), to_view(timeline, 100.5, ME_Y),
         to_view(timeline, 90.5, ME_Y), modifiers=Qt.KeyboardModifier.ShiftModifier)
    assert created == [(90, 100)]
    assert timeline.me_item.preview is None


def test_plain_drag_on_background_scrubs(timeline, qtbot, drag, to_view):
    timeline.set_frame_count(200)
    seeks = []
    timeline.seek_requested.connect(seeks.append)
    drag(timeline.plot_widget.viewport(), to_view(timeline, 20.5, 0.8),
         to_view(timeline, 80.5, 0.8))
    assert seeks[-1] == 80
    assert seeks == sorted(seeks) and len(seeks) >= 3


def test_zoom_is_limited_to_the_clip(timeline, qtbot):
    timeline.set_frame_count(1000)
    timeline.zoom_to(-500, 5000)
    first, last = timeline.visible_range()
    assert first >= 0 and last <= 1000
    timeline.zoom_to(100, 101)
    first, last = timeline.visible_range()
    assert last - first >= 10 - 1e-6


def test_playhead_follow_pages_the_view(timeline):
    timeline.set_frame_count(1000)
    timeline.zoom_to(0, 100)
    timeline.set_playhead(250, follow=True)
    first, last = timeline.visible_range()
    assert first <= 250 < last
    assert timeline.playhead.value() == pytest.approx(250.5)


def test_culling_returns_only_visible_segments(timeline):
    onsets = np.arange(0, 216_000, 108)
    timeline.set_frame_count(216_000)
    timeline.me_item.set_segments(onsets, onsets + 20)
    visible = timeline.me_item.visible_indices(1000, 1300)
    assert sorted(onsets[visible].tolist()) == [1080, 1188, 1296]   # 972-992 ends before 1000


def test_double_click_on_empty_lane_requests_a_default_segment(timeline, qtbot, to_view):
    from app.timeline.items import DEFAULT_NEW_LENGTH

    timeline.set_frame_count(200)
    timeline.set_document(AnnotationDocument(n_frames=200))
    created = []
    timeline.segment_create_requested.connect(lambda *a: created.append(a))
    pos = to_view(timeline, 100.5, ME_Y)
    viewport = timeline.plot_widget.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    # what a real double click delivers (QTest.mouseDClick sends only the DblClick event)
    for kind, button, buttons in ((QEvent.Type.MouseButtonPress, left, left),
                                  (QEvent.Type.MouseButtonRelease, left, none),
                                  (QEvent.Type.MouseButtonDblClick, left, left),
                                  (QEvent.Type.MouseButtonRelease, left, none)):
        event = QMouseEvent(kind, pos, QPointF(viewport.mapToGlobal(pos.toPoint())), button,
                            buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, event)
    assert created == [(100, 100 + DEFAULT_NEW_LENGTH - 1)]


def test_wheel_zooms_x_only_around_the_mouse(timeline, qtbot, to_view):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent

    timeline.set_frame_count(1000)
    pos = to_view(timeline, 500.0, 0.5)
    viewport = timeline.plot_widget.viewport()
    event = QWheelEvent(pos, QPointF(viewport.mapToGlobal(pos.toPoint())), QPoint(0, 0),
                        QPoint(0, 240), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)
    first, last = timeline.visible_range()
    assert last - first < 1000 and first < 500 < last
    from app.timeline.timeline_widget import Y_RANGE

    assert timeline.view_box.viewRange()[1] == pytest.approx(list(Y_RANGE))  # y stays put


def test_fit_score_axis_keeps_the_threshold_meaning(timeline, proposals, qtbot):
    timeline.set_frame_count(4)
    loc = np.array([.02, .08, .05, .01], np.float32)
    timeline.set_scores(loc)
    proposals.set_scores(_scores(loc))
    proposals.set_threshold(0.06)
    assert timeline.predicted_item.segments.tolist() == [[1, 1]]
    timeline.fit_button.click()
    # top = max(0.08, 0.06) * 1.1 = 0.088 -> rounded up to 0.1
    assert timeline.score_scale == pytest.approx(0.1)
    assert timeline.threshold_line.value() == pytest.approx(0.6)     # drawn at 0.06 / 0.1
    _, y = timeline.curve.getData()
    np.testing.assert_allclose(y, [0.2, 0.8, 0.5, 0.1], rtol=1e-6)
    with qtbot.waitSignal(timeline.threshold_requested) as moved:
        timeline.threshold_line.setValue(0.4)                          # a drag to 0.04 real
    assert moved.args == [pytest.approx(0.04)]
    assert timeline.predicted_item.segments.tolist() == [[1, 2]]
    timeline.fit_button.click()
    assert timeline.score_scale == 1.0
    assert timeline.threshold_line.value() == pytest.approx(0.04)


def test_boxes_sharing_a_pixel_column_are_merged():
    from app.timeline.items import merge_to_pixels

    starts, stops = np.array([0, 2, 10]), np.array([1, 3, 11])
    a, b = merge_to_pixels(starts, stops, x_min=0.0, pixel=1.0)      # zoomed in: all apart
    assert a.tolist() == [0, 2, 10] and b.tolist() == [1, 3, 11]
    a, b = merge_to_pixels(starts, stops, x_min=0.0, pixel=5.0)      # 5 frames a pixel
    assert a.tolist() == [0, 10] and b.tolist() == [3, 11]
