"""The ME tiers' controlled vocabulary in an EAF file (see :mod:`meldae.review.vocabulary`).

ELAN links a vocabulary to a tier through the tier's linguistic type
(``LINGUISTIC_TYPE/@CONTROLLED_VOCABULARY_REF``). Written as ELAN 3.0 writes it: a
multilingual ``CONTROLLED_VOCABULARY`` whose ``CV_ENTRY_ML/CVE_VALUE`` elements refer to a
``LANGUAGE`` (``eng``). Read from either that form or the older ``CV_ENTRY`` one.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from meldae.review.vocabulary import CV_ID

ME_LINGUISTIC_TYPE_ID = "me-labels-lt"
LANG_ID = "eng"
LANG_DEF = "http://cdb.iso.org/lg/CDB-00138502-001"   # ELAN's own definition of English


def read_vocabulary(root: ET.Element, tier_id: str) -> tuple[str, ...]:
    """The values of the vocabulary linked to tier ``tier_id`` (empty when none)."""
    tier = next((t for t in root.iter("TIER") if t.get("TIER_ID") == tier_id), None)
    if tier is None:
        return ()
    type_id = tier.get("LINGUISTIC_TYPE_REF")
    ling = next((t for t in root.iter("LINGUISTIC_TYPE")
                 if t.get("LINGUISTIC_TYPE_ID") == type_id), None)
    cv_id = ling.get("CONTROLLED_VOCABULARY_REF") if ling is not None else None
    if not cv_id:
        return ()
    cv = next((c for c in root.iter("CONTROLLED_VOCABULARY") if c.get("CV_ID") == cv_id), None)
    if cv is None:
        return ()
    values = [(entry.findtext("CVE_VALUE") or "").strip() for entry in cv.iter("CV_ENTRY_ML")]
    values += [(entry.text or "").strip() for entry in cv.iter("CV_ENTRY")]
    return tuple(v for v in values if v)


def linguistic_type() -> ET.Element:
    """The linguistic type of the ME tiers, linked to the vocabulary."""
    return ET.Element("LINGUISTIC_TYPE", {
        "CONTROLLED_VOCABULARY_REF": CV_ID, "GRAPHIC_REFERENCES": "false",
        "LINGUISTIC_TYPE_ID": ME_LINGUISTIC_TYPE_ID, "TIME_ALIGNABLE": "true"})


def language() -> ET.Element:
    """The ``LANGUAGE`` the vocabulary's values refer to."""
    return ET.Element("LANGUAGE", {"LANG_DEF": LANG_DEF, "LANG_ID": LANG_ID,
                                   "LANG_LABEL": "English (eng)"})


def vocabulary_element(entries: tuple[str, ...],
                       description: str = "Micro-expression labels") -> ET.Element:
    """The ``CONTROLLED_VOCABULARY`` element holding ``entries``."""
    cv = ET.Element("CONTROLLED_VOCABULARY", CV_ID=CV_ID)
    ET.SubElement(cv, "DESCRIPTION", LANG_REF=LANG_ID).text = description
    for k, value in enumerate(entries, start=1):
        entry = ET.SubElement(cv, "CV_ENTRY_ML", CVE_ID=f"cveid_me_{k}")
        ET.SubElement(entry, "CVE_VALUE", LANG_REF=LANG_ID).text = value
    return cv
