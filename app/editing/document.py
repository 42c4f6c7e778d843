"""The annotation document of the open clip: one QObject around a ``meldae`` ``AnnotationSet``.

Views render it and never own data; every edit goes through a ``QUndoCommand`` in
:mod:`app.editing.commands`, which calls the mutators below (``insert_segment``,
``replace_segment``, ``remove_segment``, ``set_segments``, ``set_speaking``). Nothing else
should call them.

Segments are named by their **id** (:class:`meldae.annotations.AnnotationSet`): it stays with
a segment through edits, re-sorting and undo, so nothing that holds one (a selection, a
drag, a command) keeps positions in step. Ordering, validation and navigation are the
set's; this class adds the signals:

- ``segment_added(id)``, ``segment_changed(id)``, ``segment_removed(id)``;
- ``reset()``: everything may have changed (load, prediction replacement); redraw;
- ``speaking_changed()``: the speaking intervals changed;
- ``modified_changed(bool)``: the content differs (or no longer differs) from the last
  ``set_clean()`` — undoing back to the saved state clears the flag. Predicted segments
  still unreviewed do not count: they come back from the cached scores whenever the clip
  opens, so a model run alone never asks the user to save (reviewing one does count). This
  flag is the one record of unsaved work;
- ``clip_review_changed()``: the clip's review state (:class:`meldae.project.ClipReview`)
  changed. The clip review is project state (kept in ``.meldae/project.json``) and does not
  make the document modified.

``load`` is lenient (``AnnotationSet.fit``): segments reaching past the video are clamped
and segments entirely outside it are dropped with a warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QObject, Signal

from meldae.annotations import (
    AnnotationSet,
    ClipAnnotations,
    ReviewState,
    Segment,
    SegmentId,
    Source,
)
from meldae.project import ClipReview, clip_review_from_state, clip_review_to_state


class AnnotationDocument(QObject):
    """The ME segments and speaking intervals of one clip, with change signals.

    Args:
        annotations: initial content (``None``: empty).
        n_frames: frames in the clip (0: unknown, no upper bound is checked).
        parent: Qt parent.
    """

    segment_added = Signal(int)
    segment_changed = Signal(int)
    segment_removed = Signal(int)
    speaking_changed = Signal()
    reset = Signal()
    modified_changed = Signal(bool)
    clip_review_changed = Signal()
    vocabulary_changed = Signal()

    def __init__(
        self,
        annotations: ClipAnnotations | None = None,
        n_frames: int = 0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._set = AnnotationSet()
        self.annotator = ""   # who edits (the preferences' name); stamped by the commands
        self._clip_review = ClipReview.UNREVIEWED
        self._vocabulary: tuple[str, ...] = ()
        self._clean: tuple = ((), (), ())
        self._modified = False
        self.load(annotations or ClipAnnotations(segments=[], speaking=[]), n_frames)

    # ------------------------------------------------------------------ queries
    @property
    def annotation_set(self) -> AnnotationSet:
        """The content (read it; change it only through this document's mutators)."""
        return self._set

    @property
    def segments(self) -> tuple[Segment, ...]:
        """The ME segments, sorted."""
        return self._set.segments

    @property
    def ids(self) -> tuple[SegmentId, ...]:
        """The ME segments' ids, in the order of ``segments``."""
        return self._set.ids

    @property
    def speaking(self) -> tuple[Segment, ...]:
        """The speaking intervals, sorted by onset."""
        return self._set.speaking

    @property
    def n_frames(self) -> int:
        """Frames in the clip (0 when unknown)."""
        return self._set.n_frames

    @property
    def is_modified(self) -> bool:
        """Whether the content differs from the state at the last ``set_clean()``."""
        return self._modified

    @property
    def clip_review(self) -> ClipReview:
        """The clip's review progress."""
        return self._clip_review

    def __len__(self) -> int:
        return len(self._set)

    def __contains__(self, segment_id: object) -> bool:
        return segment_id in self._set

    def segment(self, segment_id: SegmentId) -> Segment:
        """The segment with ``segment_id`` (``KeyError`` when gone)."""
        return self._set.get(segment_id)

    def items(self) -> list[tuple[SegmentId, Segment]]:
        """``(id, segment)`` pairs in order."""
        return self._set.items()

    def annotations(self) -> ClipAnnotations:
        """A copy of the content as a ``ClipAnnotations``."""
        return ClipAnnotations(
            segments=list(self._set.segments),
            speaking=list(self._set.speaking),
            review=clip_review_to_state(self._clip_review),
            vocabulary=self._vocabulary,
        )

    def find(self, seg: Segment) -> SegmentId:
        """The id of a segment equal to ``seg`` (``ValueError`` when none is)."""
        return self._set.find(seg)

    def segment_at(self, frame: int) -> SegmentId | None:
        """The segment covering ``frame`` (the latest-starting one), or ``None``."""
        return self._set.segment_at(frame)

    def next_segment(self, frame: int) -> SegmentId | None:
        """The first segment whose onset is after ``frame``, or ``None``."""
        return self._set.next_segment(frame)

    def previous_segment(self, frame: int) -> SegmentId | None:
        """The last segment whose onset is before ``frame``, or ``None``."""
        return self._set.previous_segment(frame)

    def labels(self) -> list[str]:
        """The distinct non-empty labels in use, sorted."""
        return self._set.labels()

    def validate(self, seg: Segment) -> None:
        """Raise ``ValueError`` unless ``seg`` lies within the clip with onset <= offset."""
        self._set.validate(seg)

    def clamp(self, onset: int, offset: int) -> tuple[int, int]:
        """``(onset, offset)`` ordered and clamped into ``[0, n_frames)``."""
        return self._set.clamp(onset, offset)

    def fit(self, annotations: ClipAnnotations) -> tuple[list[Segment], list[Segment]]:
        """``annotations``' segments and speaking intervals clamped to this clip."""
        return (self._set.fit(annotations.segments, "ME segment"),
                self._set.fit(annotations.speaking, "speaking interval"))

    def stamp(self, seg: Segment) -> Segment:
        """``seg`` stamped with the current annotator when it records a human decision
        (drawn by hand, or a proposal accepted or rejected); unchanged otherwise or when no
        annotator is set. The commands stamp their new values, so undo restores old stamps."""
        if not self.annotator or (seg.source is Source.PREDICTED and seg.review is ReviewState.UNREVIEWED):
            return seg
        return seg if seg.annotator == self.annotator else seg.with_changes(annotator=self.annotator)

    # ----------------------------------------------------------------- mutators
    def insert_segment(self, seg: Segment, segment_id: SegmentId | None = None) -> SegmentId:
        """Add ``seg`` (with ``segment_id`` when re-inserting); returns its id."""
        sid = self._set.insert(seg, segment_id)
        self.segment_added.emit(sid)
        self._update_modified()
        return sid

    def remove_segment(self, segment_id: SegmentId) -> Segment:
        """Remove and return segment ``segment_id``."""
        seg = self._set.remove(segment_id)
        self.segment_removed.emit(segment_id)
        self._update_modified()
        return seg

    def replace_segment(self, segment_id: SegmentId, seg: Segment) -> None:
        """Give segment ``segment_id`` new values (it keeps its id)."""
        self._set.replace(segment_id, seg)
        self.segment_changed.emit(segment_id)
        self._update_modified()

    def set_segments(self, segments: Iterable[Segment | tuple[SegmentId, Segment]]) -> None:
        """Replace all ME segments at once (emits ``reset``); ``(id, segment)`` pairs keep
        their ids."""
        self._set.set_segments(segments)
        self.reset.emit()
        self._update_modified()

    def set_speaking(self, speaking: Sequence[Segment]) -> None:
        """Replace the speaking intervals (emits ``speaking_changed``)."""
        self._set.set_speaking(speaking)
        self.speaking_changed.emit()
        self._update_modified()

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The ME labels' controlled vocabulary (saved in the EAF; empty: none)."""
        return self._vocabulary

    def set_vocabulary(self, entries: Sequence[str]) -> None:
        """Replace the controlled vocabulary (emits ``vocabulary_changed``; an edit to save)."""
        entries = tuple(entries)
        if entries != self._vocabulary:
            self._vocabulary = entries
            self.vocabulary_changed.emit()
            self._update_modified()

    def set_clip_review(self, review: ClipReview) -> None:
        """Set the clip's review progress (project state; not an undoable edit)."""
        review = ClipReview(review)
        if review != self._clip_review:
            self._clip_review = review
            self.clip_review_changed.emit()

    def load(
        self, annotations: ClipAnnotations, n_frames: int, *, mark_clean: bool = True
    ) -> None:
        """Replace everything by ``annotations`` (emits ``reset`` and ``speaking_changed``).

        Args:
            annotations: the new content; out-of-range segments are clamped or dropped.
            n_frames: frames in the clip (0: unknown).
            mark_clean: make the loaded content the saved state (``False`` for recovered
                autosaves, which differ from the file on disk).
        """
        self._set.set_segments([])
        self._set.set_speaking([])
        self._set.set_n_frames(n_frames)
        segments, speaking = self.fit(annotations)
        self._set.set_segments(segments)
        self._set.set_speaking(speaking)
        self._vocabulary = tuple(annotations.vocabulary)
        if mark_clean:
            self._clean = self._snapshot()
        self.reset.emit()
        self.speaking_changed.emit()
        self.vocabulary_changed.emit()
        self.set_clip_review(clip_review_from_state(annotations.review))
        self._update_modified()

    def set_clean(self) -> None:
        """Mark the current content as saved."""
        self._clean = self._snapshot()
        self._update_modified()

    # ------------------------------------------------------------------ helpers
    def _snapshot(self) -> tuple:
        # Unreviewed predictions are regenerated from the cached scores at will: swapping
        # them does not make the document "modified"; reviewing one does.
        kept = tuple(s for s in self._set.segments
                     if s.source != Source.PREDICTED or s.review != ReviewState.UNREVIEWED)
        return kept, self._set.speaking, self._vocabulary

    def _update_modified(self) -> None:
        modified = self._snapshot() != self._clean
        if modified != self._modified:
            self._modified = modified
            self.modified_changed.emit(modified)
