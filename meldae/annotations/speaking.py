"""Operations on speaking intervals (the EAF's ``Speaking`` tier) as plain ``Segment`` lists.

The app's speaking editor calls them (every result becomes one undoable step there); they
need no Qt, so scripts and the command line can use them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from meldae.annotations.model import ReviewState, Segment, Source


def add_interval(intervals: Sequence[Segment], onset: int, offset: int) -> list[Segment]:
    """``intervals`` plus ``[onset, offset]`` (inclusive, either order), merged with every
    interval it overlaps or touches (frames ``offset + 1`` / ``onset - 1``)."""
    lo, hi = min(onset, offset), max(onset, offset)
    kept = []
    for seg in intervals:
        if seg.offset + 1 < lo or seg.onset - 1 > hi:
            kept.append(seg)
        else:
            lo, hi = min(lo, seg.onset), max(hi, seg.offset)
    kept.append(Segment(lo, hi, source=Source.MANUAL))
    return sorted(kept, key=lambda s: s.onset)


def remove_at(intervals: Sequence[Segment], frame: int) -> list[Segment]:
    """``intervals`` without the one that holds ``frame`` (unchanged when none does)."""
    return [seg for seg in intervals if not seg.onset <= frame <= seg.offset]


def accept_intervals(proposed: Sequence[Segment]) -> list[Segment]:
    """The model's proposed speaking intervals, accepted by the annotator.

    They keep ``source=PREDICTED`` and their score and become ``ACCEPTED``: confirmed
    speaking (the EAF's ``Speaking`` tier, training's speaking mask), still known to come
    from the model.
    """
    return [replace(seg, source=Source.PREDICTED, review=ReviewState.ACCEPTED)
            for seg in sorted(proposed, key=lambda s: s.onset)]
