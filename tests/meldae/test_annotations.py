"""ELAN round trips, EAF 3.0 validity, ELAN-written files, errors, backups and score CSVs."""

from __future__ import annotations

import json
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
    load_scores_csv,
    save_eaf,
    save_scores_csv,
    sidecar_path,
)

RATES = [Fraction(24000, 1001), Fraction(25), Fraction(30000, 1001), Fraction(30),
         Fraction(50), Fraction(60000, 1001), Fraction(60)]


def _doc() -> ClipAnnotations:
    return ClipAnnotations(
        segments=[
            Segment(10, 20, apex=15, label="happiness"),
            Segment(0, 0, label="one frame"),                      # zero-length in pympi's eyes
            Segment(np.int64(40), np.int64(47), source=Source.PREDICTED, score=0.8125,
                    review=ReviewState.ACCEPTED),
            Segment(60, 70, apex=61, source=Source.PREDICTED, score=0.5),
            Segment(80, 85, source=Source.PREDICTED, review=ReviewState.REJECTED, score=0.25),
        ],
        speaking=[Segment(5, 30), Segment(100, 150, source=Source.PREDICTED)],
        review=ReviewState.ACCEPTED,
    )


def _key(seg: Segment):
    return (seg.onset, seg.offset, seg.apex, seg.label, seg.source, seg.review, seg.score)


