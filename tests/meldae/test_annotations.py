"""ELAN round trips, tiers, sidecar, masks, media links, backups and score CSVs (reading
bad and ELAN-written files: test_eaf_files.py)."""

from __future__ import annotations

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
    load_eaf,
    load_scores_csv,
    save_eaf,
    save_scores_csv,
    sidecar_path,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))   # eaf_samples (importlib mode)
from eaf_samples import doc as _doc, key as _key  # noqa: E402

RATES = [Fraction(24000, 1001), Fraction(25), Fraction(30000, 1001), Fraction(30),
         Fraction(50), Fraction(60000, 1001), Fraction(60)]


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


