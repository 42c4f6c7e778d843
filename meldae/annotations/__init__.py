"""Annotation documents (Qt-free) and ELAN files: ME segments and speaking intervals in frames.

See ``docs/architecture.md`` (meldae.annotations) for the contract and
``meldae.annotations.eaf`` for the tier layout and the JSON sidecar.
"""

from meldae.annotations.eaf import load_eaf, save_eaf
from meldae.annotations.model import (
    AnnotationError,
    ClipAnnotations,
    ReviewState,
    Segment,
    Source,
    TierNames,
)
from meldae.annotations.segment_set import NO_SEGMENT, AnnotationSet, SegmentId, segment_key
from meldae.annotations.scores import load_scores_csv, save_scores_csv
from meldae.annotations.sidecar import sidecar_path

__all__ = [
    "NO_SEGMENT",
    "AnnotationError",
    "AnnotationSet",
    "ClipAnnotations",
    "ReviewState",
    "SegmentId",
    "Segment",
    "Source",
    "TierNames",
    "load_eaf",
    "load_scores_csv",
    "save_eaf",
    "save_scores_csv",
    "segment_key",
    "sidecar_path",
]
