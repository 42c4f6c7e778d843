"""The timeline: S_loc with its threshold, segments, speaking bands and the playhead.

Lanes on the y axis (x is the frame; frame ``i`` spans ``[i, i + 1)``):

- ``[0, 1]``: the localisation score S_loc, the draggable threshold, and the model's ME
  proposals (shaded);
- ``ME``: the annotator's segments from the :class:`app.editing.document.AnnotationDocument`
  (editable: drag edges or bodies, Shift+drag or double-click on empty space to create);
- ``Speaking (model)`` and ``Speaking (annot.)``: the speaking bands;
- ``Speaking (audio)``: the turns of the audio's voice activity (``set_audio_speaking``) and
  ``Waveform``: the audio envelope (``set_envelope``, see ``app.audio``).

The widget owns no data: it renders the document, the scores and the
:class:`meldae.postprocess.Proposals` it is given (made by ``PostProcessing.propose``, see
:class:`app.review.proposals.ProposalController`), and emits intents. Dragging the threshold
line asks for a new threshold; the proposals made with it come back through
``set_proposals``.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import PySide6  # noqa: F401  (pyqtgraph must find PySide6 first)
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QToolButton, QVBoxLayout, QWidget

from app.audio.waveform_item import WaveformItem
from app.timeline.items import EditableLaneItem, SegmentLaneItem, TimelineViewBox, true_runs
from app.timeline.marks import Mark, SegmentMarksItem
from app.timeline.styles import (  # noqa: F401  (ME_LANE, Y_RANGE: part of this module's API)
    CURVE_COLOR, ME_LANE, ME_STYLES, NO_FACE_STYLE, PRED_STYLE, SCORE_LANE, SPEAK_ANNOT_LANE,
    SPEAK_AUDIO_LANE, SPEAK_AUDIO_STYLE, SPEAK_MODEL_LANE, SPEAK_STYLE, THRESHOLD_COLOR,
    WAVE_LANE, Y_RANGE, legend_html, segment_style,
)
from app.timeline.time_axis import HoverReadout, TimeAxisItem
from meldae.postprocess import Proposals

log = logging.getLogger(__name__)

MIN_VISIBLE_FRAMES = 10


class TimelineWidget(QWidget):
    """Scores, segments and the playhead of one clip, on a zoomable frame axis.

    Signals:
        seek_requested(int): the user clicked or dragged to a frame.
        threshold_requested(float): the user dragged the threshold line to this score.
        segment_edit_requested(int, int, int, bool): segment id, onset, offset, finished.
        segment_create_requested(int, int): onset, offset of a new segment.
        segment_selected(int): the user clicked a segment (its id; -1: none). The highlight
            follows ``set_selected`` (the editor owns the selection).
    """

    seek_requested = Signal(int)
    threshold_requested = Signal(float)
    segment_edit_requested = Signal(int, int, int, bool)
    segment_create_requested = Signal(int, int)
    segment_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._n_frames = 0
        self._loc = np.zeros(0, np.float32)
        self._face = np.zeros(0, bool)      # False: no face (drawn as a band, not a score)
        self._vocabulary: tuple[str, ...] = ()
        self._scale = 1.0              # the score shown at the top of the S_loc area
        self._proposals = Proposals()  # what it was given to draw
        self._document = None
        self._playhead_frame = 0
        self._build_plot()
        self.fit_button = QToolButton(self)
        self.fit_button.setText("Fit S_loc axis")
        self.fit_button.setCheckable(True)
        self.fit_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.fit_button.setToolTip("Stretch the score axis to the clip's highest score "
                                   "(for models whose scores stay low)")
        self.fit_button.toggled.connect(self.set_fit_scores)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.plot_widget)
        self.legend = QLabel(legend_html(), self)
        self.legend.setObjectName("timelineLegend")
        self.legend.setStyleSheet("QLabel { color: #c8c8d0; padding: 2px 6px; }")
        self.legend.setWordWrap(True)
        layout.addWidget(self.legend)
        self.hover = HoverReadout(self.plot_widget, self.view_box, self.time_axis,
                                  lambda x: self._frame_at(x) if self._n_frames else None)
        self.fit_button.raise_()
        self.setToolTip(
            "Click or drag: seek · wheel: zoom · Shift+wheel / middle drag: pan\n"
            "Drag a segment's edge or body to edit it · Shift+drag or double-click on the "
            "ME lane: new segment · drag the dashed line: threshold")

    # ------------------------------------------------------------------ building
    def _build_plot(self) -> None:
        self.view_box = TimelineViewBox()
        self.time_axis = TimeAxisItem()
        self.plot_widget = pg.PlotWidget(viewBox=self.view_box, background="#1b1c20",
                                         axisItems={"bottom": self.time_axis})
        self.plot_item = self.plot_widget.getPlotItem()
        self.plot_item.hideButtons()
        self.plot_item.setMenuEnabled(False)
        self.plot_item.showGrid(x=True, y=False, alpha=0.15)
        self.time_axis.set_fps(None)
        self.plot_item.getAxis("left").setWidth(112)   # fixed: no layout jump when data arrive
        self.view_box.setYRange(*Y_RANGE, padding=0)
        self.view_box.setLimits(yMin=Y_RANGE[0], yMax=Y_RANGE[1])
        self.predicted_item = SegmentLaneItem(0.0, 1.0, PRED_STYLE)
        self.no_face_item = SegmentLaneItem(*SCORE_LANE, NO_FACE_STYLE)
        self.marks_item = SegmentMarksItem(*ME_LANE)
        self.curve = pg.PlotDataItem(pen=pg.mkPen(CURVE_COLOR, width=1.5),
                                     connect="finite")
        self.me_item = EditableLaneItem(*ME_LANE, ME_STYLES)
        self.speak_model_item = SegmentLaneItem(*SPEAK_MODEL_LANE, SPEAK_STYLE)
        self.speak_annot_item = SegmentLaneItem(*SPEAK_ANNOT_LANE, SPEAK_STYLE)
        self.speak_audio_item = SegmentLaneItem(*SPEAK_AUDIO_LANE, SPEAK_AUDIO_STYLE)
        self.waveform_item = WaveformItem(*WAVE_LANE)
        self.threshold_line = pg.InfiniteLine(
            pos=self.threshold, angle=0, movable=True, bounds=(0.0, 1.0),
            pen=pg.mkPen(THRESHOLD_COLOR, width=1.5, style=Qt.PenStyle.DashLine),
            hoverPen=pg.mkPen(QColor(255, 160, 130), width=3),
            label="threshold 0.50",
            labelOpts=dict(position=0.02, color=(255, 150, 120), anchors=[(0, 1), (0, 1)]))
        self.threshold_line.setToolTip("Drag to change the score threshold")
        self.playhead = pg.InfiniteLine(
            pos=0.5, angle=90, movable=True,
            pen=pg.mkPen(QColor(255, 255, 255), width=1.5),
            hoverPen=pg.mkPen(QColor(120, 220, 255), width=3))
        for item, z in ((self.no_face_item, -12), (self.marks_item, 6),
                        (self.predicted_item, -10), (self.curve, 0), (self.me_item, 5),
                        (self.speak_model_item, 5), (self.speak_annot_item, 5),
                        (self.speak_audio_item, 5), (self.waveform_item, 4),
                        (self.threshold_line, 10), (self.playhead, 20)):
            self.plot_item.addItem(item)
            item.setZValue(z)
        # After addItem: the PlotItem pushes its own (off) settings onto items it adds.
        self.plot_item.setDownsampling(auto=True, mode="peak")
        self.plot_item.setClipToView(True)
        self.threshold_line.sigPositionChanged.connect(self._on_threshold_line_moved)
        self.playhead.sigDragged.connect(self._on_playhead_dragged)
        self._update_ticks()
        self.view_box.scrub_requested.connect(self._on_view_scrub)
        self.me_item.edit_requested.connect(self.segment_edit_requested)
        self.me_item.create_requested.connect(self.segment_create_requested)
        self.me_item.selected_requested.connect(self._on_me_selected)

    def _update_ticks(self) -> None:
        scale = self._scale
        self.plot_item.getAxis("left").setTicks([[
            (1.0, f"{scale:.3g}"), (0.5, f"S_loc {scale / 2:.3g}"), (0.0, "0"),
            (ME_LANE[0] + ME_LANE[1] / 2, "ME"),
            (SPEAK_MODEL_LANE[0] + SPEAK_MODEL_LANE[1] / 2, "Speaking (model)"),
            (SPEAK_ANNOT_LANE[0] + SPEAK_ANNOT_LANE[1] / 2, "Speaking (annot.)"),
            (SPEAK_AUDIO_LANE[0] + SPEAK_AUDIO_LANE[1] / 2, "Speaking (audio)"),
            (WAVE_LANE[0] + WAVE_LANE[1] / 2, "Waveform"),
        ]])

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        hint = self.fit_button.sizeHint()
        self.fit_button.setGeometry(self.width() - hint.width() - 6, 4, hint.width(),
                                    hint.height())

    # ------------------------------------------------------------------ score axis
    @property
    def score_scale(self) -> float:
        """The score at the top of the S_loc area (1 unless fitted)."""
        return self._scale

    def set_fit_scores(self, fit: bool) -> None:
        """Stretch the S_loc axis to the scores' maximum (kept >= the threshold) or reset."""
        scale = 1.0
        finite = self._loc[np.isfinite(self._loc)]
        if fit and len(finite):
            top = max(float(finite.max()), self.threshold) * 1.1
            scale = min(1.0, math.ceil(top * 20) / 20)     # rounded up to 0.05
        self._scale = max(scale, 1e-6)
        self.fit_button.blockSignals(True)
        self.fit_button.setChecked(fit)
        self.fit_button.blockSignals(False)
        self._update_ticks()
        self._draw_curve()
        self._place_threshold_line()

    def _place_threshold_line(self) -> None:
        self.threshold_line.blockSignals(True)
        self.threshold_line.setValue(min(1.0, self.threshold / self._scale))
        self.threshold_line.blockSignals(False)
        self.threshold_line.label.setFormat(f"threshold {self.threshold:.3g}")

    def _draw_curve(self) -> None:
        scored = np.flatnonzero(np.isfinite(self._loc))
        stop = int(scored[-1]) + 1 if len(scored) else 0
        x = np.arange(stop, dtype=np.float64) + 0.5
        y = self._loc[:stop] / self._scale
        if len(self._face) >= stop:
            y = np.where(self._face[:stop], y, np.nan)     # no face: a gap, not a zero
        self.curve.setData(x, y)

    # ------------------------------------------------------------------ clip data
    @property
    def n_frames(self) -> int:
        """Frames of the clip shown."""
        return self._n_frames

    @property
    def threshold(self) -> float:
        """The S_loc threshold of the proposals drawn."""
        return self._proposals.post.threshold

    @property
    def proposals(self) -> Proposals:
        """The proposals drawn (as given to :meth:`set_proposals`)."""
        return self._proposals

    def set_frame_count(self, n_frames: int) -> None:
        """Start a new clip of ``n_frames`` frames: clears the scores, shows everything."""
        self._n_frames = max(0, int(n_frames))
        self._loc = np.full(self._n_frames, np.nan, np.float32)
        self._face = np.ones(self._n_frames, bool)
        self.no_face_item.set_segments([], [])
        self.set_fit_scores(self.fit_button.isChecked())
        extent = max(1, self._n_frames)
        for item in (self.predicted_item, self.me_item, self.speak_model_item, self.no_face_item,
                     self.speak_annot_item, self.speak_audio_item, self.waveform_item):
            item.set_extent(extent)
        self.set_audio_speaking(np.zeros((0, 2), np.int64))
        self.set_envelope(None)
        self.set_proposals(Proposals(post=self._proposals.post))
        self.view_box.setLimits(xMin=0, xMax=extent,
                                minXRange=min(MIN_VISIBLE_FRAMES, extent), maxXRange=extent)
        self.view_box.setXRange(0, extent, padding=0)
        self.set_playhead(0)

    def set_scores(self, loc: np.ndarray, face_found: np.ndarray | None = None) -> None:
        """Per-frame S_loc of the clip, ``(n,)`` in [0, 1]; NaN marks frames not scored yet.
        ``face_found`` ``(n,)``: scored frames without a face are shaded "no face"."""
        self._loc = np.asarray(loc, np.float32)
        self._face = (np.ones(len(self._loc), bool) if face_found is None
                      else np.asarray(face_found, bool))
        runs = true_runs(np.isfinite(self._loc) & ~self._face[:len(self._loc)])
        self.no_face_item.set_segments(runs[:, 0], runs[:, 1])
        if self.fit_button.isChecked():
            self.set_fit_scores(True)   # redraws the curve
        else:
            self._draw_curve()

    def set_proposals(self, proposals: Proposals) -> None:
        """Draw the model's proposals: ME segments, the speaking band, and the threshold
        line at the threshold that made them."""
        self._proposals = proposals
        spans, speaking = proposals.spans(), proposals.speaking_spans()
        self.predicted_item.set_segments(spans[:, 0], spans[:, 1])
        self.speak_model_item.set_segments(speaking[:, 0], speaking[:, 1])
        if self.fit_button.isChecked() or self.threshold > self._scale:
            self.set_fit_scores(self.fit_button.isChecked())
        self._place_threshold_line()

    def set_audio_speaking(self, spans: np.ndarray) -> None:
        """Draw the audio's speaking turns, ``(K, 2)`` inclusive frame ranges."""
        spans = np.asarray(spans, np.int64).reshape(-1, 2)
        self.speak_audio_item.set_segments(spans[:, 0], spans[:, 1])

    def set_envelope(self, envelope, fps=None) -> None:
        """Draw the audio envelope (``meldae.audio.Envelope``; None clears the lane)."""
        self.waveform_item.set_envelope(envelope, fps if fps is not None else 30)

    # ------------------------------------------------------------------ document
    def set_document(self, document) -> None:
        """Render ``document`` (an ``AnnotationDocument``) and follow its signals."""
        if self._document is not None:
            for signal, slot in self._document_connections():
                signal.disconnect(slot)
        self._document = document
        if document is not None:
            for signal, slot in self._document_connections():
                signal.connect(slot)
        self._vocabulary = tuple(getattr(document, "vocabulary", ()))
        self._on_document_reset()
        self._on_document_speaking_changed()

    def _document_connections(self) -> list:
        doc = self._document
        return [(doc.segment_added, self._on_document_segments),
                (doc.segment_changed, self._on_document_segments),
                (doc.segment_removed, self._on_document_segments),
                (doc.reset, self._on_document_reset),
                (doc.speaking_changed, self._on_document_speaking_changed),
                (doc.vocabulary_changed, self._on_document_vocabulary_changed)]

    def render_segments(self, items) -> None:
        """Draw ``(id, segment)`` pairs (document order) in the ME lane."""
        onsets = [s.onset for _sid, s in items]
        offsets = [s.offset for _sid, s in items]
        self.me_item.set_segments(onsets, offsets, [segment_style(s) for _sid, s in items],
                                  ids=[sid for sid, _s in items])
        vocab = set(self._vocabulary)
        self.marks_item.set_marks(
            [Mark(s.onset, s.offset, s.apex, s.label, not vocab or s.label in vocab)
             for _sid, s in items], extent=max(1, self._n_frames))

    def _on_document_vocabulary_changed(self) -> None:
        """The controlled vocabulary changed: labels outside it are drawn marked."""
        self._vocabulary = tuple(self._document.vocabulary)
        self._on_document_reset()

    def set_fps(self, fps) -> None:
        """The clip's frame rate: the axis and the hover read clock time."""
        self.time_axis.set_fps(fps)

    def render_speaking(self, speaking) -> None:
        """Draw the annotated speaking intervals."""
        self.speak_annot_item.set_segments([s.onset for s in speaking],
                                           [s.offset for s in speaking])

    def _on_document_segments(self, _segment_id: int = -1) -> None:
        self.render_segments(self._document.items())

    def _on_document_reset(self) -> None:
        self.render_segments(self._document.items() if self._document is not None else [])

    def _on_document_speaking_changed(self) -> None:
        self.render_speaking(self._document.speaking if self._document is not None else [])

    def set_selected(self, segment_id: int) -> None:
        """Highlight segment ``segment_id`` (-1: none)."""
        self.me_item.selected = int(segment_id)
        self.me_item.update()

    @property
    def selected(self) -> int:
        """The highlighted segment's id (-1: none)."""
        return self.me_item.selected

    # ------------------------------------------------------------------ playhead
    def set_playhead(self, frame_idx: int, follow: bool = False) -> None:
        """Move the playhead to ``frame_idx``; ``follow`` pages the view to keep it visible."""
        self._playhead_frame = int(frame_idx)
        self.playhead.setValue(frame_idx + 0.5)
        if follow:
            (x_min, x_max), _ = self.view_box.viewRange()
            if not x_min <= frame_idx < x_max:
                width = x_max - x_min
                start = max(0.0, min(frame_idx - 0.1 * width, self._n_frames - width))
                self.view_box.setXRange(start, start + width, padding=0)

    @property
    def playhead_frame(self) -> int:
        """The frame under the playhead."""
        return self._playhead_frame

    def visible_range(self) -> tuple[float, float]:
        """The x range shown (frames)."""
        (x_min, x_max), _ = self.view_box.viewRange()
        return x_min, x_max

    def zoom_to(self, first: float, last: float) -> None:
        """Show frames ``[first, last)``."""
        self.view_box.setXRange(first, last, padding=0)

    # ------------------------------------------------------------------ slots
    def _frame_at(self, x: float) -> int:
        return max(0, min(int(math.floor(x)), self._n_frames - 1))

    def _on_view_scrub(self, x: float) -> None:
        if self._n_frames:
            self.seek_requested.emit(self._frame_at(x))

    def _on_playhead_dragged(self) -> None:
        if self._n_frames:
            self.seek_requested.emit(self._frame_at(self.playhead.value()))

    def _on_threshold_line_moved(self) -> None:
        threshold = float(self.threshold_line.value()) * self._scale
        self.threshold_line.label.setFormat(f"threshold {threshold:.3g}")
        self.threshold_requested.emit(threshold)

    def _on_me_selected(self, segment_id: int) -> None:
        self.segment_selected.emit(segment_id)
