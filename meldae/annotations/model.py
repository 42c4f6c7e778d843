"""The Qt-free annotation document: ME segments and speaking intervals, in frames."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np


class AnnotationError(Exception):
    """An annotation file cannot be read or written; the message names the file and why."""


class Source(str, Enum):
    """Who made a segment: an annotator or the model."""

    MANUAL = "manual"
    PREDICTED = "predicted"


class ReviewState(str, Enum):
    """Review state of a predicted segment or of a whole clip."""

    UNREVIEWED = "unreviewed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


def _as_int(name: str, value: object) -> int:
    """``value`` as a Python int (numpy integers too); rejects floats with a fraction."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
        raise ValueError(f"{name} must be an integer frame index, got {value!r}")
    as_int = int(value)
    if as_int != value:
        raise ValueError(f"{name} must be an integer frame index, got {value!r}")
    return as_int


@dataclass(frozen=True)
class Segment:
    """A time interval in frames, onset and offset inclusive (a one-frame segment is valid).

    Used both for micro-expressions (with optional apex and label) and for speaking
    intervals. Numbers are normalised to Python types (numpy values are accepted).
    """

    onset: int
    offset: int
    apex: int | None = None
    label: str = ""
    source: Source = Source.MANUAL
    review: ReviewState = ReviewState.UNREVIEWED
    score: float | None = None  # model confidence for predicted segments
    annotator: str = ""         # who made or last edited it ("": not recorded)

    def __post_init__(self) -> None:
        onset = _as_int("onset", self.onset)
        offset = _as_int("offset", self.offset)
        if onset < 0:
            raise ValueError(f"onset must be >= 0, got {onset}")
        if offset < onset:
            raise ValueError(f"offset {offset} is before onset {onset}")
        apex = None if self.apex is None else _as_int("apex", self.apex)
        if apex is not None and not onset <= apex <= offset:
            raise ValueError(f"apex {apex} is outside [{onset}, {offset}]")
        object.__setattr__(self, "onset", onset)
        object.__setattr__(self, "offset", offset)
        object.__setattr__(self, "apex", apex)
        object.__setattr__(self, "label", str(self.label))
        object.__setattr__(self, "source", Source(self.source))
        object.__setattr__(self, "review", ReviewState(self.review))
        object.__setattr__(self, "annotator", str(self.annotator or ""))
        if self.score is not None:
            object.__setattr__(self, "score", float(self.score))

    @property
    def n_frames(self) -> int:
        """Number of frames covered (inclusive ends)."""
        return self.offset - self.onset + 1

    @property
    def confirmed(self) -> bool:
        """True for manual segments and accepted predictions: what counts as ground truth."""
        return self.source is Source.MANUAL or self.review is ReviewState.ACCEPTED

    def with_changes(self, **changes: object) -> Segment:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)


def _mask(segments: Iterable[Segment], n_frames: int) -> np.ndarray:
    """Boolean mask of length ``n_frames`` that is True inside the segments (clipped)."""
    mask = np.zeros(int(n_frames), dtype=bool)  # (n_frames,)
    for seg in segments:
        mask[seg.onset: seg.offset + 1] = True
    return mask


@dataclass
class ClipAnnotations:
    """One clip's annotations: ME segments and speaking intervals (the rest is listening).

    ``segments`` holds manual segments and predicted segments awaiting review; only the
    confirmed ones (manual, or predicted and accepted) count as ground truth. The same rule
    applies to ``speaking`` (predicted speaking intervals carry ``source=PREDICTED``).
    """

    segments: list[Segment] = field(default_factory=list)
    speaking: list[Segment] = field(default_factory=list)
    review: ReviewState = ReviewState.UNREVIEWED
    # the ME tiers' controlled vocabulary (label values offered to the annotator; the EAF's
    # CONTROLLED_VOCABULARY, see meldae.annotations.eaf_vocabulary); empty: none
    vocabulary: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.segments = list(self.segments)
        self.speaking = list(self.speaking)
        self.review = ReviewState(self.review)
        self.vocabulary = tuple(str(v) for v in self.vocabulary)

    def confirmed_segments(self) -> list[Segment]:
        """Manual segments plus accepted predicted ones, sorted by onset."""
        return sorted((s for s in self.segments if s.confirmed), key=lambda s: (s.onset, s.offset))

    def confirmed_speaking(self) -> list[Segment]:
        """Manual speaking intervals plus accepted predicted ones, sorted by onset."""
        return sorted((s for s in self.speaking if s.confirmed), key=lambda s: (s.onset, s.offset))

    def me_mask(self, n_frames: int) -> np.ndarray:
        """``(n_frames,)`` bool: frames inside a confirmed ME segment."""
        return _mask(self.confirmed_segments(), n_frames)

    def speaking_mask(self, n_frames: int) -> np.ndarray:
        """``(n_frames,)`` bool: frames inside a confirmed speaking interval."""
        return _mask(self.confirmed_speaking(), n_frames)


@dataclass(frozen=True)
class TierNames:
    """Names of the ELAN tiers that hold each kind of annotation."""

    me: str = "ME"
    speaking: str = "Speaking"
    me_predicted: str = "ME (predicted)"
    speaking_predicted: str = "Speaking (predicted)"
