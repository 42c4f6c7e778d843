"""How far a project's review has come (``meldae stats FOLDER --review``, the app's Progress dock).

Counted from the project file (each clip's review state) and the clips' saved annotation
files (nothing unsaved, no model run):

- clips per review state (unreviewed, in progress, done);
- proposals accepted, rejected and pending (model proposals saved in the files);
- manual additions (segments an annotator drew);
- annotated minutes: the video minutes of the clips whose review is done (of the minutes
  known: a clip's length is known once it has been opened, or from its video header);
- per annotator: the segments each one made or last edited (the sidecar's stamp; "" when
  not recorded) and their own ``<clip>.<annotator>.eaf`` files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from meldae.annotations import AnnotationError, ClipAnnotations, ReviewState, Source, load_eaf
from meldae.review.annotators import annotator_eaf_path, annotators_in

log = logging.getLogger(__name__)

UNRECORDED = "(not recorded)"


@dataclass
class AnnotatorCounts:
    """What one annotator has done in the project."""

    segments: int = 0      # ME segments they made or last edited (any file)
    speaking: int = 0      # speaking intervals likewise
    files: int = 0         # their own <clip>.<annotator>.eaf files


@dataclass
class ProjectProgress:
    """The summary of a project's review."""

    clips: int = 0
    by_review: dict[str, int] = field(default_factory=lambda: {"unreviewed": 0, "in_progress": 0, "done": 0})
    accepted: int = 0
    rejected: int = 0
    pending: int = 0
    manual: int = 0
    annotated_minutes: float = 0.0
    known_minutes: float = 0.0
    clips_with_file: int = 0
    annotators: dict[str, AnnotatorCounts] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add_document(self, doc: ClipAnnotations, own_file_of: str | None = None) -> None:
        """Count one annotation file (``own_file_of``: the annotator whose file it is)."""
        for seg in doc.segments:
            if seg.source is Source.MANUAL:
                self.manual += 1
            elif seg.review is ReviewState.ACCEPTED:
                self.accepted += 1
            elif seg.review is ReviewState.REJECTED:
                self.rejected += 1
            else:
                self.pending += 1
        for seg in doc.segments:
            if seg.confirmed or seg.review is ReviewState.REJECTED:
                self._annotator(seg.annotator or own_file_of or UNRECORDED).segments += 1
        for seg in doc.confirmed_speaking():
            self._annotator(seg.annotator or own_file_of or UNRECORDED).speaking += 1
        if own_file_of:
            self._annotator(own_file_of).files += 1

    def _annotator(self, name: str) -> AnnotatorCounts:
        return self.annotators.setdefault(name, AnnotatorCounts())

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return {
            "format": "meldae-review-progress", "version": 1, "clips": self.clips,
            "by_review": dict(self.by_review),
            "proposals": {"accepted": self.accepted, "rejected": self.rejected, "pending": self.pending},
            "manual_additions": self.manual,
            "annotated_minutes": round(self.annotated_minutes, 3),
            "known_minutes": round(self.known_minutes, 3),
            "annotators": {name: vars(c).copy() for name, c in sorted(self.annotators.items())},
            "problems": list(self.problems),
        }


def project_progress(folder: str | Path, probe_videos: bool = True) -> ProjectProgress:
    """The review summary of clip folder ``folder``.

    Args:
        folder: the clip folder.
        probe_videos: read the video header of clips whose length the project does not know
            yet (no frame is decoded); False leaves them out of the minutes.

    Raises:
        meldae.data.DataError: not a clip folder.
    """
    from meldae.project import Project

    project = Project(folder)
    progress = ProjectProgress(clips=len(project))
    for clip in project.clips:
        state = project.state(clip.name)
        progress.by_review[state.review.value] += 1
        fps, n_frames = _timing(clip, state, probe_videos, progress)
        if fps and n_frames:
            minutes = n_frames / float(fps) / 60.0
            progress.known_minutes += minutes
            if state.review.value == "done":
                progress.annotated_minutes += minutes
        if not fps:
            continue
        if clip.eaf_path is not None:
            progress.clips_with_file += 1
            _count_file(progress, clip.eaf_path, fps, None)
        for who in annotators_in(project.folder, [clip.name]):
            _count_file(progress, annotator_eaf_path(project.folder / f"{clip.name}.eaf", who), fps, who)
    return progress


def _timing(clip, state, probe_videos: bool, progress: ProjectProgress) -> tuple[Fraction | None, int]:
    if state.fps and state.n_frames:
        return Fraction(state.fps), int(state.n_frames)
    if not probe_videos:
        return None, 0
    from meldae.review.clip_data import video_timing
    from meldae.video import VideoError

    try:
        return video_timing(clip.video_path)
    except (VideoError, ValueError, OSError) as exc:
        progress.problems.append(f"{clip.name}: {exc}")
        return None, 0


def _count_file(progress: ProjectProgress, path: Path, fps: Fraction, who: str | None) -> None:
    try:
        doc = load_eaf(path, fps)
    except AnnotationError as exc:
        progress.problems.append(str(exc))
        return
    progress.add_document(doc, who)


def format_progress(progress: ProjectProgress) -> str:
    """The summary as text lines."""
    r = progress.by_review
    lines = [
        f"clips: {progress.clips} (unreviewed {r['unreviewed']}, in progress {r['in_progress']}, "
        f"done {r['done']}); {progress.clips_with_file} with an annotation file",
        f"proposals: accepted {progress.accepted}, rejected {progress.rejected}, "
        f"pending {progress.pending}",
        f"manual additions: {progress.manual}",
        f"annotated minutes: {progress.annotated_minutes:.1f} of {progress.known_minutes:.1f} known",
    ]
    if progress.annotators:
        lines.append("annotators (ME segments / speaking intervals / own files):")
        for name, c in sorted(progress.annotators.items()):
            lines.append(f"  {name}: {c.segments} / {c.speaking} / {c.files}")
    lines += [f"warning: {p}" for p in progress.problems]
    return "\n".join(lines)
