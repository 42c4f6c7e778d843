"""Writing EAF 3.0 documents (valid against ELAN's EAFv3.0.xsd) with xml.etree.

Written by hand rather than through pympi-ling, which writes format 2.8, rejects numpy
numbers and zero-length annotations, adds a ``default`` tier and renames the old file.
"""

from __future__ import annotations

import mimetypes
import os
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from meldae.annotations.eaf_keep import KeptContent, slot_sort_keys
from meldae.annotations.eaf_read import RawAnnotation
from meldae.annotations import eaf_vocabulary

XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_URL = "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"
LINGUISTIC_TYPE_ID = "default-lt"
AUTHOR = "MELDAE Studio"

# The four stereotypes every ELAN-written document declares, with ELAN's own wording.
CONSTRAINTS = (
    ("Time_Subdivision", "Time subdivision of parent annotation's time interval, "
     "no time gaps allowed within this interval"),
    ("Symbolic_Subdivision", "Symbolic subdivision of a parent annotation. "
     "Annotations refering to the same parent are ordered"),
    ("Symbolic_Association", "1-1 association with a parent annotation"),
    ("Included_In", "Time alignable annotations within the parent annotation's time interval, "
     "gaps are allowed"),
)

_VIDEO_MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
               ".avi": "video/x-msvideo", ".mkv": "video/x-matroska", ".mpg": "video/mpeg",
               ".mpeg": "video/mpeg", ".webm": "video/webm", ".wav": "audio/x-wav"}


def relative_url(target: Path, eaf_path: Path) -> str:
    """``target`` relative to the EAF's folder, as ELAN writes it (``./x.mp4``, ``../a/x.mp4``)."""
    try:
        rel = Path(os.path.relpath(target.resolve(), eaf_path.resolve().parent)).as_posix()
    except ValueError:  # another drive on Windows
        return target.resolve().as_uri()
    return rel if rel.startswith("../") else f"./{rel}"


