"""Reading ELAN files: bad files named in errors, missing tiers, the sidecar, EAF 3.0
validity, files written by ELAN itself, and saving over them."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from meldae.annotations import (
    AnnotationError,
    ClipAnnotations,
    ReviewState,
    Segment,
    Source,
    TierNames,
    load_eaf,
    save_eaf,
    save_scores_csv,
    sidecar_path,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))   # eaf_samples (importlib mode)
from eaf_samples import doc as _doc, key as _key  # noqa: E402


EAF_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="" DATE="2020-01-01T00:00:00+00:00" FORMAT="3.0" VERSION="3.0">
<HEADER MEDIA_FILE="" TIME_UNITS="milliseconds"/>
<TIME_ORDER>{slots}</TIME_ORDER>
<TIER LINGUISTIC_TYPE_REF="lt" TIER_ID="ME">
<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a7" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts2">
<ANNOTATION_VALUE>x</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
</TIER>
<LINGUISTIC_TYPE LINGUISTIC_TYPE_ID="lt" TIME_ALIGNABLE="true"/>
</ANNOTATION_DOCUMENT>
"""


@pytest.mark.parametrize("slots, message", [
    ('<TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="100"/>', "annotation a7.*missing time slot 'ts2'"),
    ('<TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="500"/><TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="100"/>',
     "annotation a7.*before start"),
    ('<TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="-40"/><TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="100"/>',
     "time slot ts1: negative"),
    ('<TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="1e3"/><TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="100"/>',
     "time slot ts1.*not an integer"),
    ('<TIME_SLOT TIME_SLOT_ID="ts1"/><TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="100"/>',
     "annotation a7.*unaligned time slot ts1"),
])
def test_bad_files_name_file_and_element(tmp_path, slots, message):
    path = tmp_path / "bad.eaf"
    path.write_text(EAF_TEMPLATE.format(slots=slots), encoding="utf-8")
    with pytest.raises(AnnotationError, match=message) as info:
        load_eaf(path, 25)
    assert str(path) in str(info.value)


def test_malformed_xml_and_missing_file(tmp_path):
    path = tmp_path / "broken.eaf"
    path.write_text("<ANNOTATION_DOCUMENT><HEADER></ANNOTATION_DOCUMENT>", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"broken\.eaf: not well-formed XML"):
        load_eaf(path, 25)
    with pytest.raises(AnnotationError, match="absent.eaf: cannot read"):
        load_eaf(tmp_path / "absent.eaf", 25)
    (tmp_path / "other.eaf").write_text("<html/>", encoding="utf-8")
    with pytest.raises(AnnotationError, match="not an EAF"):
        load_eaf(tmp_path / "other.eaf", 25)


def test_missing_tiers_empty_unless_required(tmp_path):
    path = tmp_path / "only_me.eaf"
    slots = '<TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="400"/><TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="840"/>'
    path.write_text(EAF_TEMPLATE.format(slots=slots), encoding="utf-8")
    doc = load_eaf(path, 25)
    assert [(s.onset, s.offset, s.label) for s in doc.segments] == [(10, 20, "x")]
    assert doc.speaking == []
    with pytest.raises(AnnotationError, match="required tier 'Speaking' not found.*tiers: ME"):
        load_eaf(path, 25, require=("me", "speaking"))


def test_corrupt_sidecar_is_ignored(tmp_path, caplog):
    path = tmp_path / "clip.eaf"
    save_eaf(ClipAnnotations([Segment(1, 3, apex=2)], []), path, 25)
    sidecar_path(path).write_text("{not json", encoding="utf-8")
    assert load_eaf(path, 25).segments == [Segment(1, 3)]
    assert "ignoring unreadable sidecar" in caplog.text


