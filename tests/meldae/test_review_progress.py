"""meldae.review.progress, annotator stamps in ELAN files, and ``meldae stats --review``."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest

from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source, load_eaf, save_eaf
from meldae.cli import main as cli_main
from meldae.project import Project
from meldae.review.annotators import (
    AnnotatorError,
    annotation_files,
    annotator_eaf_path,
    annotators_in,
    check_annotator,
)
from meldae.review.progress import UNRECORDED, project_progress

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # project_samples (importlib mode)
from project_samples import clip_folder  # noqa: E402

FPS = Fraction(25)


def test_annotator_names_and_files(tmp_path):
    assert check_annotator(" alice ") == "alice"
    for bad in ("", "a.b", "a b", "../x", "x" * 65):
        with pytest.raises(AnnotatorError):
            check_annotator(bad)
    assert annotator_eaf_path(tmp_path / "clip.eaf", "bob") == tmp_path / "clip.bob.eaf"
    for name in ("clip.eaf", "clip.bob.eaf", "clip.alice.eaf", "other.eaf"):
        (tmp_path / name).write_text("")
    assert annotation_files(tmp_path) == {"clip": tmp_path / "clip.eaf", "other": tmp_path / "other.eaf"}
    assert annotation_files(tmp_path, "bob") == {"clip": tmp_path / "clip.bob.eaf"}
    assert annotators_in(tmp_path, ["clip"]) == ["alice", "bob"]


def test_annotator_travels_through_the_eaf_and_sidecar(tmp_path):
    path = tmp_path / "c.eaf"
    doc = ClipAnnotations(segments=[Segment(1, 5, annotator="alice"), Segment(9, 12)],
                          speaking=[Segment(0, 20, annotator="bob")])
    save_eaf(doc, path, FPS, annotator="alice")
    root = ET.parse(path).getroot()
    tiers = {t.get("TIER_ID"): t.get("ANNOTATOR") for t in root.iter("TIER")}
    assert tiers == {"ME": "alice", "Speaking": "alice"}
    back = load_eaf(path, FPS)
    # an unstamped segment counts as the saver's (the tier's ANNOTATOR)
    assert [s.annotator for s in back.segments] == ["alice", "alice"]
    assert back.speaking[0].annotator == "bob"
    entries = json.loads(path.with_name("c.meldae.json").read_text())["annotations"]
    assert sorted(e.get("annotator", "") for e in entries.values()) == ["", "alice", "bob"]
    sidecar = json.loads(path.with_name("c.meldae.json").read_text())
    assert sidecar["annotator"] == "alice"
    # without the sidecar (a file from ELAN), the tier's ANNOTATOR names everyone on it
    path.with_name("c.meldae.json").unlink()
    assert {s.annotator for s in load_eaf(path, FPS).segments} == {"alice"}


def _folder(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    clip_folder(folder, ["a", "b", "c"], eaf=False)
    project = Project(folder)
    for name, review in (("a", "done"), ("b", "in_progress"), ("c", "unreviewed")):
        project.update(name, review=review, fps="25/1", n_frames=1500)   # one minute each
    save_eaf(ClipAnnotations(segments=[
        Segment(1, 5, annotator="alice"),
        Segment(10, 15, source=Source.PREDICTED, review=ReviewState.ACCEPTED, annotator="alice"),
        Segment(20, 25, source=Source.PREDICTED, review=ReviewState.REJECTED, annotator="bob"),
        Segment(30, 35, source=Source.PREDICTED),
    ], speaking=[Segment(0, 100, annotator="alice")]), folder / "a.eaf", FPS)
    save_eaf(ClipAnnotations(segments=[Segment(40, 45)]), folder / "b.eaf", FPS)
    save_eaf(ClipAnnotations(segments=[Segment(7, 9), Segment(50, 52)]), folder / "b.carol.eaf", FPS)
    return folder


def test_progress_counts(tmp_path):
    progress = project_progress(_folder(tmp_path))
    assert progress.clips == 3
    assert progress.by_review == {"unreviewed": 1, "in_progress": 1, "done": 1}
    assert (progress.accepted, progress.rejected, progress.pending) == (1, 1, 1)
    assert progress.manual == 1 + 1 + 2          # a's, b's, carol's own file
    assert progress.annotated_minutes == pytest.approx(1.0)
    assert progress.known_minutes == pytest.approx(3.0)
    assert progress.clips_with_file == 2
    counts = {name: (c.segments, c.speaking, c.files) for name, c in progress.annotators.items()}
    assert counts == {"alice": (2, 1, 0), "bob": (1, 0, 0), UNRECORDED: (1, 0, 0), "carol": (2, 0, 1)}


def test_progress_reports_unreadable_clips(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    clip_folder(folder, ["empty"], eaf=True)   # an empty "video" and an empty "EAF"
    progress = project_progress(folder)
    assert progress.clips == 1 and progress.known_minutes == 0
    assert len(progress.problems) == 1 and "empty" in progress.problems[0]


def test_cli_stats_review(tmp_path, capsys):
    folder = _folder(tmp_path)
    out = tmp_path / "progress.json"
    assert cli_main(["stats", str(folder), "--review", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "accepted 1, rejected 1, pending 1" in text and "carol: 2 / 0 / 1" in text
    payload = json.loads(out.read_text())
    assert payload["by_review"]["done"] == 1 and payload["manual_additions"] == 4
