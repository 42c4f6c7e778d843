"""``load_eaf`` and ``save_eaf``: the clip document <-> an ELAN file (+ JSON sidecar).

Tier layout written (names from ``TierNames``):

- ``ME``: confirmed micro-expressions (manual, and predicted ones the annotator accepted);
  the annotation value is the label (e.g. ``micro:disgust``, or empty).
- ``Speaking``: confirmed speaking intervals.
- ``ME (predicted)`` / ``Speaking (predicted)``: model proposals not accepted (yet);
  written only when there are some.

Times follow the shared convention: a segment ``(onset, offset)`` is written as
``[frame_to_ms(onset), frame_to_ms(offset + 1))`` and read back as
``onset = ms_to_frame(start)``, ``offset = max(onset, ms_to_frame(end) - 1)``.

Missing tiers read as empty lists unless named in ``require`` (then ``AnnotationError``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from fractions import Fraction
from pathlib import Path

from meldae.annotations.eaf_keep import read_kept_content
from meldae.annotations.eaf_read import EafDocument, RawAnnotation
from meldae.annotations.eaf_vocabulary import read_vocabulary
from meldae.annotations.eaf_write import build_eaf
from meldae.annotations.files import atomic_write_bytes, rotate_backups
from meldae.annotations.model import (
    AnnotationError,
    ClipAnnotations,
    ReviewState,
    Segment,
    Source,
    TierNames,
)
from meldae.annotations.sidecar import Sidecar, SidecarEntry, read_sidecar, write_sidecar
from meldae.timebase import as_fps, frame_to_ms, ms_to_frame

log = logging.getLogger(__name__)

_TIER_FIELDS = ("me", "speaking", "me_predicted", "speaking_predicted")
_MAX_FPS = Fraction(1000)  # above this, distinct frames could share a millisecond


def _check_fps(fps: object, path: Path) -> Fraction:
    try:
        rate = as_fps(fps)  # type: ignore[arg-type]
    except (ValueError, TypeError, ZeroDivisionError) as exc:
        raise AnnotationError(f"{path}: bad frame rate {fps!r} ({exc})") from None
    if rate > _MAX_FPS:
        raise AnnotationError(f"{path}: frame rate {rate} is above 1000 fps; ELAN counts milliseconds")
    return rate


def _check_tiers(tiers: TierNames, path: Path) -> None:
    names = [getattr(tiers, f) for f in _TIER_FIELDS]
    if len(set(names)) != len(names) or not all(names):
        raise AnnotationError(f"{path}: tier names must be distinct and non-empty, got {names}")


def segment_from_raw(raw: RawAnnotation, tier: str, fps: Fraction, predicted: bool,
                     sidecar: Sidecar | None, path: Path, tier_annotator: str = "") -> Segment:
    """One annotation of tier ``tier`` as a segment in frames, with its sidecar metadata
    (apex, source, review, score, annotator) when the sidecar entry still matches the
    annotation; without one, the annotator is the tier's ``ANNOTATOR`` attribute (an
    annotation edited in ELAN)."""
    onset = ms_to_frame(raw.start_ms, fps)
    offset = max(onset, ms_to_frame(raw.end_ms, fps) - 1)
    entry = sidecar.match(raw.annotation_id, tier, raw.start_ms, raw.end_ms, raw.value) if sidecar else None
    if entry is None:
        source = Source.PREDICTED if predicted else Source.MANUAL
        return Segment(onset, offset, label=raw.value, source=source, annotator=tier_annotator)
    apex = None if entry.apex_ms is None else min(max(ms_to_frame(entry.apex_ms, fps), onset), offset)
    try:
        return Segment(onset, offset, apex=apex, label=raw.value, source=Source(entry.source),
                       review=ReviewState(entry.review), score=entry.score,
                       annotator=entry.annotator or tier_annotator)
    except ValueError as exc:
        log.warning("%s: annotation %s: ignoring bad sidecar entry (%s)", path, raw.annotation_id, exc)
        return Segment(onset, offset, label=raw.value, annotator=tier_annotator,
                       source=Source.PREDICTED if predicted else Source.MANUAL)


def load_eaf(path: str | Path, fps: Fraction | float | str, tiers: TierNames = TierNames(),
             require: Collection[str] = ()) -> ClipAnnotations:
    """Read a clip's annotations from an EAF file (any ELAN version) and its sidecar.

    Args:
        path: the ``.eaf`` file.
        fps: the video's frame rate (``Fraction`` preferred; floats such as 29.97 are
            recognised as NTSC rates).
        tiers: which tiers hold ME segments and speaking intervals.
        require: ``TierNames`` field names (``"me"``, ``"speaking"``, ...) whose tier must
            exist; other missing tiers read as empty lists.

    Returns:
        The document: ``segments`` = ME tier (manual) + predicted ME tier (predicted);
        ``speaking`` likewise. Sidecar metadata is applied to annotations unchanged since
        it was written.

    Raises:
        AnnotationError: unreadable or malformed file, missing time slot, reversed times,
            missing required tier (the message names the file and the element).
    """
    path = Path(path)
    rate = _check_fps(fps, path)
    _check_tiers(tiers, path)
    unknown = set(require) - set(_TIER_FIELDS)
    if unknown:
        raise ValueError(f"require: unknown tier fields {sorted(unknown)}; use {_TIER_FIELDS}")
    doc = EafDocument(path)
    sidecar = read_sidecar(path)
    lists: dict[str, list[Segment]] = {}
    for field_name in _TIER_FIELDS:
        tier_id = getattr(tiers, field_name)
        if tier_id not in doc.tiers:
            if field_name in require:
                raise AnnotationError(
                    f"{path}: required tier {tier_id!r} not found (tiers: {', '.join(doc.tier_ids()) or 'none'})")
            lists[field_name] = []
            continue
        predicted = field_name.endswith("_predicted")
        tier_annotator = doc.tiers[tier_id].get("ANNOTATOR", "")
        lists[field_name] = [segment_from_raw(raw, tier_id, rate, predicted, sidecar, path,
                                              tier_annotator)
                             for raw in doc.annotations(tier_id)]
    review = ReviewState.UNREVIEWED
    if sidecar is not None and sidecar.review in {r.value for r in ReviewState}:
        review = ReviewState(sidecar.review)
    return ClipAnnotations(
        segments=lists["me"] + lists["me_predicted"],
        speaking=lists["speaking"] + lists["speaking_predicted"],
        review=review,
        vocabulary=read_vocabulary(doc.root, tiers.me),
    )


def _route(segments: list[Segment], confirmed_tier: str, predicted_tier: str) -> dict[str, list[Segment]]:
    routed: dict[str, list[Segment]] = {confirmed_tier: [], predicted_tier: []}
    for seg in segments:
        routed[confirmed_tier if seg.confirmed else predicted_tier].append(seg)
    for tier in routed:
        routed[tier].sort(key=lambda s: (s.onset, s.offset))
    return routed


def _tier_contents(doc: ClipAnnotations, tiers: TierNames,
                   predicted: ClipAnnotations | None) -> list[tuple[str, list[Segment]]]:
    segments, speaking = list(doc.segments), list(doc.speaking)
    if predicted is not None:
        segments += [s.with_changes(source=Source.PREDICTED) for s in predicted.segments]
        speaking += [s.with_changes(source=Source.PREDICTED) for s in predicted.speaking]
    me = _route(segments, tiers.me, tiers.me_predicted)
    sp = _route(speaking, tiers.speaking, tiers.speaking_predicted)
    contents = [(tiers.me, me[tiers.me]), (tiers.speaking, sp[tiers.speaking])]
    for name, segs in ((tiers.me_predicted, me[tiers.me_predicted]),
                       (tiers.speaking_predicted, sp[tiers.speaking_predicted])):
        if segs:
            contents.append((name, segs))
    return contents


def save_eaf(doc: ClipAnnotations, path: str | Path, fps: Fraction | float | str,
             media_path: str | Path | None = None, tiers: TierNames = TierNames(),
             predicted: ClipAnnotations | None = None, scores_csv: str | Path | None = None,
             backups: int = 3, keep_other_tiers: bool = True,
             extra_tiers: Sequence[tuple[str, Sequence[Segment]]] = (),
             annotator: str = "", provenance: dict | None = None) -> None:
    """Write ``doc`` as an EAF 3.0 file plus its ``.meldae.json`` sidecar, atomically.

    Args:
        doc: the document; segments are routed to the ME tier when confirmed, else to the
            predicted ME tier (likewise for speaking).
        path: the ``.eaf`` file to write.
        fps: the video's frame rate.
        media_path: the video, linked as MEDIA_DESCRIPTOR (absolute and relative URL).
        tiers: tier names.
        predicted: extra model proposals, written as predicted (``source=PREDICTED``).
        scores_csv: a per-frame score CSV (``save_scores_csv``) linked as a secondary file.
        backups: how many previous versions to keep as ``path.1`` (newest) ... ``path.N``.
        keep_other_tiers: when ``path`` exists, carry over its other tiers, vocabularies,
            media and linked files (see ``meldae.annotations.eaf_keep``).
        extra_tiers: more tiers written as given, ``(name, segments)`` (e.g. ``Speaking
            (audio)`` from ``meldae infer --audio-vad``); each segment's source, review and
            score go to the sidecar; they replace tiers of the same name in the old file.
        annotator: who saves the file: the ``ANNOTATOR`` attribute of the ME and Speaking
            tiers and the sidecar's ``annotator`` (each segment's own ``annotator``, who
            made or last edited it, goes to its sidecar entry).
        provenance: JSON-ready description of where the content came from, kept in the
            sidecar (e.g. an adjudication's annotators and decisions).

    Raises:
        AnnotationError: bad frame rate or tier names, or the file cannot be written.
    """
    path = Path(path)
    rate = _check_fps(fps, path)
    _check_tiers(tiers, path)
    contents = _tier_contents(doc, tiers, predicted) + [(n, list(segs)) for n, segs in extra_tiers]
    ours = {getattr(tiers, f) for f in _TIER_FIELDS} | {n for n, _ in extra_tiers}
    kept = read_kept_content(path, ours) if keep_other_tiers else None
    first_id = kept.max_annotation_number + 1 if kept else 1
    raw_tiers: list[tuple[str, list[RawAnnotation]]] = []
    entries: dict[str, SidecarEntry] = {}
    for tier_id, segs in contents:
        raws = []
        for seg in segs:
            ann_id = f"a{first_id + len(entries)}"
            raw = RawAnnotation(ann_id, frame_to_ms(seg.onset, rate), frame_to_ms(seg.offset + 1, rate),
                                seg.label)
            raws.append(raw)
            entries[ann_id] = SidecarEntry(
                tier=tier_id, start_ms=raw.start_ms, end_ms=raw.end_ms, value=raw.value,
                apex_ms=None if seg.apex is None else frame_to_ms(seg.apex, rate),
                source=seg.source.value, review=seg.review.value, score=seg.score,
                annotator=seg.annotator)
        raw_tiers.append((tier_id, raws))
    linked = [Path(scores_csv)] if scores_csv is not None else []
    tier_annotators = {tiers.me: annotator, tiers.speaking: annotator} if annotator else {}
    data = build_eaf(raw_tiers, path, Path(media_path) if media_path else None, linked, kept,
                     tier_annotators, vocabulary=tuple(doc.vocabulary),
                     vocabulary_tiers=frozenset({tiers.me, tiers.me_predicted}))
    if not path.parent.is_dir():
        raise AnnotationError(f"{path}: folder {path.parent} does not exist")
    rotate_backups(path, backups)
    atomic_write_bytes(path, data)
    write_sidecar(path, Sidecar(review=ReviewState(doc.review).value, entries=entries,
                                annotator=annotator, provenance=provenance))
    log.debug("wrote %s (%d annotations)", path, len(entries))

