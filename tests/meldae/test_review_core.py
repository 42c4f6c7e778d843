"""The Qt-free review core: proposal navigation, bulk by stored score, recent projects,
the controlled vocabulary (in the EAF too), apex round trip, and salvaging damaged EAFs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest

from meldae.annotations import (
    AnnotationError, AnnotationSet, ClipAnnotations, ReviewState, Segment, Source, load_eaf,
    save_eaf,
)
from meldae.annotations.eaf_salvage import keep_unreadable, salvage_eaf
from meldae.review import (
    PRESETS, RecentPaths, Vocabulary, neighbour_unreviewed, pick_by_score, proposal_scores,
)

FPS = Fraction(30)


def _set() -> AnnotationSet:
    P, U, A, R = Source.PREDICTED, ReviewState.UNREVIEWED, ReviewState.ACCEPTED, ReviewState.REJECTED
    return AnnotationSet([
        Segment(5, 9),                                   # manual
        Segment(10, 14, source=P, review=U, score=0.9),
        Segment(20, 24, source=P, review=A, score=0.8),
        Segment(30, 34, source=P, review=U, score=0.55),
        Segment(30, 36, source=P, review=U, score=0.52),  # same onset as the one before
        Segment(40, 44, source=P, review=R, score=0.3),
        Segment(50, 54, source=P, review=U),               # no stored score
    ], n_frames=100)


def _onset(aset, sid):
    return None if sid is None else aset.get(sid).onset


def test_next_and_previous_unreviewed_skip_manual_and_reviewed():
    aset = _set()
    items = aset.items()
    assert _onset(aset, neighbour_unreviewed(items, +1, frame=0)) == 10
    assert _onset(aset, neighbour_unreviewed(items, +1, frame=10)) == 30
    assert _onset(aset, neighbour_unreviewed(items, -1, frame=49)) == 30
    assert neighbour_unreviewed(items, -1, frame=10) is None
    assert neighbour_unreviewed(items, +1, frame=50) is None
    # from a selection, proposals sharing its onset are not skipped
    first_30 = neighbour_unreviewed(items, +1, frame=25)
    second_30 = neighbour_unreviewed(items, +1, frame=0, current=first_30)
    assert second_30 != first_30 and _onset(aset, second_30) == 30
    assert _onset(aset, neighbour_unreviewed(items, +1, frame=0, current=second_30)) == 50
    with pytest.raises(ValueError):
        neighbour_unreviewed(items, 0, frame=0)


def test_pick_by_stored_score_uses_the_cutoff_not_the_threshold():
    aset = _set()
    items = aset.items()
    assert sorted(_onset(aset, s) for s in pick_by_score(items, 0.6, at_least=True)) == [10]
    assert sorted(_onset(aset, s) for s in pick_by_score(items, 0.6, at_least=False)) == [30, 30]
    # reviewed ones and unscored ones are never picked
    assert pick_by_score(items, 0.0, at_least=False) == []
    assert proposal_scores(items) == [0.52, 0.55, 0.9]


def test_recent_paths_newest_first_skips_gone_and_survives_junk(tmp_path):
    store = RecentPaths(tmp_path / "cfg" / "recent.json", limit=3)
    assert store.last() is None
    folders = [tmp_path / f"p{i}" for i in range(4)]
    for f in folders:
        f.mkdir()
        store.add(f)
    store.add(folders[1])
    assert store.paths() == [folders[1].resolve(), folders[3].resolve(), folders[2].resolve()]
    folders[1].rmdir()
    assert store.last() == folders[3].resolve()
    assert len(store.all()) == 3                # a gone path is kept, only hidden
    store.path.write_text("{not json", encoding="utf-8")
    assert store.paths() == []                  # unreadable: empty, no exception
    store.add(folders[0])
    assert store.paths() == [folders[0].resolve()]


def test_vocabulary_cleans_and_parses():
    vocab = Vocabulary.from_text("AU4\n AU12 , AU4\n\nhappiness")
    assert vocab.entries == ("AU4", "AU12", "happiness")
    assert Vocabulary.from_text(vocab.to_text()) == vocab
    assert vocab.unknown(["AU4", "AU9", "", " AU9 "]) == ["AU9"]
    assert vocab.with_added(["AU9", "AU4"]).entries[-1] == "AU9"
    assert "disgust" in PRESETS["Emotions"] and "AU4" in PRESETS["Action units"]


def test_vocabulary_and_apex_round_trip_through_the_eaf(tmp_path):
    doc = ClipAnnotations([Segment(10, 20, apex=14, label="AU4"),
                           Segment(30, 40, apex=33, label="AU12", source=Source.PREDICTED,
                                   score=0.7)],
                          [Segment(0, 50)], vocabulary=("AU4", "AU12", "AU9"))
    path = tmp_path / "c.eaf"
    save_eaf(doc, path, FPS)
    back = load_eaf(path, FPS)
    assert back.vocabulary == ("AU4", "AU12", "AU9")
    assert sorted((s.onset, s.apex) for s in back.segments) == [(10, 14), (30, 33)]
    root = ET.parse(path).getroot()
    me_type = next(t for t in root.iter("TIER") if t.get("TIER_ID") == "ME").get(
        "LINGUISTIC_TYPE_REF")
    ling = next(t for t in root.iter("LINGUISTIC_TYPE") if t.get("LINGUISTIC_TYPE_ID") == me_type)
    assert ling.get("CONTROLLED_VOCABULARY_REF") == "ME labels"
    # an edited vocabulary replaces the old one instead of adding a second
    doc.vocabulary = ("happiness",)
    save_eaf(doc, path, FPS)
    assert len(ET.parse(path).getroot().findall("CONTROLLED_VOCABULARY")) == 1
    assert load_eaf(path, FPS).vocabulary == ("happiness",)
    # no vocabulary: none written
    save_eaf(ClipAnnotations([Segment(1, 2)], []), tmp_path / "plain.eaf", FPS)
    assert ET.parse(tmp_path / "plain.eaf").getroot().find("CONTROLLED_VOCABULARY") is None


def test_vocabulary_eaf_validates_against_the_schema(tmp_path, shared_data):
    etree = pytest.importorskip("lxml.etree")
    xsd = shared_data / "elan" / "EAFv3.0.xsd"
    if not xsd.is_file():
        pytest.skip("EAFv3.0.xsd not present")
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    doc = ClipAnnotations([Segment(10, 20, apex=12, label="AU4")], [],
                          vocabulary=PRESETS["Action units"])
    save_eaf(doc, tmp_path / "c.eaf", FPS)
    save_eaf(doc, tmp_path / "c.eaf", FPS)        # rewritten over itself: kept content too
    assert schema.validate(etree.parse(str(tmp_path / "c.eaf"))), schema.error_log


def _damaged(tmp_path):
    path = tmp_path / "clip.eaf"
    save_eaf(ClipAnnotations([Segment(10, 20, label="AU4"), Segment(30, 40, label="AU12"),
                              Segment(50, 60)], [Segment(0, 45)]), path, FPS)
    text = path.read_text(encoding="utf-8")
    root = ET.fromstring(text)
    # the ME tier's second annotation: break its first time slot
    ann = list(next(t for t in root.iter("TIER") if t.get("TIER_ID") == "ME")
               .iter("ALIGNABLE_ANNOTATION"))[1]
    bad_slot = ann.get("TIME_SLOT_REF1")
    for slot in root.iter("TIME_SLOT"):
        if slot.get("TIME_SLOT_ID") == bad_slot:
            slot.set("TIME_VALUE", "12x3")
    path.write_bytes(ET.tostring(root, encoding="UTF-8", xml_declaration=True))
    return path, bad_slot


def test_salvage_keeps_what_parses_and_lists_what_it_skipped(tmp_path):
    path, bad_slot = _damaged(tmp_path)
    with pytest.raises(AnnotationError, match=bad_slot):
        load_eaf(path, FPS)
    report = salvage_eaf(path, FPS)
    assert sorted((s.onset, s.label) for s in report.annotations.segments) == [
        (10, "AU4"), (50, "")]
    assert [(s.onset, s.offset) for s in report.annotations.speaking] == [(0, 45)]
    assert any(bad_slot in line and "not an integer" in line for line in report.skipped)
    assert any("'AU12'" in line and bad_slot in line for line in report.skipped)
    assert report.n_kept == 3


def test_salvage_of_broken_xml_and_of_non_eaf(tmp_path):
    pytest.importorskip("lxml")
    path = tmp_path / "c.eaf"
    save_eaf(ClipAnnotations([Segment(10, 20)], []), path, FPS)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])      # truncated: not well-formed
    report = salvage_eaf(path, FPS)
    assert any("XML is damaged" in line for line in report.skipped)
    other = tmp_path / "x.eaf"
    other.write_text("<html/>", encoding="utf-8")
    with pytest.raises(AnnotationError, match="not an EAF"):
        salvage_eaf(other, FPS)


def test_keep_unreadable_copies_untouched_outside_backup_rotation(tmp_path):
    path, _ = _damaged(tmp_path)
    original = path.read_bytes()
    copy = keep_unreadable(path)
    again = keep_unreadable(path)
    assert copy != again and copy.read_bytes() == original == again.read_bytes()
    assert ".unreadable-" in copy.name and copy.suffix == ".eaf"
    for _ in range(5):                            # many saves later, the copy is still there
        save_eaf(ClipAnnotations([Segment(1, 2)], []), path, FPS, backups=3)
    assert copy.read_bytes() == original


def test_model_summary_names_model_training_data_and_device():
    from meldae.review.model_summary import describe_model, device_missing_message, trained_on

    demo = {"meta": {"demo": True, "trained_on": "meldae synth ...", "note": "synthetic MEs"},
            "device": "cpu"}
    assert describe_model(None, demo) == "Model: demo — synthetic MEs (demo) · cpu"
    old_demo = {"meta": {"demo": True}, "device": "cpu"}      # a demo without a note
    assert "(demo) · cpu" in describe_model(None, old_demo)
    ours = {"meta": {"trained_on": "/data/proj/.meldae/runs/r1/data", "init_from": "/m/base.json",
                     "splits": {"train": ["a", "b", "c"], "val": ["d"], "test": []}},
            "device": "cuda:0"}
    assert describe_model("/runs/best.safetensors", ours) == (
        "Model: best — trained on 4 clips of r1, fine-tuned from base · cuda:0")
    assert describe_model("x.safetensors", dict(ours, cached=True, device="cpu")).endswith(
        "· cached scores (cpu)")
    assert describe_model("x.safetensors", {"cached": True}).endswith("· cached scores")
    assert describe_model("x.safetensors", None, "cuda").endswith("cuda (not loaded yet)")
    assert trained_on({}) == "training data not recorded"
    text = device_missing_message("cuda", "CUDA is not available here")
    assert "--device auto" in text and "demo-model" not in text


def test_autosave_keeps_the_vocabulary(tmp_path):
    from meldae.project import ClipReview
    from meldae.project.autosave import read_autosave, write_autosave

    doc = ClipAnnotations([Segment(1, 2, apex=2, label="AU4")], [], vocabulary=("AU4", "AU9"))
    path = tmp_path / "a.autosave.json"
    write_autosave(path, tmp_path / "v.mp4", tmp_path / "v.eaf", FPS, 10, "now", doc,
                   ClipReview.IN_PROGRESS)
    back, review, _payload = read_autosave(path)
    assert back.vocabulary == ("AU4", "AU9") and back.segments[0].apex == 2
