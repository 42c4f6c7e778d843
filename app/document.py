"""The annotation document of the open clip: one QObject around a ``ClipAnnotations``.

Views render it and never own data; every edit goes through a ``QUndoCommand`` in
:mod:`app.commands`, which calls the mutators below (``insert_segment``,
``replace_segment``, ``remove_segment``, ``set_segments``, ``set_speaking``). Nothing else
should call them.

Indices: ``segments`` is kept sorted by a total order on the segment's values (onset,
offset, then the remaining fields), so the position of a segment depends only on the set of
segments, never on the order of edits — an index computed before an edit is valid again
after that edit is undone. Signals say how indices shift:

- ``segment_added(i)``: a segment now sits at ``i``; old indices ``>= i`` grew by one.
- ``segment_removed(i)``: the segment at ``i`` is gone; old indices ``> i`` shrank by one.
- ``segment_changed(i)``: the segment at ``i`` has new values and kept its position.
- A replacement that changes a segment's position emits ``segment_removed(old)``, then
  ``segment_added(new)`` (each consistent with ``segments`` at emission time), then
  ``segment_moved(old, new)``; ``moving`` is true from the first to the last of the three,
  so selection models can follow the segment instead of dropping it.
- ``reset()``: everything may have changed (load, prediction replacement); redraw.
- ``speaking_changed()``: the speaking intervals changed.
- ``modified_changed(bool)``: the content differs (or no longer differs) from the last
  ``set_clean()`` — undoing back to the saved state clears the flag. Predicted segments
  still unreviewed do not count: they come back from the cached scores whenever the clip
  opens, so a model run alone never asks the user to save (reviewing one does count).
- ``clip_review_changed()``: the clip's review state (:class:`ClipReview`) changed. The clip
  review is project state (kept in ``.meldae/project.json``) and does not make the document
  modified.

Validation: segments need ``0 <= onset <= offset`` and, when ``n_frames > 0``,
``offset < n_frames``; mutators raise ``ValueError`` otherwise (the editor clamps before it
builds a command). ``load`` is lenient instead: segments reaching past the video are
clamped and segments entirely outside it are dropped with a warning, so a clip whose EAF
outlasts its video still opens.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
from collections.abc import Iterable, Sequence

from PySide6.QtCore import QObject, Signal

from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source
from meldae.project import ClipReview, clip_review_from_state, clip_review_to_state

log = logging.getLogger(__name__)


def segment_key(seg: Segment) -> tuple:
    """The total order of segments in a document: time first, then every other field."""
    return (
        seg.onset,
        seg.offset,
        seg.source.value,
        seg.review.value,
        seg.label,
        -1 if seg.apex is None else seg.apex,
        float("-inf") if seg.score is None else seg.score,
    )


def _onset(key: tuple) -> int:
    return key[0]


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
    segment_moved = Signal(int, int)
    speaking_changed = Signal()
    reset = Signal()
    modified_changed = Signal(bool)
    clip_review_changed = Signal()

    def __init__(
        self,
        annotations: ClipAnnotations | None = None,
        n_frames: int = 0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._segments: list[Segment] = []
        self._keys: list[tuple] = []
        self._speaking: list[Segment] = []
        self._n_frames = 0
        self._clip_review = ClipReview.UNREVIEWED
        self._clean: tuple = ((), ())
        self._modified = False
        self._moving = False
        self.load(annotations or ClipAnnotations(segments=[], speaking=[]), n_frames)

    # ------------------------------------------------------------------ queries
    @property
    def segments(self) -> tuple[Segment, ...]:
        """The ME segments, sorted (see the module docstring)."""
        return tuple(self._segments)

    @property
    def speaking(self) -> tuple[Segment, ...]:
        """The speaking intervals, sorted by onset."""
        return tuple(self._speaking)

    @property
    def n_frames(self) -> int:
        """Frames in the clip (0 when unknown)."""
        return self._n_frames

    @property
    def is_modified(self) -> bool:
        """Whether the content differs from the state at the last ``set_clean()``."""
        return self._modified

    @property
    def moving(self) -> bool:
        """True while a position-changing replacement emits its signals."""
        return self._moving

    @property
    def clip_review(self) -> ClipReview:
        """The clip's review progress."""
        return self._clip_review

    def __len__(self) -> int:
        return len(self._segments)

    def annotations(self) -> ClipAnnotations:
        """A copy of the content as a ``ClipAnnotations``."""
        return ClipAnnotations(
            segments=list(self._segments),
            speaking=list(self._speaking),
            review=clip_review_to_state(self._clip_review),
        )

    def index_of(self, seg: Segment) -> int:
        """The index of a segment equal to ``seg``.

        Raises:
            ValueError: when no such segment is in the document.
        """
        key = segment_key(seg)
        i = bisect.bisect_left(self._keys, key)
        while i < len(self._segments) and self._keys[i] == key:
            if self._segments[i] == seg:
                return i
            i += 1
        raise ValueError(f"segment {seg.onset}-{seg.offset} is not in the document")

    def segment_at(self, frame: int) -> int | None:
        """Index of the segment covering ``frame`` (the latest-starting one), or ``None``."""
        stop = bisect.bisect_right(self._keys, frame, key=_onset)
        for i in range(stop - 1, -1, -1):
            if self._segments[i].offset >= frame:
                return i
        return None

    def next_segment(self, frame: int) -> int | None:
        """Index of the first segment whose onset is after ``frame``, or ``None``."""
        i = bisect.bisect_right(self._keys, frame, key=_onset)
        return i if i < len(self._segments) else None

    def previous_segment(self, frame: int) -> int | None:
        """Index of the last segment whose onset is before ``frame``, or ``None``."""
        i = bisect.bisect_left(self._keys, frame, key=_onset)
        return i - 1 if i > 0 else None

    def labels(self) -> list[str]:
        """The distinct non-empty labels in use, sorted."""
        return sorted({s.label for s in self._segments if s.label})

    def validate(self, seg: Segment) -> None:
        """Raise ``ValueError`` unless ``seg`` lies within the clip with onset <= offset."""
        if seg.onset < 0 or seg.offset < seg.onset:
            raise ValueError(
                f"invalid segment {seg.onset}-{seg.offset}: need 0 <= onset <= offset"
            )
        if self._n_frames > 0 and seg.offset >= self._n_frames:
            raise ValueError(
                f"segment {seg.onset}-{seg.offset} ends after the last frame "
                f"({self._n_frames - 1})"
            )

    def clamp(self, onset: int, offset: int) -> tuple[int, int]:
        """``(onset, offset)`` ordered and clamped into ``[0, n_frames)``."""
        lo, hi = sorted((int(onset), int(offset)))
        top = self._n_frames - 1 if self._n_frames > 0 else max(hi, 0)
        return min(max(lo, 0), top), min(max(hi, 0), top)

    # ----------------------------------------------------------------- mutators
    def insert_segment(self, seg: Segment) -> int:
        """Insert ``seg`` at its sorted position and return that index."""
        self.validate(seg)
        index = self._insert(seg)
        self.segment_added.emit(index)
        self._update_modified()
        return index

    def remove_segment(self, index: int) -> Segment:
        """Remove and return the segment at ``index``."""
        seg = self._pop(index)
        self.segment_removed.emit(index)
        self._update_modified()
        return seg

    def replace_segment(self, index: int, seg: Segment) -> int:
        """Replace the segment at ``index`` by ``seg``; return its index after re-sorting."""
        self.validate(seg)
        self._check_index(index)
        key = segment_key(seg)
        lo = self._keys[index - 1] if index > 0 else None
        hi = self._keys[index + 1] if index + 1 < len(self._keys) else None
        if (lo is None or lo <= key) and (hi is None or key <= hi):
            self._segments[index] = seg
            self._keys[index] = key
            self.segment_changed.emit(index)
            self._update_modified()
            return index
        self._moving = True
        try:
            self._pop(index)
            self.segment_removed.emit(index)
            new_index = self._insert(seg)
            self.segment_added.emit(new_index)
            self.segment_moved.emit(index, new_index)
        finally:
            self._moving = False
        self._update_modified()
        return new_index

    def set_segments(self, segments: Iterable[Segment]) -> None:
        """Replace all ME segments at once (emits ``reset``)."""
        new = sorted(segments, key=segment_key)
        for seg in new:
            self.validate(seg)
        self._segments = new
        self._keys = [segment_key(s) for s in new]
        self.reset.emit()
        self._update_modified()

    def set_speaking(self, speaking: Sequence[Segment]) -> None:
        """Replace the speaking intervals (emits ``speaking_changed``)."""
        new = sorted(speaking, key=segment_key)
        for seg in new:
            self.validate(seg)
        self._speaking = new
        self.speaking_changed.emit()
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
        if n_frames < 0:
            raise ValueError(f"n_frames must be >= 0, got {n_frames}")
        self._n_frames = int(n_frames)
        segments = self._fit(annotations.segments, "ME segment")
        self._segments = sorted(segments, key=segment_key)
        self._keys = [segment_key(s) for s in self._segments]
        self._speaking = sorted(self._fit(annotations.speaking, "speaking interval"), key=segment_key)
        if mark_clean:
            self._clean = self._snapshot()
        self.reset.emit()
        self.speaking_changed.emit()
        self.set_clip_review(clip_review_from_state(annotations.review))
        self._update_modified()

    def set_clean(self) -> None:
        """Mark the current content as saved."""
        self._clean = self._snapshot()
        self._update_modified()

    # ------------------------------------------------------------------ helpers
    def _fit(self, segments: Iterable[Segment], what: str) -> list[Segment]:
        fitted = []
        for seg in segments:
            if self._n_frames > 0 and seg.onset >= self._n_frames:
                log.warning("dropping %s %d-%d: after the last frame (%d)",
                            what, seg.onset, seg.offset, self._n_frames - 1)
                continue
            onset, offset = self.clamp(seg.onset, seg.offset)
            if (onset, offset) != (seg.onset, seg.offset):
                log.warning("clamping %s %d-%d to %d-%d", what, seg.onset, seg.offset,
                            onset, offset)
                seg = dataclasses.replace(seg, onset=onset, offset=offset)
            fitted.append(seg)
        return fitted

    def _insert(self, seg: Segment) -> int:
        key = segment_key(seg)
        index = bisect.bisect_right(self._keys, key)
        self._keys.insert(index, key)
        self._segments.insert(index, seg)
        return index

    def _pop(self, index: int) -> Segment:
        self._check_index(index)
        del self._keys[index]
        return self._segments.pop(index)

    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self._segments):
            raise IndexError(f"no segment at index {index} ({len(self._segments)} segments)")

    def _snapshot(self) -> tuple:
        # Unreviewed predictions are regenerated from the cached scores at will: swapping
        # them does not make the document "modified"; reviewing one does.
        kept = tuple(s for s in self._segments
                     if s.source != Source.PREDICTED or s.review != ReviewState.UNREVIEWED)
        return kept, tuple(self._speaking)

    def _update_modified(self) -> None:
        modified = self._snapshot() != self._clean
        if modified != self._modified:
            self._modified = modified
            self.modified_changed.emit(modified)