def test_sidecar_content(tmp_path):
    path = tmp_path / "clip.eaf"
    save_eaf(ClipAnnotations([Segment(10, 20, apex=15, source=Source.PREDICTED,
                                      review=ReviewState.ACCEPTED, score=0.75)], []), path, 25)
    payload = json.loads(sidecar_path(path).read_text())
    assert payload["format"] == "meldae-annotations" and payload["eaf"] == "clip.eaf"
    assert payload["annotations"]["a1"] == {
        "tier": "ME", "start_ms": 400, "end_ms": 840, "value": "", "apex_ms": 600,
        "source": "predicted", "review": "accepted", "score": 0.75}


def test_custom_tier_names(tmp_path):
    names = TierNames(me="Micro", speaking="Talk", me_predicted="Micro?", speaking_predicted="Talk?")
    path = tmp_path / "c.eaf"
    save_eaf(_doc(), path, 50, tiers=names)
    assert {t.get("TIER_ID") for t in ET.parse(path).getroot().iter("TIER")} == {
        "Micro", "Talk", "Micro?", "Talk?"}
    assert len(load_eaf(path, 50, tiers=names).segments) == 5
    assert load_eaf(path, 50).segments == []                  # default names: no such tiers
    with pytest.raises(AnnotationError, match="distinct"):
        save_eaf(_doc(), path, 50, tiers=TierNames(me="X", speaking="X"))


def test_validates_against_eaf30_schema(tmp_path, shared_data):
    etree = pytest.importorskip("lxml.etree")
    xsd = shared_data / "elan" / "EAFv3.0.xsd"
    if not xsd.is_file():
        pytest.skip("EAFv3.0.xsd not present")
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    video = tmp_path / "v.mp4"
    video.write_bytes(b"")
    save_scores_csv(tmp_path / "s.csv", np.zeros(3), np.zeros(3), 25)
    for doc in (_doc(), ClipAnnotations([], [])):
        save_eaf(doc, tmp_path / "c.eaf", Fraction(24000, 1001), media_path=video,
                 scores_csv=tmp_path / "s.csv")
        tree = etree.parse(str(tmp_path / "c.eaf"))
        assert schema.validate(tree), schema.error_log


def test_reads_elan_written_files(shared_data):
    for name in ("sample_3.0.eaf", "sample_2.7.eaf"):
        path = shared_data / "elan" / name
        doc = load_eaf(path, Fraction(25), TierNames(me="gestures", speaking="text",
                                                     me_predicted="words-timesub",
                                                     speaking_predicted="words-symsub"))
        gestures = [s for s in doc.segments if s.source is Source.MANUAL]
        # gestures a4390: 1800-2400 ms -> frames 45..59 at 25 fps; value "prep"
        assert (gestures[0].onset, gestures[0].offset, gestures[0].label) == (45, 59, "prep")
        assert len(gestures) == 1197
        # text a1: 2000-5000 ms -> frames 50..124
        assert (doc.speaking[0].onset, doc.speaking[0].offset) == (50, 124)
        # words-timesub a410..a414 share unaligned slots between 8000 and 11000 ms:
        # ELAN spreads them evenly (600 ms each), a410 = 8000-8600 ms = frames 200..214
        words = {(s.onset, s.offset, s.label) for s in doc.segments if s.source is Source.PREDICTED}
        assert (200, 214, "The") in words and (260, 274, "003") in words
        # words-symsub (symbolic subdivision of text a1, 5 words): 600 ms each
        sym = [s for s in doc.speaking if s.source is Source.PREDICTED]
        assert [(s.onset, s.offset) for s in sym[:2]] == [(50, 64), (65, 79)]
    assert load_eaf(path, 25).segments == []          # default tiers absent: empty lists
    with pytest.raises(AnnotationError, match="required tier 'ME'"):
        load_eaf(path, 25, require=("me",))


def test_round_trip_through_elan_sample_tiers(tmp_path, shared_data):
    names = TierNames(me="gestures", speaking="text")
    doc = load_eaf(shared_data / "elan" / "sample_3.0.eaf", 25, names)
    save_eaf(doc, tmp_path / "copy.eaf", 25, tiers=names)
    again = load_eaf(tmp_path / "copy.eaf", 25, names)
    assert sorted(map(_key, again.segments)) == sorted(map(_key, doc.segments))
    assert sorted(map(_key, again.speaking)) == sorted(map(_key, doc.speaking))


