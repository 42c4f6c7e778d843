"""Reading what can be read from a damaged EAF file, and saying what could not.

``load_eaf`` refuses a file with one bad time slot, and rightly: a clip that opens empty
would look like a clip without annotations, and the next save would overwrite the
annotator's work. When the strict read fails, the app offers :func:`salvage_eaf` instead:
every annotation of the ME and speaking tiers whose times resolve is kept, and every
element that had to be skipped is listed in words (``SalvageReport.skipped``), so the user
can decide between this and starting empty. XML that is not even well-formed is parsed in
lxml's recovering mode when lxml is installed; without it nothing can be salvaged from such
a file.

The damaged file itself is never changed here; :func:`keep_unreadable` copies it beside the
clip under a name that backup rotation never touches.
"""

from __future__ import annotations

import datetime as _dt
import logging
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from meldae.annotations.eaf import segment_from_raw
from meldae.annotations.eaf_read import RawAnnotation
from meldae.annotations.eaf_vocabulary import read_vocabulary
from meldae.annotations.model import AnnotationError, ClipAnnotations, Segment, TierNames
from meldae.annotations.sidecar import read_sidecar
from meldae.timebase import as_fps

log = logging.getLogger(__name__)

UNREADABLE_MARK = "unreadable"


@dataclass
class SalvageReport:
    """What :func:`salvage_eaf` recovered, and what it skipped (one sentence each)."""

    annotations: ClipAnnotations
    skipped: list[str] = field(default_factory=list)

    @property
    def n_kept(self) -> int:
        """Annotations recovered (ME segments and speaking intervals)."""
        return len(self.annotations.segments) + len(self.annotations.speaking)


def _parse(path: Path, skipped: list[str]) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except OSError as exc:
        raise AnnotationError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ET.ParseError as exc:
        try:
            from lxml import etree
        except ImportError:
            raise AnnotationError(f"{path}: not well-formed XML ({exc}); nothing can be "
                                  "salvaged without lxml") from None
        recovered = etree.parse(str(path), etree.XMLParser(recover=True))
        if recovered.getroot() is None:
            raise AnnotationError(f"{path}: not well-formed XML ({exc}); nothing could be "
                                  "recovered") from None
        skipped.append(f"the XML is damaged ({exc}); parts after the damage may be missing")
        return ET.fromstring(etree.tostring(recovered.getroot()))


def _slots(root: ET.Element, skipped: list[str]) -> dict[str, int]:
    slots: dict[str, int] = {}
    for slot in root.iterfind("TIME_ORDER/TIME_SLOT"):
        slot_id, text = slot.get("TIME_SLOT_ID"), slot.get("TIME_VALUE")
        if not slot_id or text is None:
            continue   # unaligned slots: the annotations using them are skipped below
        try:
            value = int(text)
        except ValueError:
            skipped.append(f"time slot {slot_id}: TIME_VALUE {text!r} is not an integer")
            continue
        if value < 0:
            skipped.append(f"time slot {slot_id}: negative time {value} ms")
            continue
        slots[slot_id] = value
    return slots


def _tier_annotations(tier: ET.Element, slots: dict[str, int],
                      skipped: list[str]) -> list[RawAnnotation]:
    tier_id = tier.get("TIER_ID", "?")
    result = []
    for elem in tier.iter("ANNOTATION"):
        ann = elem.find("ALIGNABLE_ANNOTATION")
        if ann is None:
            skipped.append(f"tier {tier_id!r}: a reference annotation (not time-aligned)")
            continue
        ann_id = ann.get("ANNOTATION_ID") or "?"
        refs = (ann.get("TIME_SLOT_REF1"), ann.get("TIME_SLOT_REF2"))
        missing = [r for r in refs if r not in slots]
        value = (ann.findtext("ANNOTATION_VALUE") or "").strip()
        where = f"annotation {ann_id} (tier {tier_id!r}{', ' + repr(value) if value else ''})"
        if missing:
            skipped.append(f"{where}: time slot {missing[0]} is missing or unreadable")
            continue
        start, end = slots[refs[0]], slots[refs[1]]
        if end < start:
            skipped.append(f"{where}: end {end} ms is before start {start} ms")
            continue
        result.append(RawAnnotation(ann_id, start, end, value))
    return sorted(result, key=lambda a: (a.start_ms, a.end_ms))


def salvage_eaf(path: str | Path, fps: Fraction | float | str,
                tiers: TierNames = TierNames()) -> SalvageReport:
    """Read every annotation of the ME and speaking tiers that can be read.

    Raises:
        AnnotationError: the file cannot be read at all (missing, or XML beyond repair).
    """
    path = Path(path)
    rate = as_fps(fps)
    skipped: list[str] = []
    root = _parse(path, skipped)
    if root.tag != "ANNOTATION_DOCUMENT":
        raise AnnotationError(f"{path}: root element is <{root.tag}>, not an EAF file")
    slots = _slots(root, skipped)
    try:
        sidecar = read_sidecar(path)
    except (OSError, ValueError) as exc:
        skipped.append(f"the sidecar {path.stem}.meldae.json ({exc})")
        sidecar = None
    by_id = {t.get("TIER_ID"): t for t in root.iter("TIER")}
    lists: dict[str, list[Segment]] = {}
    for name in ("me", "speaking", "me_predicted", "speaking_predicted"):
        tier_id = getattr(tiers, name)
        raws = _tier_annotations(by_id[tier_id], slots, skipped) if tier_id in by_id else []
        lists[name] = []
        for raw in raws:
            try:
                lists[name].append(segment_from_raw(raw, tier_id, rate, name.endswith("_predicted"),
                                                    sidecar, path))
            except ValueError as exc:
                skipped.append(f"annotation {raw.annotation_id} (tier {tier_id!r}): {exc}")
    annotations = ClipAnnotations(
        segments=lists["me"] + lists["me_predicted"],
        speaking=lists["speaking"] + lists["speaking_predicted"],
        vocabulary=read_vocabulary(root, tiers.me))
    return SalvageReport(annotations, skipped)


def keep_unreadable(path: str | Path, now: _dt.datetime | None = None) -> Path:
    """Copy the damaged ``path`` beside it, untouched, as
    ``<stem>.unreadable-<UTC time>.eaf``; returns the copy.

    Backups rotate ``<name>.eaf.1 .. .3``; this name is outside that scheme, so no number of
    saves ever removes it.

    Raises:
        OSError: the copy could not be written.
    """
    path = Path(path)
    stamp = (now or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.stem}.{UNREADABLE_MARK}-{stamp}{path.suffix}")
    k = 1
    while target.exists():
        k += 1
        target = path.with_name(f"{path.stem}.{UNREADABLE_MARK}-{stamp}-{k}{path.suffix}")
    shutil.copy2(path, target)
    log.warning("%s: unreadable; kept untouched as %s", path, target)
    return target
