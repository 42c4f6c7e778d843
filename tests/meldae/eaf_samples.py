"""A sample annotation document for the ELAN tests (imported by path: importlib mode)."""

from __future__ import annotations

import numpy as np

from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source


def doc() -> ClipAnnotations:
    """Segments of every kind (one frame, numpy numbers, predicted, reviewed) and speaking."""
    return ClipAnnotations(
        segments=[
            Segment(10, 20, apex=15, label="happiness"),
            Segment(0, 0, label="one frame"),                      # zero-length in pympi's eyes
            Segment(np.int64(40), np.int64(47), source=Source.PREDICTED, score=0.8125,
                    review=ReviewState.ACCEPTED),
            Segment(60, 70, apex=61, source=Source.PREDICTED, score=0.5),
            Segment(80, 85, source=Source.PREDICTED, review=ReviewState.REJECTED, score=0.25),
        ],
        speaking=[Segment(5, 30), Segment(100, 150, source=Source.PREDICTED)],
        review=ReviewState.ACCEPTED,
    )


def key(seg: Segment):
    """Every field of a segment, for order-free comparisons."""
    return (seg.onset, seg.offset, seg.apex, seg.label, seg.source, seg.review, seg.score)
