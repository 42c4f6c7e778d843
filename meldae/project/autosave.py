"""The autosave file of an open clip: the whole document as JSON, written atomically.

``<video>.meldae-autosave.json`` (beside the clip, or in the project's ``.meldae/autosave``)
holds every segment field, the speaking intervals and the clip's review progress, so that a
crash loses at most the last debounce interval of work. the app's ``ClipSession``
decides when to write, recover and remove it.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from meldae.atomic import atomic_write_text
from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source
from meldae.project.state import AUTOSAVE_SUFFIX, ClipReview

log = logging.getLogger(__name__)

AUTOSAVE_FORMAT = "meldae-autosave"
AUTOSAVE_VERSION = 1


def default_autosave_path(video_path: str | Path) -> Path:
    """``clip.mp4`` -> ``clip.mp4.meldae-autosave.json`` beside it."""
    video_path = Path(video_path)
    return video_path.with_name(video_path.name + AUTOSAVE_SUFFIX)


def segment_to_json(seg: Segment) -> dict:
    """All fields of ``seg`` as JSON-ready values."""
    return {"onset": seg.onset, "offset": seg.offset, "apex": seg.apex, "label": seg.label,
            "source": seg.source.value, "review": seg.review.value, "score": seg.score}


def segment_from_json(item: dict) -> Segment:
    """The inverse of ``segment_to_json``."""
    return Segment(
        onset=int(item["onset"]), offset=int(item["offset"]),
        apex=None if item.get("apex") is None else int(item["apex"]),
        label=str(item.get("label", "")), source=Source(item.get("source", "manual")),
        review=ReviewState(item.get("review", "unreviewed")),
        score=None if item.get("score") is None else float(item["score"]),
    )


def read_autosave(path: Path) -> tuple[ClipAnnotations, ClipReview, dict]:
    """Read an autosave file: the annotations, the clip review and the raw payload.

    Raises:
        ValueError: when the file is not a readable MELDAE autosave.
    """
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("format") != AUTOSAVE_FORMAT:
            raise ValueError(f"format is {payload.get('format')!r}")
        ann = ClipAnnotations(
            segments=[segment_from_json(s) for s in payload["segments"]],
            speaking=[segment_from_json(s) for s in payload["speaking"]],
            vocabulary=tuple(str(v) for v in payload.get("vocabulary", [])),
        )
        return ann, ClipReview(payload.get("clip_review", "unreviewed")), payload
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a readable autosave ({exc})") from None


def autosave_text(video_path: Path, eaf_path: Path, fps, n_frames: int, saved_at: str,
                  annotations: ClipAnnotations, clip_review: ClipReview) -> str:
    """The autosave file's content."""
    payload = {
        "format": AUTOSAVE_FORMAT, "version": AUTOSAVE_VERSION,
        "video": str(video_path), "eaf": str(eaf_path),
        "fps": f"{fps.numerator}/{fps.denominator}", "n_frames": int(n_frames),
        "saved_at": saved_at, "clip_review": clip_review.value,
        "segments": [segment_to_json(s) for s in annotations.segments],
        "speaking": [segment_to_json(s) for s in annotations.speaking],
        "vocabulary": list(annotations.vocabulary),
    }
    return json.dumps(payload, indent=1, ensure_ascii=False) + "\n"


def write_autosave(path: Path, video_path: Path, eaf_path: Path, fps, n_frames: int,
                   saved_at: str, annotations: ClipAnnotations, clip_review: ClipReview) -> None:
    """Write the autosave file atomically (raises ``OSError``)."""
    atomic_write_text(path, autosave_text(video_path, eaf_path, fps, n_frames, saved_at,
                                          annotations, clip_review))


def keep_as_corrupt(path: Path) -> Path | None:
    """Move an unreadable autosave aside as ``<name>.corrupt``; returns it (None on failure)."""
    corrupt = path.with_name(path.name + ".corrupt")
    try:
        os.replace(path, corrupt)
    except OSError as exc:
        log.warning("%s: cannot keep it as %s (%s)", path, corrupt.name, exc)
        return None
    return corrupt
