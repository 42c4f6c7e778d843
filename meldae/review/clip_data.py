"""What the project review needs to know about a clip without decoding it.

Frame rate and frame count come from the video header (``meldae.video.probe``), model scores
and face flags from the score cache (``meldae.project.score_cache``), keyed by the video's
content and the checkpoint: nothing here runs the model or decodes a frame.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

from meldae.data.clipfolder import VIDEO_EXTENSIONS

log = logging.getLogger(__name__)


def find_video(name: str, folders: list[Path]) -> Path | None:
    """The video ``<name>.<ext>`` in the first of ``folders`` that has one."""
    for folder in folders:
        for ext in VIDEO_EXTENSIONS:
            for candidate in (folder / f"{name}{ext}", folder / f"{name}{ext.upper()}"):
                if candidate.is_file():
                    return candidate
    return None


def video_timing(video: Path) -> tuple[Fraction, int]:
    """``(fps, n_frames)`` from the header; n_frames from the duration when not stored.

    Raises:
        meldae.video.VideoError: not a readable video.
        ValueError: the header gives no frame rate.
    """
    from meldae.timebase import as_fps
    from meldae.video import probe

    info = probe(video)
    fps = as_fps(info.fps)
    n_frames = int(info.frames or 0)
    if n_frames <= 0 and info.duration_s:
        n_frames = int(round(float(info.duration_s) * float(fps)))
    return fps, n_frames


def cached_scores(video: Path, checkpoint: Path | None, cache=None):
    """The complete cached ``ClipScores`` of ``video`` under ``checkpoint``, or None.

    None as well when the video or the checkpoint file cannot be read (logged).
    """
    from meldae.project.score_cache import ScoreCache, score_key

    try:
        key = score_key(video, checkpoint)
    except OSError as exc:
        log.debug("no score cache key for %s: %s", video, exc)
        return None
    scores = (cache or ScoreCache()).get(key)
    if scores is None or not scores.complete:
        return None
    return scores
