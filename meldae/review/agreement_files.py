"""Two folders of annotation files compared clip by clip (``meldae agreement``).

Clips are matched by name: ``<clip>.eaf`` in each folder, or ``<clip>.<annotator>.eaf``
when an annotator is named (both annotators' files may then sit in one clip folder). The
frame rate and frame count come from the clip's video, looked for in ``videos`` and then in
both folders; without a video, ``fps`` must be given and the clip ends with its last segment.
Face flags come from the score cache when the clip has been scored with ``checkpoint``.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

from meldae.annotations import AnnotationError, TierNames, load_eaf
from meldae.review.agreement import AgreementReport, ClipAgreement, compare_clip, overall
from meldae.review.annotators import annotation_files
from meldae.review.clip_data import cached_scores, find_video, video_timing
from meldae.video import VideoError

log = logging.getLogger(__name__)


def _label(folder: Path, annotator: str | None) -> str:
    return f"{folder}" if annotator is None else f"{folder} ({annotator})"


def compare_folders(dir_a: str | Path, dir_b: str | Path, *, annotator_a: str | None = None,
                    annotator_b: str | None = None, videos: str | Path | None = None,
                    fps: Fraction | None = None, checkpoint: Path | None = None,
                    tiers: TierNames = TierNames()) -> AgreementReport:
    """The agreement report of the clips both folders annotate.

    Raises:
        NotADirectoryError: a folder is missing.
        ValueError: the two sides name the same files.
    """
    dir_a, dir_b = Path(dir_a).resolve(), Path(dir_b).resolve()
    files_a = annotation_files(dir_a, annotator_a)
    files_b = annotation_files(dir_b, annotator_b)
    if dir_a == dir_b and annotator_a == annotator_b:
        raise ValueError("A and B are the same files: name two folders or two annotators")
    folders = [Path(videos)] if videos else []
    folders += [dir_a, dir_b]
    results: list[ClipAgreement] = []
    skipped: list[str] = []
    for name in sorted(set(files_a) & set(files_b)):
        try:
            results.append(_compare_one(name, files_a[name], files_b[name], folders, fps,
                                        checkpoint, tiers))
        except (AnnotationError, VideoError, ValueError, OSError) as exc:
            skipped.append(f"{name}: {exc}")
            log.warning("agreement: skipping %s: %s", name, exc)
    return AgreementReport(
        name_a=_label(dir_a, annotator_a), name_b=_label(dir_b, annotator_b),
        clips=tuple(results), overall=overall(results),
        only_a=tuple(sorted(set(files_a) - set(files_b))),
        only_b=tuple(sorted(set(files_b) - set(files_a))), skipped=tuple(skipped))


def _compare_one(name: str, eaf_a: Path, eaf_b: Path, folders: list[Path],
                 fps: Fraction | None, checkpoint: Path | None, tiers: TierNames) -> ClipAgreement:
    video = find_video(name, folders)
    face_found = None
    if video is not None:
        rate, n_frames = video_timing(video)
        scores = cached_scores(video, checkpoint)
        if scores is not None:
            face_found = scores.face_found
            n_frames = max(n_frames, scores.n_frames)
    elif fps is not None:
        rate, n_frames = Fraction(fps), 0
    else:
        raise ValueError("no video found to read the frame rate from (give --videos or --fps)")
    a = load_eaf(eaf_a, rate, tiers)
    b = load_eaf(eaf_b, rate, tiers)
    if n_frames <= 0:
        ends = [s.offset + 1 for doc in (a, b) for s in (*doc.segments, *doc.speaking)]
        n_frames = max(ends, default=0)
    return compare_clip(name, a, b, n_frames, rate, face_found)
