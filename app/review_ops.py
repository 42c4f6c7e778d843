"""Review operations of the segment editor: accept / reject (one or in bulk), labels, and
swapping in a model's predictions (see :mod:`app.editing` for the behaviour).

``ReviewOperations`` is a mixin of ``app.editing.SegmentEditor``: it uses the editor's
``document``, ``undo_stack``, ``status_message`` signal and selection (``_selected``,
``_set_selected``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from app.commands import (
    BulkReviewCommand,
    ReplacePredictionsCommand,
    SetLabelCommand,
    SetReviewCommand,
)
from app.document import segment_key
from meldae.annotations import ReviewState, Segment, Source

DUPLICATE_IOU = 0.5


def segment_iou(a: Segment, b: Segment) -> float:
    """Inclusive-frame IoU of two segments."""
    inter = min(a.offset, b.offset) - max(a.onset, b.onset) + 1
    if inter <= 0:
        return 0.0
    return inter / (a.n_frames + b.n_frames - inter)


class ReviewOperations:
    """Accept, reject, label, and replace predictions; every change one undo step."""

    def accept(self, index: int | None = None) -> bool:
        """Accept segment ``index`` (default: the selected one)."""
        return self._review(index, ReviewState.ACCEPTED)

    def reject(self, index: int | None = None) -> bool:
        """Reject segment ``index`` (default: the selected one); it stays, greyed out."""
        return self._review(index, ReviewState.REJECTED)

    def _review(self, index: int | None, review: ReviewState) -> bool:
        index = self._selected if index is None else index
        if not 0 <= index < len(self.document):
            verb = "accept" if review == ReviewState.ACCEPTED else "reject"
            self.status_message.emit(f"Select a segment to {verb}")
            return False
        if self.document.segments[index].review == review:
            self.status_message.emit(f"The segment is already {review.value}")
            return False
        self.undo_stack.push(SetReviewCommand(self.document, index, review))
        return True

    def accept_above(self, threshold: float) -> int:
        """Accept every unreviewed prediction scoring >= ``threshold``; returns how many."""
        picked = self._unreviewed_predictions(lambda score: score >= threshold)
        return self._bulk(picked, ReviewState.ACCEPTED, f"Accept predictions ≥ {threshold:g}")

    def reject_below(self, threshold: float) -> int:
        """Reject every unreviewed prediction scoring < ``threshold``; returns how many."""
        picked = self._unreviewed_predictions(lambda score: score < threshold)
        return self._bulk(picked, ReviewState.REJECTED, f"Reject predictions < {threshold:g}")

    def _unreviewed_predictions(self, keep) -> list[int]:
        return [
            i for i, s in enumerate(self.document.segments)
            if s.source == Source.PREDICTED and s.review == ReviewState.UNREVIEWED
            and s.score is not None and keep(s.score)
        ]

    def _bulk(self, indices: list[int], review: ReviewState, text: str) -> int:
        if indices:
            self.undo_stack.push(BulkReviewCommand(self.document, indices, review, text=text))
        self.status_message.emit(f"{text}: {len(indices)} segment(s)")
        return len(indices)

    def set_label(self, index: int, label: str) -> bool:
        """Set segment ``index``'s label (stripped); returns whether it changed."""
        label = label.strip()
        if self.document.segments[index].label == label:
            return False
        self.undo_stack.push(SetLabelCommand(self.document, index, label))
        return True

    # -------------------------------------------------------------- predictions
    def set_predictions(self, segments: Sequence[Segment]) -> int:
        """Replace the unreviewed predicted segments by ``segments``; returns how many were kept.

        Manual and reviewed segments stay; new ones overlapping a kept segment with
        IoU >= 0.5 are dropped. Consecutive calls merge into one undo step.
        """
        kept = [s for s in self.document.segments
                if not (s.source == Source.PREDICTED and s.review == ReviewState.UNREVIEWED)]
        fresh = []
        for seg in segments:
            onset, offset = self.document.clamp(seg.onset, seg.offset)
            if self.document.n_frames > 0 and seg.onset >= self.document.n_frames:
                continue
            apex = seg.apex if seg.apex is not None and onset <= seg.apex <= offset else None
            new = dataclasses.replace(seg, onset=onset, offset=offset, apex=apex,
                                      source=Source.PREDICTED, review=ReviewState.UNREVIEWED)
            if all(segment_iou(new, k) < DUPLICATE_IOU for k in kept):
                fresh.append(new)
        if sorted(kept + fresh, key=segment_key) == list(self.document.segments):
            return len(fresh)
        selected = self.document.segments[self._selected] if self._selected >= 0 else None
        self.undo_stack.push(ReplacePredictionsCommand(self.document, kept + fresh))
        if selected is not None and selected in self.document.segments:
            self._set_selected(self.document.index_of(selected))
        return len(fresh)