def test_bad_fps(tmp_path):
    with pytest.raises(AnnotationError, match="1000 fps"):
        save_eaf(_doc(), tmp_path / "c.eaf", 2000)
    with pytest.raises(AnnotationError, match="bad frame rate"):
        save_eaf(_doc(), tmp_path / "c.eaf", -5)


def test_saving_over_an_elan_file_keeps_its_other_tiers(tmp_path, shared_data):
    from meldae.annotations.eaf_read import EafDocument

    original = shared_data / "elan" / "sample_3.0.eaf"
    path = tmp_path / "clip.eaf"
    path.write_bytes(original.read_bytes())
    doc = ClipAnnotations([Segment(10, 20, apex=12, label="happiness")], [Segment(0, 50)])
    save_eaf(doc, path, 25)
    before, after = EafDocument(original), EafDocument(path)
    assert after.tier_ids() == ["ME", "Speaking", *before.tier_ids()]
    for tier_id in before.tier_ids():
        assert after.annotations(tier_id) == before.annotations(tier_id), tier_id
    back = load_eaf(path, 25)
    assert [_key(s) for s in back.segments] == [_key(s) for s in doc.segments]
    root = ET.parse(path).getroot()
    ids = [a.get("ANNOTATION_ID") for a in root.iter() if a.get("ANNOTATION_ID")]
    assert len(ids) == len(set(ids))                                    # no id clash with ELAN's
    assert root.find("HEADER/MEDIA_DESCRIPTOR").get("MIME_TYPE") == "audio/x-wav"   # media kept
    assert len(root.findall("CONTROLLED_VOCABULARY")) == 5
    assert (tmp_path / "clip.eaf.1").read_bytes() == original.read_bytes()
    etree = pytest.importorskip("lxml.etree")
    schema = etree.XMLSchema(etree.parse(str(shared_data / "elan" / "EAFv3.0.xsd")))
    assert schema.validate(etree.parse(str(path))), schema.error_log
    save_eaf(doc, path, 25)                                            # saving again is stable
    assert EafDocument(path).tier_ids() == after.tier_ids()


def test_tiers_depending_on_rewritten_tiers_are_dropped(tmp_path, shared_data, caplog):
    from meldae.annotations.eaf_read import EafDocument

    path = tmp_path / "clip.eaf"
    path.write_bytes((shared_data / "elan" / "sample_3.0.eaf").read_bytes())
    names = TierNames(me="gestures", speaking="text")
    save_eaf(load_eaf(path, 25, names), path, 25, tiers=names)
    assert EafDocument(path).tier_ids() == ["gestures", "text"]
    assert "tier 'words-timesub' depends on a rewritten tier" in caplog.text
    save_eaf(ClipAnnotations([], []), path, 25, keep_other_tiers=False)
    assert EafDocument(path).tier_ids() == ["ME", "Speaking"]


def test_moved_media_is_relinked_not_duplicated(tmp_path):
    old, new = tmp_path / "old" / "v.mp4", tmp_path / "new" / "v.mp4"
    for p in (old, new):
        p.parent.mkdir()
        p.write_bytes(b"")
    path = tmp_path / "c.eaf"
    save_eaf(ClipAnnotations([], []), path, 25, media_path=old)
    save_eaf(ClipAnnotations([], []), path, 25)                       # app save without media
    media = ET.parse(path).getroot().findall("HEADER/MEDIA_DESCRIPTOR")
    assert [m.get("MEDIA_URL") for m in media] == [old.resolve().as_uri()]
    save_eaf(ClipAnnotations([], []), path, 25, media_path=new)
    media = ET.parse(path).getroot().findall("HEADER/MEDIA_DESCRIPTOR")
    assert [m.get("RELATIVE_MEDIA_URL") for m in media] == ["./new/v.mp4"]
