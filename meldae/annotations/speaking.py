"""Operations on speaking intervals (the EAF's ``Speaking`` tier) as plain ``Segment`` lists.

The app's speaking editor calls them (every result becomes one undoable step there); they
need no Qt, so scripts and the command line can use them too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from meldae.annotations.model import Segment, Source


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


def intervals_from_runs(runs: np.ndarray) -> list[Segment]:
    """``(K, 2)`` inclusive runs (e.g. the model's speaking band) as manual intervals."""
    return [Segment(int(a), int(b), source=Source.MANUAL) for a, b in np.asarray(runs).reshape(-1, 2)]