def structural_check(path: Path) -> ET.Element:
    """What the EAF 3.0 schema demands of our files, checked without the XSD."""
    root = ET.parse(path).getroot()
    assert root.tag == "ANNOTATION_DOCUMENT"
    assert root.get("FORMAT") == "3.0" and root.get("VERSION") == "3.0"
    assert root.get("AUTHOR") is not None and root.get("DATE")
    xsi = "{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation"
    assert root.get(xsi) == "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"
    order = [child.tag for child in root]
    expected = ["HEADER", "TIME_ORDER", "TIER", "LINGUISTIC_TYPE", "LOCALE", "CONSTRAINT"]
    assert [tag for i, tag in enumerate(order) if i == 0 or order[i - 1] != tag] == expected
    assert root.find("HEADER").get("TIME_UNITS") == "milliseconds"
    slots = {s.get("TIME_SLOT_ID"): int(s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")}
    assert len(slots) == len(root.findall("TIME_ORDER/TIME_SLOT"))          # unique ids
    values = [int(s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")]
    assert values == sorted(values)
    types = {lt.get("LINGUISTIC_TYPE_ID") for lt in root.iter("LINGUISTIC_TYPE")}
    assert len(types) == 1
    ids = set()
    for tier in root.iter("TIER"):
        assert tier.get("LINGUISTIC_TYPE_REF") in types
        assert tier.get("TIER_ID") not in {"default"}
        for ann in tier.iter("ALIGNABLE_ANNOTATION"):
            assert slots[ann.get("TIME_SLOT_REF1")] < slots[ann.get("TIME_SLOT_REF2")]
            assert ann.get("ANNOTATION_ID") not in ids
            ids.add(ann.get("ANNOTATION_ID"))
    assert {c.get("STEREOTYPE") for c in root.iter("CONSTRAINT")} == {
        "Time_Subdivision", "Symbolic_Subdivision", "Symbolic_Association", "Included_In"}
    return root


@pytest.mark.parametrize("fps", RATES, ids=[f"{float(r):.3f}" for r in RATES])
def test_round_trip_is_lossless_at_common_rates(tmp_path, fps):
    doc = _doc()
    path = tmp_path / "clip.eaf"
    save_eaf(doc, path, fps)
    back = load_eaf(path, fps)
    assert sorted(map(_key, back.segments)) == sorted(map(_key, doc.segments))
    assert sorted(map(_key, back.speaking)) == sorted(map(_key, doc.speaking))
    assert back.review is ReviewState.ACCEPTED
    structural_check(path)


def test_many_segments_round_trip_frames_exactly(tmp_path):
    fps = Fraction(30000, 1001)
    segs = [Segment(i * 37, i * 37 + (i % 5)) for i in range(2000)]
    save_eaf(ClipAnnotations(segs, []), tmp_path / "c.eaf", fps)
    sidecar_path(tmp_path / "c.eaf").unlink()
    back = load_eaf(tmp_path / "c.eaf", fps)
    assert [(s.onset, s.offset) for s in back.segments] == [(s.onset, s.offset) for s in segs]


def test_tier_layout_and_values_elan_users_see(tmp_path):
    path = tmp_path / "clip.eaf"
    save_eaf(_doc(), path, Fraction(25))
    root = structural_check(path)
    slots = {s.get("TIME_SLOT_ID"): int(s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")}
    tiers = {t.get("TIER_ID"): [(slots[a.get("TIME_SLOT_REF1")], slots[a.get("TIME_SLOT_REF2")],
                                 a.findtext("ANNOTATION_VALUE"))
                                for a in t.iter("ALIGNABLE_ANNOTATION")] for t in root.iter("TIER")}
    # 25 fps: frame i starts at 40*i ms; (10, 20) -> [400, 840)
    assert tiers["ME"] == [(0, 40, "one frame"), (400, 840, "happiness"), (1600, 1920, "")]
    assert tiers["ME (predicted)"] == [(2400, 2840, ""), (3200, 3440, "")]
    assert tiers["Speaking"] == [(200, 1240, "")]
    assert tiers["Speaking (predicted)"] == [(4000, 6040, "")]


def test_load_without_sidecar_keeps_frames_and_labels(tmp_path):
    path = tmp_path / "clip.eaf"
    save_eaf(_doc(), path, Fraction(30))
    sidecar_path(path).unlink()
    back = load_eaf(path, Fraction(30))
    me = [(s.onset, s.offset, s.label, s.source) for s in back.segments]
    assert me == [(0, 0, "one frame", Source.MANUAL), (10, 20, "happiness", Source.MANUAL),
                  (40, 47, "", Source.MANUAL), (60, 70, "", Source.PREDICTED),
                  (80, 85, "", Source.PREDICTED)]
    assert all(s.apex is None and s.score is None for s in back.segments)
    assert back.review is ReviewState.UNREVIEWED


def test_annotation_edited_in_elan_drops_stale_metadata(tmp_path):
    path = tmp_path / "clip.eaf"
    save_eaf(ClipAnnotations([Segment(10, 20, apex=12), Segment(30, 40, apex=35)], []), path, 25)
    text = path.read_text(encoding="utf-8").replace('TIME_VALUE="840"', 'TIME_VALUE="880"')
    path.write_text(text, encoding="utf-8")          # annotator moved the first offset in ELAN
    back = load_eaf(path, 25)
    assert [(s.onset, s.offset, s.apex) for s in back.segments] == [(10, 21, None), (30, 40, 35)]


def test_predicted_argument_goes_to_predicted_tiers(tmp_path):
    pred = ClipAnnotations([Segment(3, 9, score=0.9)], [Segment(0, 50)])
    save_eaf(ClipAnnotations([], []), tmp_path / "p.eaf", 30, predicted=pred)
    back = load_eaf(tmp_path / "p.eaf", 30)
    assert [(s.onset, s.offset, s.source, s.score) for s in back.segments] == [(3, 9, Source.PREDICTED, 0.9)]
    assert back.confirmed_segments() == []
    assert back.speaking_mask(60).sum() == 0     # predicted speaking is not ground truth


def test_masks_use_confirmed_segments_only():
    doc = _doc()
    mask = doc.me_mask(50)
    assert mask.dtype == bool and mask.shape == (50,)
    assert np.flatnonzero(mask).tolist() == [0, *range(10, 21), *range(40, 48)]
    assert np.flatnonzero(doc.speaking_mask(200)).tolist() == list(range(5, 31))


def test_segment_validation():
    with pytest.raises(ValueError):
        Segment(5, 4)
    with pytest.raises(ValueError):
        Segment(-1, 4)
    with pytest.raises(ValueError):
        Segment(1, 4, apex=7)
    with pytest.raises(ValueError):
        Segment(1.5, 4)
    seg = Segment(np.int32(3), np.float64(4.0))
    assert type(seg.onset) is int and type(seg.offset) is int and seg.offset == 4


def test_media_and_scores_links(tmp_path):
    video = tmp_path / "media" / "clip one.mp4"
    video.parent.mkdir()
    video.write_bytes(b"")
    csv_path = tmp_path / "clip.scores.csv"
    save_scores_csv(csv_path, np.array([0.0, 0.5, 1.0]), np.array([1.0, 0.25, 0.0]), 30)
    save_eaf(_doc(), tmp_path / "clip.eaf", 30, media_path=video, scores_csv=csv_path)
    header = structural_check(tmp_path / "clip.eaf").find("HEADER")
    media = header.find("MEDIA_DESCRIPTOR")
    assert media.get("MEDIA_URL") == video.resolve().as_uri()
    assert media.get("MEDIA_URL").startswith("file:///") and "clip%20one.mp4" in media.get("MEDIA_URL")
    assert media.get("RELATIVE_MEDIA_URL") == "./media/clip one.mp4"
    assert media.get("MIME_TYPE") == "video/mp4"
    link = header.find("LINKED_FILE_DESCRIPTOR")
    assert link.get("RELATIVE_LINK_URL") == "./clip.scores.csv"
    assert link.get("MIME_TYPE") == "text/plain"


def test_scores_csv_layout_and_round_trip(tmp_path):
    path = tmp_path / "s.csv"
    fps = Fraction(30000, 1001)
    save_scores_csv(path, np.array([0.1, 0.2, 0.3, 0.4], np.float32), np.array([1, 0, 1, 0]), fps)
    lines = path.read_text().splitlines()
    assert lines[0] == "time_s,me_score,speaking_score"
    assert lines[1:3] == ["0.000,0.100000,1.000000", "0.033,0.200000,0.000000"]
    assert lines[3].startswith("0.067,")                    # frame 2 starts at 66.73 ms
    loc, state = load_scores_csv(path, fps)
    np.testing.assert_allclose(loc, [0.1, 0.2, 0.3, 0.4], atol=1e-6)
    np.testing.assert_array_equal(state, [1, 0, 1, 0])
    save_scores_csv(path, np.zeros(2), None, 25)
    assert path.read_text().splitlines() == ["time_s,me_score", "0.000,0.000000", "0.040,0.000000"]
    with pytest.raises(AnnotationError, match="equally long"):
        save_scores_csv(path, np.zeros(3), np.zeros(2), 25)


def test_rotating_backups_newest_first(tmp_path):
    path = tmp_path / "clip.eaf"
    for n in range(1, 6):
        save_eaf(ClipAnnotations([Segment(n, n + 1)], []), path, 25, backups=3)
    assert load_eaf(path, 25).segments[0].onset == 5
    onsets = [load_eaf(tmp_path / f"clip.eaf.{i}", 25).segments[0].onset for i in (1, 2, 3)]
    assert onsets == [4, 3, 2]
    assert not (tmp_path / "clip.eaf.4").exists()
    assert not (tmp_path / "clip.eaf.bak").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []   # no temp left


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "clip.eaf"
    save_eaf(ClipAnnotations([Segment(1, 2)], []), path, 25, backups=0)
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("meldae.atomic.os.replace", broken)
    with pytest.raises(AnnotationError, match="clip.eaf"):
        save_eaf(ClipAnnotations([Segment(5, 9)], []), path, 25, backups=0)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.eaf", "clip.meldae.json"]


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
