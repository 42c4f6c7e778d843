"""The ``<name>.meldae.json`` sidecar: app-only metadata that ELAN has no place for.

ELAN shows annotation values, so the EAF holds only what annotators expect there (the
label); apex, source, review state and model score of every segment, and the clip's
review state, live in a JSON file next to the EAF. Entries are keyed by annotation id and
also record the tier, interval (ms) and value: an annotation edited in ELAN after the
sidecar was written no longer matches and is read as ELAN left it. The EAF stays the truth;
``load_eaf`` works without the sidecar.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from meldae.annotations.files import atomic_write_bytes

log = logging.getLogger(__name__)

FORMAT = "meldae-annotations"
VERSION = 1


def sidecar_path(eaf_path: str | Path) -> Path:
    """``clip.eaf`` -> ``clip.meldae.json`` in the same folder."""
    eaf_path = Path(eaf_path)
    return eaf_path.with_name(f"{eaf_path.stem}.meldae.json")


@dataclass(frozen=True)
class SidecarEntry:
    """Metadata of one EAF annotation, with the key that must still match the EAF."""

    tier: str
    start_ms: int
    end_ms: int
    value: str
    apex_ms: int | None
    source: str
    review: str
    score: float | None
    annotator: str = ""          # who made or last edited the annotation


@dataclass(frozen=True)
class Sidecar:
    """The clip's review state and the metadata of each annotation, by annotation id.

    ``annotator`` is who saved the file (also the ME and Speaking tiers' ``ANNOTATOR``);
    ``provenance`` is free JSON describing where the content came from (an adjudication
    records both annotators, the adjudicator and each decision).
    """

    review: str
    entries: dict[str, SidecarEntry]
    annotator: str = ""
    provenance: dict | None = None

    def match(self, annotation_id: str, tier: str, start_ms: int, end_ms: int,
              value: str) -> SidecarEntry | None:
        """The entry for this annotation when it is unchanged since the sidecar was written."""
        entry = self.entries.get(annotation_id)
        if entry is None:
            return None
        if (entry.tier, entry.start_ms, entry.end_ms, entry.value) != (tier, start_ms, end_ms, value):
            return None
        return entry


def write_sidecar(eaf_path: Path, sidecar: Sidecar) -> None:
    """Write the sidecar of ``eaf_path`` atomically."""
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "eaf": eaf_path.name,
        "review": sidecar.review,
        "annotations": {
            ann_id: {
                "tier": e.tier, "start_ms": e.start_ms, "end_ms": e.end_ms, "value": e.value,
                "apex_ms": e.apex_ms, "source": e.source, "review": e.review, "score": e.score,
                **({"annotator": e.annotator} if e.annotator else {}),
            }
            for ann_id, e in sidecar.entries.items()
        },
    }
    if sidecar.annotator:
        payload["annotator"] = sidecar.annotator
    if sidecar.provenance:
        payload["provenance"] = sidecar.provenance
    text = json.dumps(payload, indent=1, ensure_ascii=False) + "\n"
    atomic_write_bytes(sidecar_path(eaf_path), text.encode("utf-8"))


def read_sidecar(eaf_path: Path) -> Sidecar | None:
    """The sidecar of ``eaf_path``, or None when absent or unreadable (logged)."""
    path = sidecar_path(eaf_path)
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("format") != FORMAT:
            raise ValueError(f"format is {payload.get('format')!r}, not {FORMAT!r}")
        entries = {
            str(ann_id): SidecarEntry(
                tier=str(e["tier"]), start_ms=int(e["start_ms"]), end_ms=int(e["end_ms"]),
                value=str(e["value"]),
                apex_ms=None if e.get("apex_ms") is None else int(e["apex_ms"]),
                source=str(e.get("source", "manual")), review=str(e.get("review", "unreviewed")),
                score=None if e.get("score") is None else float(e["score"]),
                annotator=str(e.get("annotator") or ""),
            )
            for ann_id, e in payload.get("annotations", {}).items()
        }
        provenance = payload.get("provenance")
        return Sidecar(review=str(payload.get("review", "unreviewed")), entries=entries,
                       annotator=str(payload.get("annotator") or ""),
                       provenance=provenance if isinstance(provenance, dict) else None)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("%s: ignoring unreadable sidecar (%s)", path, exc)
        return None
