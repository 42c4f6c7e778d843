"""Moving through the model's proposals: the review loop's order and bulk selection.

Both work on ``(id, segment)`` pairs in document order (``AnnotationSet.items()``), so the
app, a script or the CLI answer the same question the same way:

- :func:`neighbour_unreviewed`: the next (or previous) *unreviewed proposal* after the
  selected segment, or after the playhead when nothing is selected. Manual segments and
  proposals already accepted or rejected are skipped: Alt+→ visits every segment,
  N visits only what still needs a decision.
- :func:`pick_by_score`: the unreviewed proposals whose *stored* score (the model's mean
  S_loc over the segment, kept with the segment) is at least / below a cutoff. The cutoff
  is chosen by the annotator, independently of the threshold that made the proposals
  (every proposal scores above that threshold, so "reject below the threshold" would
  reject almost nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

from meldae.annotations.model import ReviewState, Segment, Source
from meldae.annotations.segment_set import SegmentId

Items = Sequence[tuple[SegmentId, Segment]]


def is_unreviewed_proposal(seg: Segment) -> bool:
    """Whether ``seg`` is a model proposal still waiting for accept or reject."""
    return seg.source is Source.PREDICTED and seg.review is ReviewState.UNREVIEWED


def neighbour_unreviewed(items: Items, step: int, frame: int,
                         current: SegmentId | None = None) -> SegmentId | None:
    """The unreviewed proposal after (``step > 0``) or before (``step < 0``) a place.

    Args:
        items: ``(id, segment)`` pairs in document order (by onset).
        step: +1 for the next proposal, -1 for the previous one.
        frame: the playhead; used when ``current`` is None or not in ``items``.
        current: the selected segment; the search starts just after (before) it, so
            proposals sharing its onset are not skipped.

    Returns:
        The id, or None when there is no unreviewed proposal in that direction.
    """
    if step == 0:
        raise ValueError("step must be +1 or -1")
    ids = [sid for sid, _seg in items]
    if current is not None and current in ids:
        start = ids.index(current)
        order = range(start + 1, len(ids)) if step > 0 else range(start - 1, -1, -1)
    elif step > 0:
        order = (i for i, (_sid, s) in enumerate(items) if s.onset > frame)
    else:
        order = (i for i in range(len(items) - 1, -1, -1) if items[i][1].onset < frame)
    for i in order:
        if is_unreviewed_proposal(items[i][1]):
            return items[i][0]
    return None


def pick_by_score(items: Items, cutoff: float, at_least: bool) -> list[SegmentId]:
    """Unreviewed proposals whose stored score is ``>= cutoff`` (``at_least``) or ``< cutoff``.

    Proposals without a stored score are never picked (nothing says where they stand).
    """
    cutoff = float(cutoff)
    return [sid for sid, seg in items
            if is_unreviewed_proposal(seg) and seg.score is not None
            and ((seg.score >= cutoff) if at_least else (seg.score < cutoff))]


def proposal_scores(items: Items) -> list[float]:
    """The stored scores of the unreviewed proposals, sorted (for a dialog's preview)."""
    return sorted(seg.score for _sid, seg in items
                  if is_unreviewed_proposal(seg) and seg.score is not None)
