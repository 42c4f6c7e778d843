"""An editable set of ME segments with stable ids, plus the clip's speaking intervals.

``AnnotationSet`` is the Qt-free owner of what an annotation editor needs beyond
``ClipAnnotations``:

- **Ids.** Every ME segment gets an ``int`` id when it enters the set; the id stays with the
  segment through edits, re-sorting and undo (a command that re-inserts a segment passes its
  id back). Ids are never reused for another segment, so a view, a selection or a drag can
  hold an id instead of a position that shifts with every edit.
- **Order.** ``ids`` / ``segments`` are sorted by :func:`segment_key` (time first, then every
  other field), so the order depends only on the content, never on the order of edits.
- **Validation.** ``0 <= onset <= offset`` and, when ``n_frames > 0``, ``offset < n_frames``;
  mutators raise ``ValueError`` otherwise. ``fit`` is the lenient form used when loading a
  file: segments reaching past the video are clamped, those entirely outside are dropped with
  a warning, so a clip whose EAF outlasts its video still opens.
- **Navigation.** ``segment_at``, ``next_segment``, ``previous_segment`` (by frame) answer ids.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
from collections.abc import Iterable, Iterator, Sequence

from meldae.annotations.model import Segment

log = logging.getLogger(__name__)

SegmentId = int
NO_SEGMENT: SegmentId = -1   # "none" where an int is needed (a Qt signal, say)


def segment_key(seg: Segment) -> tuple:
    """The total order of segments in a set: time first, then every other field."""
    return (
        seg.onset,
        seg.offset,
        seg.source.value,
        seg.review.value,
        seg.label,
        -1 if seg.apex is None else seg.apex,
        float("-inf") if seg.score is None else seg.score,
    )


def _onset(entry: tuple) -> int:
    return entry[0][0]


class AnnotationSet:
    """The ME segments (by id, sorted) and speaking intervals (sorted) of one clip.

    Args:
        segments: initial ME segments (validated strictly; use ``fit`` first for files).
        speaking: initial speaking intervals.
        n_frames: frames in the clip (0: unknown, no upper bound is checked).
    """

    def __init__(self, segments: Iterable[Segment] = (), speaking: Iterable[Segment] = (),
                 n_frames: int = 0) -> None:
        if n_frames < 0:
            raise ValueError(f"n_frames must be >= 0, got {n_frames}")
        self._n_frames = int(n_frames)
        self._last_id = 0
        self._by_id: dict[SegmentId, Segment] = {}
        self._order: list[tuple[tuple, SegmentId]] = []   # (segment_key, id), sorted
        self._speaking: list[Segment] = []
        self.set_segments(segments)
        self.set_speaking(list(speaking))

    # ------------------------------------------------------------------ queries
    @property
    def n_frames(self) -> int:
        """Frames in the clip (0 when unknown)."""
        return self._n_frames

    @property
    def ids(self) -> tuple[SegmentId, ...]:
        """The ME segments' ids, in order."""
        return tuple(sid for _key, sid in self._order)

    @property
    def segments(self) -> tuple[Segment, ...]:
        """The ME segments, in order."""
        return tuple(self._by_id[sid] for _key, sid in self._order)

    @property
    def speaking(self) -> tuple[Segment, ...]:
        """The speaking intervals, sorted."""
        return tuple(self._speaking)

    def items(self) -> list[tuple[SegmentId, Segment]]:
        """``(id, segment)`` pairs, in order."""
        return [(sid, self._by_id[sid]) for _key, sid in self._order]

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, segment_id: object) -> bool:
        return segment_id in self._by_id

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.segments)

    def get(self, segment_id: SegmentId) -> Segment:
        """The segment with ``segment_id`` (``KeyError`` when it is not in the set)."""
        try:
            return self._by_id[segment_id]
        except KeyError:
            raise KeyError(f"no segment with id {segment_id}") from None

    def position(self, segment_id: SegmentId) -> int:
        """Where ``segment_id`` sits in ``ids`` (for views that draw in order)."""
        entry = (segment_key(self.get(segment_id)), segment_id)
        return bisect.bisect_left(self._order, entry)

    def find(self, seg: Segment) -> SegmentId:
        """The id of a segment equal to ``seg`` (``ValueError`` when none is)."""
        key = segment_key(seg)
        i = bisect.bisect_left(self._order, (key,))
        while i < len(self._order) and self._order[i][0] == key:
            sid = self._order[i][1]
            if self._by_id[sid] == seg:
                return sid
            i += 1
        raise ValueError(f"segment {seg.onset}-{seg.offset} is not in the set")

    def segment_at(self, frame: int) -> SegmentId | None:
        """The segment covering ``frame`` (the latest-starting one), or ``None``."""
        stop = bisect.bisect_right(self._order, frame, key=_onset)
        for i in range(stop - 1, -1, -1):
            sid = self._order[i][1]
            if self._by_id[sid].offset >= frame:
                return sid
        return None

    def next_segment(self, frame: int) -> SegmentId | None:
        """The first segment whose onset is after ``frame``, or ``None``."""
        i = bisect.bisect_right(self._order, frame, key=_onset)
        return self._order[i][1] if i < len(self._order) else None

    def previous_segment(self, frame: int) -> SegmentId | None:
        """The last segment whose onset is before ``frame``, or ``None``."""
        i = bisect.bisect_left(self._order, frame, key=_onset)
        return self._order[i - 1][1] if i > 0 else None

    def labels(self) -> list[str]:
        """The distinct non-empty labels in use, sorted."""
        return sorted({s.label for s in self._by_id.values() if s.label})

    # --------------------------------------------------------------- validation
    def validate(self, seg: Segment) -> None:
        """Raise ``ValueError`` unless ``seg`` lies within the clip with onset <= offset."""
        if seg.onset < 0 or seg.offset < seg.onset:
            raise ValueError(
                f"invalid segment {seg.onset}-{seg.offset}: need 0 <= onset <= offset")
        if self._n_frames > 0 and seg.offset >= self._n_frames:
            raise ValueError(
                f"segment {seg.onset}-{seg.offset} ends after the last frame "
                f"({self._n_frames - 1})")

    def clamp(self, onset: int, offset: int) -> tuple[int, int]:
        """``(onset, offset)`` ordered and clamped into ``[0, n_frames)``."""
        lo, hi = sorted((int(onset), int(offset)))
        top = self._n_frames - 1 if self._n_frames > 0 else max(hi, 0)
        return min(max(lo, 0), top), min(max(hi, 0), top)

    def fit(self, segments: Iterable[Segment], what: str = "segment") -> list[Segment]:
        """``segments`` made valid for this clip: clamped, or dropped when after the end."""
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
                apex = seg.apex if seg.apex is not None and onset <= seg.apex <= offset else None
                seg = dataclasses.replace(seg, onset=onset, offset=offset, apex=apex)
            fitted.append(seg)
        return fitted

    # ----------------------------------------------------------------- mutators
    def insert(self, seg: Segment, segment_id: SegmentId | None = None) -> SegmentId:
        """Add ``seg``; returns its id (a new one, or ``segment_id`` when re-inserting)."""
        self.validate(seg)
        sid = self._claim(segment_id)
        self._by_id[sid] = seg
        bisect.insort(self._order, (segment_key(seg), sid))
        return sid

    def replace(self, segment_id: SegmentId, seg: Segment) -> None:
        """Give segment ``segment_id`` new values (it keeps its id, maybe not its place)."""
        self.validate(seg)
        old = self.get(segment_id)
        self._order.remove((segment_key(old), segment_id))
        self._by_id[segment_id] = seg
        bisect.insort(self._order, (segment_key(seg), segment_id))

    def remove(self, segment_id: SegmentId) -> Segment:
        """Remove and return segment ``segment_id``."""
        seg = self.get(segment_id)
        self._order.remove((segment_key(seg), segment_id))
        del self._by_id[segment_id]
        return seg

    def set_segments(self, segments: Iterable[Segment | tuple[SegmentId, Segment]]) -> None:
        """Replace every ME segment; ``(id, segment)`` pairs keep their ids, bare segments
        get new ones."""
        entries = [item if isinstance(item, tuple) else (None, item) for item in segments]
        for _sid, seg in entries:
            self.validate(seg)
        self._by_id, self._order = {}, []
        for sid, seg in entries:
            self.insert(seg, sid)

    def set_speaking(self, speaking: Sequence[Segment]) -> None:
        """Replace the speaking intervals."""
        new = sorted(speaking, key=segment_key)
        for seg in new:
            self.validate(seg)
        self._speaking = new

    def set_n_frames(self, n_frames: int) -> None:
        """Set the clip length; call with an empty set (or ``fit`` the content after)."""
        if n_frames < 0:
            raise ValueError(f"n_frames must be >= 0, got {n_frames}")
        self._n_frames = int(n_frames)

    def _claim(self, segment_id: SegmentId | None) -> SegmentId:
        if segment_id is None:
            self._last_id += 1
            return self._last_id
        if segment_id in self._by_id:
            raise ValueError(f"segment id {segment_id} is already in use")
        if segment_id < 1:
            raise ValueError(f"segment ids are positive, got {segment_id}")
        self._last_id = max(self._last_id, int(segment_id))
        return int(segment_id)
