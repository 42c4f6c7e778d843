"""Agreement between two annotators of the same clips (``meldae agreement``).

Per clip and overall:

- ``alpha_speaking``: Krippendorff's alpha (nominal, the ``krippendorff`` package) of the
  two speaking/listening labellings over the frames with a face (every frame when no face
  data is known: ``faces_known`` says which). None when it is undefined: no frame, or one
  value everywhere in both labellings (perfect but uninformative agreement).
- ``segment_f1``: confirmed ME segments matched one-to-one, greedy by IoU >= 0.5
  (:func:`meldae.metrics.match_segment_pairs`), A as reference: ``2 * matched / (n_A + n_B)``;
  None when neither annotator has a segment (overall: the counts are summed first).
- ``onset_mae_ms`` / ``offset_mae_ms``: mean absolute onset / offset difference of the
  matched pairs in milliseconds (frames x 1000 / fps); None without a matched pair. Overall
  it is the mean over all pairs of all clips.

The overall alpha pools the frames of every clip into one reliability matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from meldae.annotations import ClipAnnotations, Segment
from meldae.metrics import match_segment_pairs

IOU_THRESHOLD = 0.5


def alpha_nominal(a: np.ndarray, b: np.ndarray) -> float | None:
    """Krippendorff's alpha of two coders' nominal labels of the same units; None if undefined."""
    import krippendorff

    a = np.asarray(a, np.int64).ravel()
    b = np.asarray(b, np.int64).ravel()
    if a.size == 0 or len(np.unique(np.concatenate([a, b]))) < 2:
        return None
    return float(krippendorff.alpha(reliability_data=np.stack([a, b]).astype(float),
                                    level_of_measurement="nominal"))


@dataclass(frozen=True)
class ClipAgreement:
    """How far two annotators agree on one clip (or, for ``overall``, on all of them)."""

    clip: str
    frames: int                    # frames compared for alpha (with a face when known)
    faces_known: bool              # False: no face data, every frame was compared
    alpha_speaking: float | None
    segments_a: int
    segments_b: int
    matched: int
    segment_f1: float | None
    onset_mae_ms: float | None
    offset_mae_ms: float | None
    # the raw material of the overall figures (not part of the report)
    _speaking: tuple[np.ndarray, np.ndarray] = field(default=(np.zeros(0, bool), np.zeros(0, bool)),
                                                      repr=False, compare=False)
    _errors_ms: tuple[tuple[float, float], ...] = field(default=(), repr=False, compare=False)

    def to_json(self) -> dict:
        """The report's fields as a JSON-ready dict."""
        return {
            "clip": self.clip, "frames": self.frames, "faces_known": self.faces_known,
            "alpha_speaking": _round(self.alpha_speaking), "segments_a": self.segments_a,
            "segments_b": self.segments_b, "matched": self.matched,
            "segment_f1": _round(self.segment_f1), "onset_mae_ms": _round(self.onset_mae_ms),
            "offset_mae_ms": _round(self.offset_mae_ms),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _mask(segments: Sequence[Segment], n_frames: int) -> np.ndarray:
    mask = np.zeros(n_frames, bool)      # (n_frames,)
    for seg in segments:
        mask[seg.onset: seg.offset + 1] = True
    return mask


def compare_clip(name: str, a: ClipAnnotations, b: ClipAnnotations, n_frames: int,
                 fps: Fraction | float, face_found: np.ndarray | None = None,
                 iou_threshold: float = IOU_THRESHOLD) -> ClipAgreement:
    """Agreement of annotators A (the reference) and B on one clip.

    Args:
        name: the clip's name.
        a, b: the two documents; only confirmed segments and speaking intervals count.
        n_frames: frames in the clip (segments past it are cut).
        fps: the frame rate (for the millisecond errors).
        face_found: ``(n_frames,)`` bool, the frames with a face; None: unknown (all count).
        iou_threshold: the IoU a pair of ME segments needs to match.
    """
    n_frames = int(n_frames)
    speak_a = _mask(a.confirmed_speaking(), n_frames)
    speak_b = _mask(b.confirmed_speaking(), n_frames)
    if face_found is not None:
        faces = np.asarray(face_found, bool)[:n_frames]
        faces = np.pad(faces, (0, n_frames - len(faces)))
        speak_a, speak_b = speak_a[faces], speak_b[faces]
    seg_a, seg_b = a.confirmed_segments(), b.confirmed_segments()
    pairs = match_segment_pairs([(s.onset, s.offset) for s in seg_b],
                                [(s.onset, s.offset) for s in seg_a], iou_threshold)
    ms = 1000.0 / float(fps)
    errors = tuple((abs(seg_a[j].onset - seg_b[i].onset) * ms, abs(seg_a[j].offset - seg_b[i].offset) * ms)
                   for i, j, _ in pairs)
    return _summary(name, (speak_a, speak_b), face_found is not None, len(seg_a), len(seg_b), errors)


def _summary(name: str, speaking: tuple[np.ndarray, np.ndarray], faces_known: bool,
             n_a: int, n_b: int, errors: tuple[tuple[float, float], ...]) -> ClipAgreement:
    matched = len(errors)
    return ClipAgreement(
        clip=name, frames=int(len(speaking[0])), faces_known=faces_known,
        alpha_speaking=alpha_nominal(speaking[0], speaking[1]),
        segments_a=n_a, segments_b=n_b, matched=matched,
        segment_f1=None if n_a + n_b == 0 else 2.0 * matched / (n_a + n_b),
        onset_mae_ms=float(np.mean([e[0] for e in errors])) if errors else None,
        offset_mae_ms=float(np.mean([e[1] for e in errors])) if errors else None,
        _speaking=speaking, _errors_ms=errors)


def overall(clips: Sequence[ClipAgreement]) -> ClipAgreement:
    """The figures over all ``clips``: frames pooled for alpha, counts and pairs summed."""
    speaking = (np.concatenate([c._speaking[0] for c in clips] or [np.zeros(0, bool)]),
                np.concatenate([c._speaking[1] for c in clips] or [np.zeros(0, bool)]))
    errors = tuple(e for c in clips for e in c._errors_ms)
    return _summary("(all clips)", speaking, bool(clips) and all(c.faces_known for c in clips),
                    sum(c.segments_a for c in clips), sum(c.segments_b for c in clips), errors)


@dataclass(frozen=True)
class AgreementReport:
    """Per-clip agreement and the overall figures; the clips only one side has."""

    name_a: str
    name_b: str
    clips: tuple[ClipAgreement, ...]
    overall: ClipAgreement
    only_a: tuple[str, ...] = ()
    only_b: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()      # "clip: why" for clips that could not be compared

    def to_json(self) -> dict:
        """The whole report as a JSON-ready dict (what ``--json`` writes)."""
        return {
            "format": "meldae-agreement", "version": 1, "a": self.name_a, "b": self.name_b,
            "iou_threshold": IOU_THRESHOLD, "overall": self.overall.to_json(),
            "clips": [c.to_json() for c in self.clips], "only_a": list(self.only_a),
            "only_b": list(self.only_b), "skipped": list(self.skipped),
        }


def format_report(report: AgreementReport) -> str:
    """The report as a text table (one row per clip, then the overall row)."""
    def cell(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    lines = [f"A (reference): {report.name_a}", f"B: {report.name_b}", "",
             f"{'clip':<28} {'frames':>7} {'alpha':>6} {'ME A':>5} {'ME B':>5} {'match':>5} "
             f"{'F1':>5} {'onset ms':>9} {'offset ms':>9}"]
    for c in (*report.clips, report.overall):
        lines.append(f"{c.clip[:28]:<28} {c.frames:>7} {cell(c.alpha_speaking, '.3f'):>6} "
                     f"{c.segments_a:>5} {c.segments_b:>5} {c.matched:>5} "
                     f"{cell(c.segment_f1, '.3f'):>5} {cell(c.onset_mae_ms, '.1f'):>9} "
                     f"{cell(c.offset_mae_ms, '.1f'):>9}")
    if not report.overall.faces_known:
        lines.append("alpha over every frame: no face data for some clips (score them first)")
    for label, names in (("only in A", report.only_a), ("only in B", report.only_b),
                         ("skipped", report.skipped)):
        if names:
            lines.append(f"{label}: {', '.join(names)}")
    return "\n".join(lines)
