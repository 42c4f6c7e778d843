"""From per-frame scores to proposals: ``PostProcessing`` and ``Proposals``.

``PostProcessing`` is the one owner of how scores become segments: the S_loc threshold, the
minimum length, the merge gap and the speaking-state threshold. The trainer chooses it on
the validation split and writes it into the checkpoint's meta (``to_meta``, once, under
``meta["postprocessing"]``); ``meldae evaluate``, ``meldae infer`` and the app read it back
(``from_meta``). ``PostProcessing.propose(scores)`` is the one way the model's scores become
proposals, for the command line and the app alike: ME segments with onset, apex, offset and
score, and the speaking runs, all with ``source=PREDICTED`` (the annotator accepts or
rejects them).

Scoring rule: a proposal's score is the **mean** S_loc over its frames (its apex is the
frame of highest S_loc). The mean describes the whole proposed interval: a segment held up
by a single high frame, or merged across a gap of low frames, scores lower than one the
model is sure of from onset to offset, so sorting and bulk review by score rank proposals
by how well the whole interval is supported. The peak is already reported as the apex.
It is also the value ``meldae infer`` has always written (EAF sidecars and ``.npz`` files
already in users' hands keep their meaning). Speaking runs score the mean state
probability.

numpy only (no torch, no Qt).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from meldae.annotations import ClipAnnotations, Segment, Source

META_KEY = "postprocessing"   # where the checkpoint's meta keeps ``to_meta()``
NO_META_SOURCE = "defaults (threshold 0.5): the checkpoint stores none"


@dataclass(frozen=True)
class PostProcessing:
    """How per-frame scores become proposals (chosen on the validation split)."""

    threshold: float = 0.5        # S_loc threshold: frames scoring >= it are ME frames
    min_length: int = 1           # shortest ME segment kept, in frames (after merging)
    merge_gap: int = 0            # ME segments at most this many frames apart are merged
    state_threshold: float = 0.5  # speaking where the state score >= it

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any] | None) -> PostProcessing:
        """The post-processing a checkpoint's meta stores; defaults for what it lacks.

        ``meta["postprocessing"]`` (written by :meth:`to_meta`) comes first. Checkpoints
        written before it also kept ``threshold`` at the meta's top level: a key missing from
        ``meta["postprocessing"]`` is read there, so old checkpoints load unchanged. A flat
        dict of the fields (an ``.npz`` written by ``meldae infer``) reads the same way.

        Args:
            meta: a checkpoint's ``meta`` dict (``info["meta"]``), or None.
        """
        meta = meta if isinstance(meta, Mapping) else {}
        stored = meta.get(META_KEY)
        places = [stored, meta] if isinstance(stored, Mapping) else [meta]
        values = {}
        for f in fields(cls):
            for place in places:
                if place.get(f.name) is not None:
                    values[f.name] = type(f.default)(place[f.name])
                    break
        return cls(**values)

    def to_meta(self, source: str | None = None) -> dict[str, Any]:
        """The JSON form kept in a checkpoint's ``meta["postprocessing"]``.

        Args:
            source: where the values came from (e.g. "chosen on the validation split ...").
        """
        out: dict[str, Any] = {k: (int(v) if isinstance(v, int) else float(v))
                               for k, v in asdict(self).items()}
        if source is not None:
            out["source"] = source
        return out

    def segments(self, loc: np.ndarray, valid: np.ndarray | None = None) -> list[tuple[int, int]]:
        """ME segments of per-frame scores: threshold, merge gaps, drop short ones.

        Args:
            loc: ``(n,)`` S_loc.
            valid: ``(n,)`` bool; no segment holds or crosses a False frame (no face).

        Returns:
            Inclusive ``(onset, offset)`` pairs in frame order.
        """
        from meldae.metrics import segments_from_scores

        return segments_from_scores(loc, self.threshold, self.min_length, self.merge_gap,
                                    valid=valid)

    def propose(self, scores: Any) -> Proposals:
        """The model's proposals for a clip's scores (a ``meldae.scores.ClipScores``).

        Frames without a face, or not scored yet (NaN), are never part of a proposal.
        """
        loc = np.asarray(scores.loc, np.float64)                        # (n,)
        faces = np.asarray(scores.face_found, bool)                     # (n,)
        valid = faces & np.isfinite(loc)
        loc = np.where(valid, loc, 0.0)
        me = []
        for onset, offset in self.segments(loc, valid):
            span = loc[onset:offset + 1]
            me.append(Segment(onset, offset, apex=onset + int(np.argmax(span)),
                              source=Source.PREDICTED, score=float(span.mean())))
        return Proposals(tuple(me), self._speaking(scores.state, faces), self)

    def _speaking(self, state: np.ndarray | None, faces: np.ndarray) -> tuple[Segment, ...]:
        if state is None:
            return ()
        from meldae.metrics import segments_from_scores

        state = np.asarray(state, np.float64)                           # (n,)
        valid = faces & np.isfinite(state)
        state = np.where(valid, state, 0.0)
        return tuple(Segment(a, b, source=Source.PREDICTED, score=float(state[a:b + 1].mean()))
                     for a, b in segments_from_scores(state, self.state_threshold, valid=valid))


def postprocessing_source(meta: Mapping[str, Any] | None) -> str:
    """A sentence saying where a checkpoint's post-processing came from."""
    meta = meta if isinstance(meta, Mapping) else {}
    stored = meta.get(META_KEY)
    if isinstance(stored, Mapping) and stored:
        return str(stored.get("source", "checkpoint meta"))
    if meta.get("threshold") is not None:
        return "checkpoint meta"
    return NO_META_SOURCE


def _empty_spans() -> np.ndarray:
    return np.zeros((0, 2), np.int64)


@dataclass(frozen=True)
class Proposals:
    """What the model proposes for one clip, made by ``PostProcessing.propose``."""

    segments: tuple[Segment, ...] = ()   # ME: PREDICTED, unreviewed, with apex and mean score
    speaking: tuple[Segment, ...] = ()   # speaking runs: PREDICTED, mean state score
    post: PostProcessing = field(default_factory=PostProcessing)   # what made them

    def spans(self) -> np.ndarray:
        """``(K, 2)`` int64 inclusive onsets/offsets of the ME segments."""
        return _spans(self.segments)

    def speaking_spans(self) -> np.ndarray:
        """``(K, 2)`` int64 inclusive onsets/offsets of the speaking runs."""
        return _spans(self.speaking)

    def to_annotations(self) -> ClipAnnotations:
        """The proposals as an annotation document (ME segments and speaking intervals)."""
        return ClipAnnotations(segments=list(self.segments), speaking=list(self.speaking))


def _spans(segments: tuple[Segment, ...]) -> np.ndarray:
    if not segments:
        return _empty_spans()
    return np.asarray([(s.onset, s.offset) for s in segments], np.int64).reshape(-1, 2)
