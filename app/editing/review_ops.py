"""Review operations of the segment editor: accept / reject (one or in bulk), labels, and
swapping in a model's predictions (see :mod:`app.editing.editor` for the behaviour).

``ReviewOperations`` is a mixin of ``app.editing.editor.SegmentEditor``: it uses the editor's
``document``, ``undo_stack``, ``status_message`` signal and selection (``_selected``, an id:
a kept segment keeps its id, so a replacement of predictions leaves the selection alone).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from app.editing.commands import (
    BulkReviewCommand,
    EditSegmentCommand,
    ReplacePredictionsCommand,
    SetLabelCommand,
    SetReviewCommand,
)
from meldae.annotations import segment_key
from meldae.annotations import ReviewState, Segment, SegmentId, Source
from meldae.review.navigation import neighbour_unreviewed, pick_by_score

DUPLICATE_IOU = 0.5


def segment_iou(a: Segment, b: Segment) -> float:
    """Inclusive-frame IoU of two segments."""
    inter = min(a.offset, b.offset) - max(a.onset, b.onset) + 1
    if inter <= 0:
        return 0.0
    return inter / (a.n_frames + b.n_frames - inter)


class ReviewOperations:
    """Accept, reject, label, and replace predictions; every change one undo step."""

    def accept(self, segment_id: SegmentId | None = None) -> bool:
        """Accept segment ``segment_id`` (default: the selected one)."""
        return self._review(segment_id, ReviewState.ACCEPTED)

    def reject(self, segment_id: SegmentId | None = None) -> bool:
        """Reject segment ``segment_id`` (default: the selected one); it stays, greyed out."""
        return self._review(segment_id, ReviewState.REJECTED)

    def _review(self, segment_id: SegmentId | None, review: ReviewState) -> bool:
        segment_id = self._selected if segment_id is None else segment_id
        if segment_id not in self.document:
            verb = "accept" if review == ReviewState.ACCEPTED else "reject"
            self.status_message.emit(f"Select a segment to {verb}")
            return False
        if self.document.segment(segment_id).review == review:
            self.status_message.emit(f"The segment is already {review.value}")
            return False
        self.undo_stack.push(SetReviewCommand(self.document, segment_id, review))
        return True

    def accept_above(self, cutoff: float) -> int:
        """Accept every unreviewed prediction whose stored score is >= ``cutoff``; returns
        how many (one undo step)."""
        picked = pick_by_score(self.document.items(), cutoff, at_least=True)
        return self._bulk(picked, ReviewState.ACCEPTED, f"Accept proposals scoring ≥ {cutoff:g}")

    def reject_below(self, cutoff: float) -> int:
        """Reject every unreviewed prediction whose stored score is < ``cutoff``; returns
        how many (one undo step)."""
        picked = pick_by_score(self.document.items(), cutoff, at_least=False)
        return self._bulk(picked, ReviewState.REJECTED, f"Reject proposals scoring < {cutoff:g}")

    # ------------------------------------------------------------- review loop
    def go_unreviewed(self, step: int, frame: int) -> SegmentId | None:
        """Select the next (``step=1``) or previous (-1) unreviewed proposal after the
        selection (else the playhead ``frame``) and seek to its onset."""
        current = self._selected if self._selected in self.document else None
        target = neighbour_unreviewed(self.document.items(), step, frame, current)
        where = "after" if step > 0 else "before"
        return self._go(target, f"No unreviewed proposal {where} this point")

    def review_and_next(self, review: ReviewState, frame: int) -> SegmentId | None:
        """Accept or reject the selected segment (else the one at ``frame``), then move to
        the next unreviewed proposal: the review loop's one key."""
        target = self._selected if self._selected in self.document else \
            self.document.segment_at(frame)
        if target is None:
            self.status_message.emit("No segment here: N goes to the next proposal")
            return None
        if self.document.segment(target).review != review:
            self.undo_stack.push(SetReviewCommand(self.document, target, review))
        nxt = neighbour_unreviewed(self.document.items(), +1, frame, target)
        if nxt is None:
            self.select(target)
            self.status_message.emit("That was the last unreviewed proposal of this clip")
            return None
        return self._go(nxt, "")

    def set_apex(self, frame: int, segment_id: SegmentId | None = None) -> bool:
        """Put the apex of the selected segment (else the one at ``frame``) at ``frame``."""
        sid = segment_id if segment_id is not None else (
            self._selected if self._selected in self.document else self.document.segment_at(frame))
        if sid is None:
            self.status_message.emit("Select a segment (or put the playhead in one) to set its apex")
            return False
        seg = self.document.segment(sid)
        if not seg.onset <= frame <= seg.offset:
            self.status_message.emit(
                f"The apex must lie inside the segment ({seg.onset}–{seg.offset}); frame {frame} does not")
            return False
        if seg.apex == frame:
            return False
        self.undo_stack.push(EditSegmentCommand(self.document, sid, seg.with_changes(apex=frame),
                                                text=f"Set apex {frame}"))
        return True

    def _bulk(self, segment_ids: list[SegmentId], review: ReviewState, text: str) -> int:
        if segment_ids:
            self.undo_stack.push(BulkReviewCommand(self.document, segment_ids, review, text=text))
        self.status_message.emit(f"{text}: {len(segment_ids)} segment(s)")
        return len(segment_ids)

    def set_label(self, segment_id: SegmentId, label: str) -> bool:
        """Set segment ``segment_id``'s label (stripped); returns whether it changed."""
        label = label.strip()
        if self.document.segment(segment_id).label == label:
            return False
        self.undo_stack.push(SetLabelCommand(self.document, segment_id, label))
        return True

    # -------------------------------------------------------------- predictions
    def set_predictions(self, segments: Sequence[Segment]) -> int:
        """Replace the unreviewed predicted segments by ``segments``; returns how many were kept.

        Manual and reviewed segments stay; new ones overlapping a kept segment with
        IoU >= 0.5 are dropped. Consecutive calls merge into one undo step.
        """
        kept = [(sid, s) for sid, s in self.document.items()
                if not (s.source == Source.PREDICTED and s.review == ReviewState.UNREVIEWED)]
        fresh = []
        for seg in segments:
            onset, offset = self.document.clamp(seg.onset, seg.offset)
            if self.document.n_frames > 0 and seg.onset >= self.document.n_frames:
                continue
            apex = seg.apex if seg.apex is not None and onset <= seg.apex <= offset else None
            new = dataclasses.replace(seg, onset=onset, offset=offset, apex=apex,
                                      source=Source.PREDICTED, review=ReviewState.UNREVIEWED)
            if all(segment_iou(new, k) < DUPLICATE_IOU for _sid, k in kept):
                fresh.append(new)
        wanted = sorted([s for _sid, s in kept] + fresh, key=segment_key)
        if wanted == list(self.document.segments):
            return len(fresh)
        # a proposal equal to one already shown keeps its id (and so a selection on it)
        shown = {s: sid for sid, s in self.document.items() if (sid, s) not in kept}
        entries = kept + [(shown.pop(s), s) if s in shown else s for s in fresh]
        self.undo_stack.push(ReplacePredictionsCommand(self.document, entries))
        return len(fresh)
