"""Adjudication: two annotators' versions of a clip, their disagreements, and the decided result.

:func:`find_disagreements` lines up annotators A and B (confirmed content only):

- **ME lane**: segments are paired one-to-one at IoU >= 0.5 (as ``meldae agreement``
  does). A pair with the same onset, offset and label is agreed and kept as it is; every
  other pair, and every segment only one side has, is a :class:`Disagreement`.
- **Speaking lane**: each run of frames where one says "speaking" and the other does not is
  a disagreement; the frames where both say speaking are agreed.

An adjudicator decides each disagreement (:class:`Decision`): take A's version, B's, or
their own (an ME segment of their own, or none; for speaking, their own interval inside
the run, or none). :meth:`Adjudication.result` builds the clip's document, and
:meth:`Adjudication.provenance` records who decided what (kept in the saved file's sidecar).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source
from meldae.metrics import match_segment_pairs
from meldae.review.agreement import IOU_THRESHOLD


class Side(str, enum.Enum):
    """Whose version an adjudicator takes."""

    A = "a"
    B = "b"
    OWN = "own"


class AdjudicationError(ValueError):
    """The adjudication cannot produce a result yet (the message says why)."""


@dataclass(frozen=True)
class Decision:
    """The adjudicator's choice for one disagreement; ``own`` is their version (None: nothing)."""

    side: Side
    own: Segment | None = None


@dataclass(frozen=True)
class Disagreement:
    """Where A and B differ: ``a`` / ``b`` are their versions (None: that side has none)."""

    key: str                 # stable id, e.g. "me:2" or "speaking:0"
    lane: str                # "me" or "speaking"
    onset: int               # the frames both versions cover, inclusive
    offset: int
    a: Segment | None
    b: Segment | None

    def version(self, decision: Decision) -> Segment | None:
        """The segment ``decision`` keeps (None: none)."""
        if decision.side is Side.A:
            return self.a
        if decision.side is Side.B:
            return self.b
        return decision.own


def _mask(segments: list[Segment], n_frames: int) -> np.ndarray:
    mask = np.zeros(n_frames, bool)           # (n_frames,)
    for seg in segments:
        mask[seg.onset: seg.offset + 1] = True
    return mask


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


@dataclass(frozen=True)
class Adjudication:
    """Two annotators' versions of one clip, lined up (made by :func:`find_disagreements`)."""

    name_a: str
    name_b: str
    n_frames: int
    agreed_me: tuple[Segment, ...]
    agreed_speaking: tuple[tuple[int, int], ...]   # inclusive runs both mark as speaking
    items: tuple[Disagreement, ...]

    def item(self, key: str) -> Disagreement:
        """The disagreement called ``key`` (``KeyError`` when unknown)."""
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)

    def undecided(self, decisions: Mapping[str, Decision]) -> list[Disagreement]:
        """The disagreements without a decision."""
        return [item for item in self.items if item.key not in decisions]

    def result(self, decisions: Mapping[str, Decision], adjudicator: str) -> ClipAnnotations:
        """The adjudicated document: agreed content plus each decision's version.

        ME segments keep the annotator of the version taken (the adjudicator for their own);
        speaking intervals are the adjudicator's (the lane as decided).

        Raises:
            AdjudicationError: a disagreement is not decided yet.
        """
        missing = self.undecided(decisions)
        if missing:
            raise AdjudicationError(f"{len(missing)} disagreement(s) not decided yet "
                                    f"(first at frame {missing[0].onset})")
        segments = list(self.agreed_me)
        speaking = np.zeros(self.n_frames, bool)     # (n_frames,)
        for onset, offset in self.agreed_speaking:
            speaking[onset:offset + 1] = True
        for item in self.items:
            decision = decisions[item.key]
            chosen = item.version(decision)
            if chosen is None:
                continue
            if item.lane == "me":
                who = adjudicator if decision.side is Side.OWN else chosen.annotator or (
                    self.name_a if decision.side is Side.A else self.name_b)
                segments.append(chosen.with_changes(annotator=who, source=Source.MANUAL,
                                                    review=ReviewState.UNREVIEWED))
            else:
                lo, hi = max(chosen.onset, item.onset), min(chosen.offset, item.offset)
                speaking[lo:hi + 1] = lo <= hi
        segments.sort(key=lambda s: (s.onset, s.offset))
        return ClipAnnotations(
            segments=segments,
            speaking=[Segment(a, b, annotator=adjudicator) for a, b in _runs(speaking)],
            review=ReviewState.ACCEPTED)

    def provenance(self, decisions: Mapping[str, Decision], adjudicator: str) -> dict:
        """JSON-ready record of the adjudication (kept in the saved file's sidecar)."""
        return {
            "kind": "adjudication", "annotators": [self.name_a, self.name_b],
            "adjudicator": adjudicator, "agreed_me": len(self.agreed_me),
            "decisions": [
                {"lane": item.lane, "onset": item.onset, "offset": item.offset,
                 "taken": decisions[item.key].side.value if item.key in decisions else None}
                for item in self.items],
        }


