"""The project's review queue: what deserves a decision next (``meldae suggest``, the app's
"Review next" dock).

Ranking rule (one sort key, ``(tier, -value, clip, onset)``):

1. **Proposals near the threshold** (tier 0). Every model proposal
   (``PostProcessing.propose``) that no decision covers yet: no confirmed segment and no
   rejected proposal of the clip overlaps it. Its value is
   ``1 - |score - threshold| / max(threshold, 1 - threshold)``: 1 at the threshold, falling
   to 0 for a proposal the model is sure of. A decision on a borderline proposal is worth
   most: it is the one the model is most likely to have wrong.
2. **High-S_loc stretches without a proposal** (tier 1). Runs of frames with a face where
   S_loc stays at or above ``STRETCH_FRACTION x threshold`` but that hold no proposal and
   overlap no annotation: near misses the annotator may want to mark by hand. Value: the
   run's peak S_loc divided by the threshold (at most 1).
3. **Clips not scored yet** (tier 2), in name order: no complete scores of this checkpoint
   in the score cache.

Within a tier, higher value first, then clip name, then onset. Clips whose review is done
are left out.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source
from meldae.postprocess import PostProcessing

log = logging.getLogger(__name__)

STRETCH_FRACTION = 0.5   # a stretch starts at this fraction of the threshold


class SuggestionKind(str, enum.Enum):
    """What a suggestion asks the annotator to look at, in ranking order."""

    PROPOSAL = "proposal"        # an undecided proposal
    STRETCH = "stretch"          # high S_loc but no proposal
    UNSCORED = "unscored"        # a clip the model has not scored

    @property
    def tier(self) -> int:
        """The rank of this kind (0 first)."""
        return list(SuggestionKind).index(self)


@dataclass(frozen=True)
class Suggestion:
    """One entry of the queue: a clip and, for scored clips, the frames to look at."""

    kind: SuggestionKind
    clip: str
    onset: int | None = None     # inclusive frames; None for an unscored clip
    offset: int | None = None
    score: float | None = None   # proposal: its mean S_loc; stretch: its peak S_loc
    value: float = 0.0           # how much a decision is worth within its tier, in [0, 1]

    @property
    def sort_key(self) -> tuple:
        """The ranking rule of the module docstring."""
        return (self.kind.tier, -self.value, self.clip, -1 if self.onset is None else self.onset)

    def describe(self, fps: float | None = None) -> str:
        """A one-line reason, e.g. ``proposal 120-131 (score 0.52, threshold-near 0.96)``."""
        if self.kind is SuggestionKind.UNSCORED:
            return "not scored yet"
        where = f"{self.onset}-{self.offset}"
        if fps:
            where += f" ({self.onset / fps:.2f} s)"
        noun = "proposal" if self.kind is SuggestionKind.PROPOSAL else "high S_loc, no proposal"
        return f"{noun} {where}, score {self.score:.2f}"

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return {"kind": self.kind.value, "clip": self.clip, "onset": self.onset,
                "offset": self.offset, "score": None if self.score is None else round(self.score, 4),
                "value": round(self.value, 4)}


def rank(suggestions: list[Suggestion]) -> list[Suggestion]:
    """``suggestions`` in queue order."""
    return sorted(suggestions, key=lambda s: s.sort_key)


def _overlaps(onset: int, offset: int, segments: list[Segment]) -> bool:
    return any(s.onset <= offset and onset <= s.offset for s in segments)


def _decided(annotations: ClipAnnotations) -> list[Segment]:
    """Segments that record a decision: confirmed ones and rejected proposals."""
    return [s for s in annotations.segments
            if s.confirmed or (s.source is Source.PREDICTED and s.review is ReviewState.REJECTED)]


def proposal_value(score: float, threshold: float) -> float:
    """How close a proposal's score is to the threshold: 1 at it, 0 at the far end."""
    span = max(threshold, 1.0 - threshold) or 1.0
    return float(min(1.0, max(0.0, 1.0 - abs(score - threshold) / span)))


def clip_suggestions(clip: str, scores, annotations: ClipAnnotations,
                     post: PostProcessing) -> list[Suggestion]:
    """Tier-0 and tier-1 suggestions of one scored clip (unranked).

    Args:
        clip: the clip's name.
        scores: its complete ``meldae.scores.ClipScores``.
        annotations: what the clip's annotation file holds now.
        post: the checkpoint's post-processing (threshold, minimum length, merge gap).
    """
    proposals = list(post.propose(scores).segments)
    decided = _decided(annotations)
    out = [Suggestion(SuggestionKind.PROPOSAL, clip, p.onset, p.offset, p.score,
                      proposal_value(float(p.score), post.threshold))
           for p in proposals if not _overlaps(p.onset, p.offset, decided)]
    loc = np.asarray(scores.loc, np.float64)                                   # (n,)
    valid = np.asarray(scores.face_found, bool) & np.isfinite(loc)
    high = valid & (np.where(valid, loc, 0.0) >= STRETCH_FRACTION * post.threshold)
    covered = proposals + list(annotations.segments)
    for onset, offset in _runs(high):
        if _overlaps(onset, offset, covered):
            continue
        peak = float(loc[onset:offset + 1].max())
        out.append(Suggestion(SuggestionKind.STRETCH, clip, onset, offset, peak,
                              min(1.0, peak / post.threshold) if post.threshold > 0 else 1.0))
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``(onset, offset)`` of the runs of True."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def project_queue(folder: str | Path, checkpoint: Path | None, cache=None) -> list[Suggestion]:
    """The ranked queue of a clip folder, from the scores cached for ``checkpoint``.

    Args:
        folder: the clip folder (its ``.meldae/project.json`` gives the clips' review).
        checkpoint: the model whose cached scores and post-processing are used (None: the
            bundled demo model).
        cache: a ``meldae.project.score_cache.ScoreCache`` (default: the user's cache).

    Raises:
        meldae.data.DataError: not a clip folder.
        meldae.checkpoint.CheckpointError: the checkpoint cannot be read.
    """
    from meldae.checkpoint import read_checkpoint_info
    from meldae.paths import demo_checkpoint
    from meldae.project import ClipReview, Project
    from meldae.review.clip_data import cached_scores

    project = Project(folder)
    post = PostProcessing.from_meta(read_checkpoint_info(checkpoint or demo_checkpoint())["meta"])
    out: list[Suggestion] = []
    for clip in project.clips:
        if project.state(clip.name).review is ClipReview.DONE:
            continue
        scores = cached_scores(clip.video_path, checkpoint, cache)
        if scores is None:
            out.append(Suggestion(SuggestionKind.UNSCORED, clip.name))
            continue
        out.extend(clip_suggestions(clip.name, scores, _annotations(clip, scores.fps), post))
    return rank(out)


def _annotations(clip, fps) -> ClipAnnotations:
    """The clip's saved annotations; an unreadable file counts as none (logged)."""
    from meldae.annotations import AnnotationError, load_eaf

    if clip.eaf_path is None or not fps:
        return ClipAnnotations()
    try:
        return load_eaf(clip.eaf_path, fps)
    except AnnotationError as exc:
        log.warning("suggest: %s", exc)
        return ClipAnnotations()
