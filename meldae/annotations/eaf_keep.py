"""Keeping what an existing EAF holds beyond our tiers when ``save_eaf`` rewrites it.

An annotator may add tiers in ELAN (notes, FACS codes, a transcript), link more media or
use controlled vocabularies. Rewriting the file must not lose them: every tier that is not
one of ours and does not depend on one of ours is carried over verbatim (its time slots
renumbered, its annotation ids kept), with the linguistic types, languages, locales,
controlled vocabularies, lexicon and external references, licences, media and linked files
and header properties of the old document. Tiers that depend on one of our tiers (their
annotations refer to annotations we renumber) cannot be kept; they are dropped with a
warning and remain in the ``.eaf.1`` backup.
"""

from __future__ import annotations

import copy
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

# Elements after the tiers, in the schema's order, that are carried over.
TRAILING_TAGS = ("LINGUISTIC_TYPE", "LOCALE", "LANGUAGE", "CONSTRAINT", "CONTROLLED_VOCABULARY",
                 "LEXICON_REF", "EXTERNAL_REF")
_ID_NUMBER = re.compile(r"(\d+)$")


@dataclass
class KeptContent:
    """What to carry over from the old document."""

    tiers: list[ET.Element] = field(default_factory=list)
    slots: list[tuple[str, int | None]] = field(default_factory=list)  # old id, value; old order
    trailing: dict[str, list[ET.Element]] = field(default_factory=dict)
    licenses: list[ET.Element] = field(default_factory=list)
    media: list[ET.Element] = field(default_factory=list)      # MEDIA_DESCRIPTOR
    linked: list[ET.Element] = field(default_factory=list)     # LINKED_FILE_DESCRIPTOR
    properties: list[ET.Element] = field(default_factory=list)
    max_annotation_number: int = 0


def _depends_on(tier_id: str, parents: dict[str, str | None], ours: set[str]) -> bool:
    seen: set[str] = set()
    current: str | None = tier_id
    while current is not None and current not in seen:
        if current in ours:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def read_kept_content(path: Path, our_tiers: set[str]) -> KeptContent | None:
    """The parts of the EAF at ``path`` to keep; None when there is no readable file."""
    if not path.is_file():
        return None
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        log.warning("%s: existing file unreadable (%s); it is kept as backup only", path, exc)
        return None
    if root.tag != "ANNOTATION_DOCUMENT":
        return None
    kept = KeptContent()
    tiers = root.findall("TIER")
    parents = {t.get("TIER_ID", ""): t.get("PARENT_REF") for t in tiers}
    used_slots: set[str] = set()
    for tier in tiers:
        tier_id = tier.get("TIER_ID", "")
        if tier_id in our_tiers:
            continue
        if _depends_on(tier_id, parents, our_tiers):
            log.warning("%s: tier %r depends on a rewritten tier and is dropped (see %s.1)",
                        path, tier_id, path.name)
            continue
        kept.tiers.append(copy.deepcopy(tier))
        for ann in tier.iter():
            used_slots.update(v for k, v in ann.attrib.items() if k.startswith("TIME_SLOT_REF"))
            match = _ID_NUMBER.search(ann.get("ANNOTATION_ID", ""))
            if match:
                kept.max_annotation_number = max(kept.max_annotation_number, int(match.group(1)))
    for slot in root.iterfind("TIME_ORDER/TIME_SLOT"):
        slot_id = slot.get("TIME_SLOT_ID", "")
        if slot_id in used_slots:
            value = slot.get("TIME_VALUE")
            kept.slots.append((slot_id, int(value) if value is not None else None))
    for tag in TRAILING_TAGS:
        kept.trailing[tag] = [copy.deepcopy(e) for e in root.findall(tag)]
    if root.find("REF_LINK_SET") is not None:
        log.warning("%s: REF_LINK_SET elements are not kept", path)
    kept.licenses = [copy.deepcopy(e) for e in root.findall("LICENSE")]
    header = root.find("HEADER")
    if header is not None:
        kept.media = [copy.deepcopy(e) for e in header.findall("MEDIA_DESCRIPTOR")]
        kept.linked = [copy.deepcopy(e) for e in header.findall("LINKED_FILE_DESCRIPTOR")]
        kept.properties = [copy.deepcopy(e) for e in header.findall("PROPERTY")
                           if e.get("NAME") != "lastUsedAnnotationId"]
    return kept


def slot_sort_keys(slots: list[tuple[str, int | None]]) -> dict[str, tuple[int, int]]:
    """Sort keys that place unaligned slots right after the aligned slot before them."""
    keys: dict[str, tuple[int, int]] = {}
    last, run = 0, 0
    for slot_id, value in slots:
        if value is not None:
            last, run = value, 0
            keys[slot_id] = (value, 0)
        else:
            run += 1
            keys[slot_id] = (last, run)
    return keys