def find_disagreements(a: ClipAnnotations, b: ClipAnnotations, n_frames: int,
                       name_a: str = "A", name_b: str = "B") -> Adjudication:
    """Line up A's and B's confirmed content of a clip of ``n_frames`` frames."""
    seg_a, seg_b = a.confirmed_segments(), b.confirmed_segments()
    pairs = match_segment_pairs([(s.onset, s.offset) for s in seg_b],
                                [(s.onset, s.offset) for s in seg_a], IOU_THRESHOLD)
    agreed: list[Segment] = []
    found: list[tuple[Segment | None, Segment | None]] = []
    for i, j, _ in pairs:
        sa, sb = seg_a[j], seg_b[i]
        if (sa.onset, sa.offset, sa.label) == (sb.onset, sb.offset, sb.label):
            agreed.append(sa.with_changes(annotator=sa.annotator or name_a))
        else:
            found.append((sa, sb))
    found += [(seg_a[j], None) for j in set(range(len(seg_a))) - {p[1] for p in pairs}]
    found += [(None, seg_b[i]) for i in set(range(len(seg_b))) - {p[0] for p in pairs}]
    found.sort(key=lambda ab: min(s.onset for s in ab if s is not None))
    items = [Disagreement(f"me:{k}", "me", min(s.onset for s in ab if s), max(s.offset for s in ab if s),
                          ab[0], ab[1]) for k, ab in enumerate(found)]
    n_frames = max([int(n_frames)] + [s.offset + 1 for d in (a, b) for s in (*d.segments, *d.speaking)])
    speak_a = _mask(a.confirmed_speaking(), n_frames)
    speak_b = _mask(b.confirmed_speaking(), n_frames)
    # one disagreement per run of frames where exactly one side speaks (and the same one)
    runs = sorted([(r, True) for r in _runs(speak_a & ~speak_b)]
                  + [(r, False) for r in _runs(~speak_a & speak_b)])
    for k, ((onset, offset), a_speaks) in enumerate(runs):
        run = Segment(onset, offset)
        items.append(Disagreement(f"speaking:{k}", "speaking", onset, offset,
                                  run if a_speaks else None, None if a_speaks else run))
    return Adjudication(name_a, name_b, n_frames, tuple(agreed),
                        tuple(_runs(speak_a & speak_b)), tuple(items))


def save_adjudicated(adjudication: Adjudication, decisions: Mapping[str, Decision],
                     adjudicator: str, eaf_path, fps, media_path=None) -> ClipAnnotations:
    """Write the adjudicated document as the clip's EAF, with its provenance in the sidecar.

    The ME and Speaking tiers carry the adjudicator as ``ANNOTATOR``; the previous file is
    kept as a backup (``save_eaf``'s rotation). Returns the document written.

    Raises:
        AdjudicationError: a disagreement is not decided yet (nothing is written).
        meldae.annotations.AnnotationError: the file cannot be written.
    """
    from meldae.annotations import save_eaf

    result = adjudication.result(decisions, adjudicator)
    save_eaf(result, eaf_path, fps, media_path=media_path, annotator=adjudicator,
             provenance=adjudication.provenance(decisions, adjudicator))
    return result