def _basename(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _header(root: ET.Element, eaf_path: Path, media_path: Path | None,
            linked: list[Path], last_id: int, kept: KeptContent) -> None:
    header = ET.SubElement(root, "HEADER", MEDIA_FILE="", TIME_UNITS="milliseconds")
    media_url = media_path.resolve().as_uri() if media_path is not None else None
    if media_path is not None:
        mime = _VIDEO_MIME.get(media_path.suffix.lower()) or mimetypes.guess_type(media_path.name)[0]
        ET.SubElement(header, "MEDIA_DESCRIPTOR", {
            "MEDIA_URL": media_url,
            "MIME_TYPE": mime or "unknown",
            "RELATIVE_MEDIA_URL": relative_url(media_path, eaf_path),
        })
    # an old descriptor of the same file (moved since) is replaced, others are kept
    header.extend(e for e in kept.media if media_path is None
                  or _basename(e.get("MEDIA_URL", "")) != _basename(media_url or ""))
    link_urls = set()
    for link in linked:
        link_urls.add(link.resolve().as_uri())
        ET.SubElement(header, "LINKED_FILE_DESCRIPTOR", {
            "LINK_URL": link.resolve().as_uri(),
            "MIME_TYPE": "text/plain",
            "RELATIVE_LINK_URL": relative_url(link, eaf_path),
        })
    link_names = {_basename(url) for url in link_urls}
    header.extend(e for e in kept.linked if _basename(e.get("LINK_URL", "")) not in link_names)
    header.extend(kept.properties)
    prop = ET.SubElement(header, "PROPERTY", NAME="lastUsedAnnotationId")
    prop.text = str(last_id)


def _time_order(root: ET.Element, tiers: list[tuple[str, list[RawAnnotation]]],
                kept: KeptContent) -> tuple[dict[int, str], dict[str, str]]:
    """TIME_ORDER with unique ids in time order; returns our boundary -> id, old id -> id."""
    ours = [ms for _, anns in tiers for ann in anns for ms in (ann.start_ms, ann.end_ms)]
    foreign_keys = slot_sort_keys(kept.slots)
    items = [((ms, 0), 0, i, ms) for i, ms in enumerate(ours)]
    items += [(foreign_keys[old], 1, i, value) for i, (old, value) in enumerate(kept.slots)]
    items.sort(key=lambda item: item[:3])
    time_order = ET.SubElement(root, "TIME_ORDER")
    our_ids: dict[int, str] = {}
    old_ids: dict[str, str] = {}
    for rank, (_, group, i, value) in enumerate(items, start=1):
        slot_id = f"ts{rank}"
        if group == 0:
            our_ids[i] = slot_id
        else:
            old_ids[kept.slots[i][0]] = slot_id
        attrs = {"TIME_SLOT_ID": slot_id}
        if value is not None:
            attrs["TIME_VALUE"] = str(int(value))
        ET.SubElement(time_order, "TIME_SLOT", attrs)
    return our_ids, old_ids


def build_eaf(tiers: list[tuple[str, list[RawAnnotation]]], eaf_path: Path,
              media_path: Path | None = None, linked: list[Path] | None = None,
              kept: KeptContent | None = None,
              tier_annotators: dict[str, str] | None = None, vocabulary: tuple[str, ...] = (),
              vocabulary_tiers: frozenset[str] = frozenset()) -> bytes:
    """The bytes of an EAF 3.0 document holding ``tiers`` (name, annotations in ms).

    Every annotation gets two time slots of its own (unique ids, ordered by time); times
    must already be non-negative ints with ``start_ms < end_ms``. ``kept`` carries content
    of the file being replaced (other tiers, vocabularies, media; see ``eaf_keep``).
    ``tier_annotators`` gives tiers an ``ANNOTATOR`` attribute (tier id -> name).
    ``vocabulary`` (non-empty) is written as the controlled vocabulary of the tiers named in
    ``vocabulary_tiers`` (see ``eaf_vocabulary``).
    """
    kept = kept or KeptContent()
    ET.register_namespace("xsi", XSI)
    root = ET.Element("ANNOTATION_DOCUMENT", {
        "AUTHOR": AUTHOR,
        "DATE": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "FORMAT": "3.0",
        "VERSION": "3.0",
        f"{{{XSI}}}noNamespaceSchemaLocation": SCHEMA_URL,
    })
    root.extend(kept.licenses)
    numbers = [int(m.group(1)) for _, anns in tiers for a in anns
               if (m := re.search(r"(\d+)$", a.annotation_id))]
    _header(root, eaf_path, media_path, linked or [], max([kept.max_annotation_number, *numbers]), kept)
    our_ids, old_ids = _time_order(root, tiers, kept)

    k = 0
    for tier_id, anns in tiers:
        type_id = (eaf_vocabulary.ME_LINGUISTIC_TYPE_ID
                   if vocabulary and tier_id in vocabulary_tiers else LINGUISTIC_TYPE_ID)
        attrs = {"LINGUISTIC_TYPE_REF": type_id, "TIER_ID": tier_id}
        if (tier_annotators or {}).get(tier_id):
            attrs["ANNOTATOR"] = tier_annotators[tier_id]
        tier = ET.SubElement(root, "TIER", attrs)
        for ann in anns:
            wrapper = ET.SubElement(tier, "ANNOTATION")
            elem = ET.SubElement(wrapper, "ALIGNABLE_ANNOTATION", {
                "ANNOTATION_ID": ann.annotation_id,
                "TIME_SLOT_REF1": our_ids[2 * k],
                "TIME_SLOT_REF2": our_ids[2 * k + 1],
            })
            ET.SubElement(elem, "ANNOTATION_VALUE").text = ann.value
            k += 1
    for tier in kept.tiers:
        for elem in tier.iter("ALIGNABLE_ANNOTATION"):
            for attr in ("TIME_SLOT_REF1", "TIME_SLOT_REF2"):
                elem.set(attr, old_ids[elem.get(attr)])
        root.append(tier)
    _trailing(root, kept, vocabulary)
    ET.indent(root, space="    ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def _trailing(root: ET.Element, kept: KeptContent, vocabulary: tuple[str, ...] = ()) -> None:
    """Linguistic types ... external references, in the schema's order."""
    from meldae.review.vocabulary import CV_ID

    ET.SubElement(root, "LINGUISTIC_TYPE", GRAPHIC_REFERENCES="false",
                  LINGUISTIC_TYPE_ID=LINGUISTIC_TYPE_ID, TIME_ALIGNABLE="true")
    ours = {LINGUISTIC_TYPE_ID}
    if vocabulary:
        root.append(eaf_vocabulary.linguistic_type())
        ours.add(eaf_vocabulary.ME_LINGUISTIC_TYPE_ID)
    old = kept.trailing
    root.extend(e for e in old.get("LINGUISTIC_TYPE", []) if e.get("LINGUISTIC_TYPE_ID") not in ours)
    if old.get("LOCALE"):
        root.extend(old["LOCALE"])
    else:
        ET.SubElement(root, "LOCALE", COUNTRY_CODE="US", LANGUAGE_CODE="en")
    languages = old.get("LANGUAGE", [])
    root.extend(languages)
    if vocabulary and not any(e.get("LANG_ID") == eaf_vocabulary.LANG_ID for e in languages):
        root.append(eaf_vocabulary.language())
    for stereotype, description in CONSTRAINTS:
        ET.SubElement(root, "CONSTRAINT", DESCRIPTION=description, STEREOTYPE=stereotype)
    if vocabulary:
        root.append(eaf_vocabulary.vocabulary_element(vocabulary))
    # our vocabulary replaces the old file's (the annotator edited it); others are kept
    root.extend(e for e in old.get("CONTROLLED_VOCABULARY", [])
                if not (vocabulary and e.get("CV_ID") == CV_ID))
    for tag in ("LEXICON_REF", "EXTERNAL_REF"):
        root.extend(old.get(tag, []))
