"""app.project_review: the adjudication view (decisions, undo, highlights, save) and the
agreement dialog."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from app.project_review.adjudication_model import AdjudicationModel  # noqa: E402
from app.project_review.adjudication_view import AdjudicationView  # noqa: E402
from app.project_review.agreement_dialog import AgreementDialog  # noqa: E402
from app.project_review.lanes import DECIDED, UNDECIDED  # noqa: E402
from meldae.annotations import ClipAnnotations, Segment, load_eaf, save_eaf  # noqa: E402
from meldae.review.adjudicate import Side, find_disagreements  # noqa: E402

FPS = Fraction(25)
A = ClipAnnotations(segments=[Segment(10, 20), Segment(50, 55, label="x")], speaking=[Segment(0, 4)])
B = ClipAnnotations(segments=[Segment(11, 20), Segment(50, 55, label="x"), Segment(80, 85)],
                    speaking=[Segment(3, 9)])


@pytest.fixture
def view(qtbot, tmp_path):
    model = AdjudicationModel(find_disagreements(A, B, 100, "alice", "bob"), "carol")
    v = AdjudicationView(model, A, B, tmp_path / "clip.eaf", FPS)
    qtbot.addWidget(v)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_disagreements_are_listed_and_highlighted(view):
    assert view.table.rowCount() == 4
    assert [view.table.item(r, 1).text() for r in range(4)] == ["10–20", "80–85", "0–2", "5–9"]
    assert view.table.item(1, 2).text() == "—" and view.table.item(1, 3).text() == "80–85"
    assert all(view.lanes.highlight_color(i.key) == UNDECIDED for i in view.model.items)
    assert "1 ME segments agreed; 4 disagreements, 0 decided, 4 to go" in view.summary.text()


def test_keys_take_versions_and_undo_restores(qtbot, view):
    seeks: list[int] = []
    view.seek_requested.connect(seeks.append)
    view.table.selectRow(0)
    qtbot.keyClick(view, Qt.Key.Key_B)            # row 0: bob's 11-20; moves to row 1
    qtbot.keyClick(view, Qt.Key.Key_A)            # row 1: alice has none there
    assert view.model.decision("me:0").side is Side.B
    assert view.model.decision("me:1").side is Side.A
    assert view.table.item(0, 4).text() == "bob 11–20" and view.lanes.highlight_color("me:0") == DECIDED
    assert [(s.onset, s.offset) for s in view.model.preview().segments] == [(11, 20), (50, 55)]
    assert seeks[:2] == [80, 0]   # selecting a row shows it in the main player
    view.undo_stack.undo()
    assert view.model.decision("me:1") is None and view.table.item(1, 4).text() == ""
    view.undo_stack.undo()
    assert view.model.decision("me:0") is None
    assert view.lanes.highlight_color("me:0") == UNDECIDED
    view.undo_stack.redo()
    assert view.model.decision("me:0").side is Side.B


def test_own_version(view):
    view.table.selectRow(1)                       # 80-85, only bob
    view.own_onset.setValue(81)
    view.own_offset.setValue(83)
    view.use_own.click()
    decision = view.model.decision("me:1")
    assert decision.side is Side.OWN and decision.own == Segment(81, 83)
    view.table.selectRow(2)
    view.own_none.setChecked(True)
    view.use_own.click()
    assert view.model.decision("speaking:0").own is None
    assert view.table.item(2, 4).text() == "own (none)"
    assert view.table.item(1, 4).text() == "own 81–83"


def test_save_needs_every_decision_then_writes_provenance(monkeypatch, view, tmp_path):
    warnings: list[str] = []
    monkeypatch.setattr("app.project_review.adjudication_view.QMessageBox.warning",
                        lambda parent, title, text: warnings.append(text))
    assert not view.save()
    assert "4 disagreement(s) not decided" in warnings[0] and not (tmp_path / "clip.eaf").exists()
    view.table.selectRow(0)
    for _ in range(4):
        view.decide(Side.A)
    saved: list[str] = []
    view.saved.connect(saved.append)
    assert view.save()
    path = tmp_path / "clip.eaf"
    assert saved == [str(path)]
    back = load_eaf(path, FPS)
    assert [(s.onset, s.offset) for s in back.segments] == [(10, 20), (50, 55)]
    assert {t.get("ANNOTATOR") for t in ET.parse(path).getroot().iter("TIER")} == {"carol"}
    provenance = json.loads(path.with_name("clip.meldae.json").read_text())["provenance"]
    assert provenance["adjudicator"] == "carol" and len(provenance["decisions"]) == 4


def test_adjudicate_the_open_clip_in_the_window(qtbot, window, clip_dir_copy, monkeypatch):
    videos = sorted(clip_dir_copy.glob("*.mp4"))
    name = videos[0].stem
    save_eaf(ClipAnnotations(segments=[Segment(5, 9)]), clip_dir_copy / f"{name}.alice.eaf", 30)
    save_eaf(ClipAnnotations(segments=[Segment(5, 9), Segment(30, 33)]),
             clip_dir_copy / f"{name}.bob.eaf", 30)
    with qtbot.waitSignal(window.clip_opened, timeout=120_000):
        window.open_path(clip_dir_copy)
    window.project_review.annotator.set_name("carol")
    view = window.project_review.open_adjudication()
    assert view is not None and view.model.adjudication.name_a == "alice"
    qtbot.addWidget(view)
    assert [i.key for i in view.model.items] == ["me:0"]
    view.table.selectRow(0)
    view.decide(Side.B)
    assert view.save()
    qtbot.waitUntil(lambda: any(s.onset == 30 for s in window.document.segments), timeout=10_000)
    assert (clip_dir_copy / f"{name}.eaf").is_file()
    assert {s.annotator for s in window.document.segments if s.onset in (5, 30)} == {"alice", "bob"}


def test_adjudication_needs_an_open_clip(window):
    errors: list[tuple[str, str]] = []
    window.status.error_shown.connect(lambda title, text: errors.append((title, text)))
    assert window.project_review.open_adjudication() is None
    assert errors and "Open a clip first" in errors[0][1]


def test_agreement_dialog_compares_and_saves(qtbot, tmp_path):
    for who, segs in (("alice", [Segment(10, 19)]), ("bob", [Segment(12, 21)])):
        save_eaf(ClipAnnotations(segments=segs), tmp_path / f"clip.{who}.eaf", FPS)
    dialog = AgreementDialog(tmp_path, ("alice", "bob"))
    qtbot.addWidget(dialog)
    dialog.fps.setText("25")
    dialog.compute_button.click()
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10_000)
    assert dialog.table.rowCount() == 2            # the clip and the overall row
    assert dialog.table.item(0, 6).text() == "1.000" and dialog.table.item(0, 7).text() == "80.0"
    assert dialog.save_json(tmp_path / "out.json")
    assert json.loads((tmp_path / "out.json").read_text())["overall"]["matched"] == 1
    dialog.fps.setText("abc")
    dialog.compute_button.click()
    assert "not a number" in dialog.status.text()
    dialog.close()


def test_agreement_dialog_reports_bad_folders(qtbot, tmp_path):
    dialog = AgreementDialog(tmp_path / "missing")
    qtbot.addWidget(dialog)
    dialog.compute_button.click()
    qtbot.waitUntil(lambda: dialog.compute_button.isEnabled(), timeout=10_000)
    assert "not a folder" in dialog.status.text() and dialog.report is None
