"""The review workflow in the whole window: saving trust, unreadable EAFs, the model badge,
re-score and cancel, recent folders, keys scoped to the Review tab, the shortcut list,
segment playback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from meldae.annotations import ClipAnnotations, Segment, load_eaf, save_eaf

sys.path.insert(0, str(Path(__file__).resolve().parent))   # window_steps (importlib mode)
from window_steps import open_and_wait  # noqa: E402

REPO = Path(__file__).resolve().parents[1].parent


@pytest.fixture
def project(tmp_path, clip_dir) -> Path:
    folder = tmp_path / "project"
    shutil.copytree(clip_dir, folder, ignore=shutil.ignore_patterns(".meldae"))
    return folder


def _break_first_eaf(project: Path) -> Path:
    eaf = sorted(project.glob("*.eaf"))[0]
    fps = 30
    save_eaf(ClipAnnotations([Segment(3, 8, label="keep me"), Segment(20, 30, label="lost")],
                             [Segment(0, 40)]), eaf, fps)
    text = eaf.read_text(encoding="utf-8")
    # the second ME annotation's end slot gets a value that is not a number
    text = text.replace('TIME_VALUE="1033"', 'TIME_VALUE="1o33"')
    eaf.write_text(text, encoding="utf-8")
    return eaf


@pytest.mark.parametrize("choice", ["salvage", "empty"])
def test_unreadable_eaf_banner_choice_and_untouched_copy(qtbot, window, project, monkeypatch,
                                                         choice):
    eaf = _break_first_eaf(project)
    damaged = eaf.read_bytes()
    asked = []
    monkeypatch.setattr("app.review.unreadable.ask_salvage_or_empty",
                        lambda parent, path, error, skipped, n_kept:
                        asked.append((path, skipped, n_kept)) or choice)
    open_and_wait(qtbot, window, project)
    assert asked and asked[0][0] == eaf and asked[0][2] == 2       # 1 ME + 1 speaking
    assert any("'lost'" in line for line in asked[0][1])           # the skipped one, named
    assert window.banner.isVisible() and eaf.name in window.banner.text()
    copies = list(project.glob(f"{eaf.stem}.unreadable-*.eaf"))
    assert len(copies) == 1 and copies[0].read_bytes() == damaged
    labels = [s.label for s in window.document.segments]
    if choice == "salvage":
        assert labels == ["keep me"] and window.document.is_modified
    else:
        assert labels == [] and not window.document.is_modified
    for _ in range(5):                       # many saves: the copy outlives the backups
        window.document.insert_segment(Segment(40, 41))
        assert window.review.files.save_clip() == eaf
    assert load_eaf(eaf, 30) is not None and copies[0].read_bytes() == damaged
    window.review.open_neighbour(1)          # another clip: the banner goes
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=10000)


def test_export_then_edit_then_ctrl_s_writes_the_clips_eaf(qtbot, window, project, tmp_path):
    open_and_wait(qtbot, window, project)
    clip_eaf = window.review.session.eaf_path
    export = tmp_path / "export.eaf"
    assert window.review.files.export_clip(export, full=True) == export
    exported = export.read_bytes()
    window.activateWindow()
    assert QTest.qWaitForWindowActive(window)
    window.player.seek(5)
    QTest.keyClick(window, Qt.Key.Key_I)
    window.player.seek(9)
    QTest.keyClick(window, Qt.Key.Key_O)
    QTest.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not window.document.is_modified and window.review.session.eaf_path == clip_eaf
    assert export.read_bytes() == exported
    assert (5, 9) in [(s.onset, s.offset) for s in load_eaf(clip_eaf, 30).segments]


def test_training_asks_to_save_unsaved_edits(qtbot, window, project, monkeypatch):
    open_and_wait(qtbot, window, project)
    window.document.insert_segment(Segment(2, 4))
    answers = iter(["cancel", "save"])
    asked = []
    monkeypatch.setattr("app.review.session.show_train_unsaved_dialog",
                        lambda parent, clip: asked.append(clip) or next(answers))
    launched = []
    monkeypatch.setattr(window.training, "_launch", lambda arguments: launched.append(arguments))
    assert not window.training.start() and launched == []          # cancelled: nothing runs
    assert window.document.is_modified
    window.training.start()
    assert len(asked) == 2 and not window.document.is_modified     # saved first
    assert (2, 4) in [(s.onset, s.offset) for s in
                      load_eaf(window.review.session.eaf_path, 30).segments]


def test_badge_rescore_and_cancel_keep_partial_scores(qtbot, window, project):
    open_and_wait(qtbot, window, project, scores=True)
    badge = window.model_badge
    assert badge.full_text.startswith("Model: tiny") and "cpu" in badge.full_text
    assert window.statusBar().isAncestorOf(badge) and badge.isVisible()
    with qtbot.waitSignal(window.scores.running_changed, timeout=10000):
        window.scoring.rescore.trigger()                 # past the cache
    assert window.scores.running and window.scoring.cancel.isEnabled()
    with qtbot.waitSignal(window.scores.cancelled, timeout=10000) as blocker:
        window.scoring.cancel.trigger()
    assert blocker.args[0] is window.scores.scores and not window.scores.running
    assert "Re-score" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.scores_ready, timeout=120000):
        window.scoring.rescore.trigger()
    assert window.scores.scores.complete


def test_partial_scores_give_proposals(qtbot, window, project):
    open_and_wait(qtbot, window, project, scores=True)
    scores = window.scores.scores
    scores.complete = False
    scores.done = scores.n_frames // 2
    scores.loc[scores.done:] = float("nan")
    window.scores.cancelled.emit(scores)
    window.proposals.set_threshold(0.0)                  # every scored face frame proposes
    qtbot.waitUntil(lambda: any(s.source.value == "predicted"
                                for s in window.document.segments), timeout=5000)
    predicted = [s for s in window.document.segments if s.source.value == "predicted"]
    assert max(s.offset for s in predicted) < scores.done  # only where it scored


def test_device_missing_is_its_own_message(qtbot, project, tiny_checkpoint, no_modal_dialogs,
                                           monkeypatch):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    from app.main_window import MainWindow

    win = MainWindow(checkpoint=tiny_checkpoint, device="cuda")
    qtbot.addWidget(win)
    errors = []
    monkeypatch.setattr(win, "show_error", lambda title, text: errors.append((title, text)))
    try:
        win.open_path(project)
        qtbot.waitUntil(lambda: bool(errors), timeout=60000)
        title, text = errors[0]
        assert title == "GPU not available" and "--device auto" in text
        assert "make demo-model" not in text
        assert "GPU not available" in win.model_badge.full_text
    finally:
        win.shutdown()


def test_recent_folders_and_reopen_last(qtbot, window, project, clip_video, monkeypatch):
    from app import main as app_main
    from meldae.review import RecentPaths

    calls = []
    monkeypatch.setattr(window.review, "start_demo", lambda: calls.append("demo"))
    app_main._open_start_path(window, None)            # nothing opened before: the demo
    assert calls == ["demo"]
    open_and_wait(qtbot, window, project)
    assert RecentPaths().paths()[0] == project.resolve()
    assert any(project.name in a.text() for a in window.recent_menu.actions())
    monkeypatch.setattr(window, "open_path", lambda path: calls.append(Path(path)))
    app_main._open_start_path(window, None)            # next start: the last project
    assert calls[-1] == project.resolve()


def test_review_keys_only_on_the_review_tab(qtbot, window, project):
    open_and_wait(qtbot, window, project)
    window.activateWindow()
    assert QTest.qWaitForWindowActive(window)
    window.tabs.setCurrentIndex(1)                      # Training
    n_segments = len(window.document)
    window.training.setFocus()
    QTest.keyClick(window, Qt.Key.Key_Space)
    QTest.keyClick(window, Qt.Key.Key_I)
    QTest.keyClick(window, Qt.Key.Key_O)
    assert not window.player.is_playing and len(window.document) == n_segments
    assert window.player.play_action.shortcuts() == []
    window.tabs.setCurrentIndex(0)
    assert window.player.play_action.shortcut().toString() == "Space"


def test_shortcut_list_in_help_and_on_the_command_line(qtbot, window):
    from app.window_menus import window_catalog

    catalog = window_catalog(window)
    window.tabs.setCurrentIndex(1)                      # keys off: still listed
    assert window_catalog(window) == catalog
    names = {e["name"]: e for e in catalog}
    assert names["Next unreviewed proposal"]["shortcut"] == "N"
    assert names["Re-score clip"] == {"name": "Re-score clip", "shortcut": "F5",
                                      "menu": "Model"}
    window.show_shortcuts()
    dialog = window.shortcuts_dialog
    assert dialog.table.rowCount() == len(catalog)
    dialog.filter_edit.setText("apex")
    assert dialog.visible_rows() == 1
    dialog.close()
    result = subprocess.run([sys.executable, str(REPO / "main.py"), "--list-actions"],
                            capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == catalog


def test_play_and_loop_the_selected_segment(qtbot, window, clip_video):
    open_and_wait(qtbot, window, clip_video)
    sid = window.document.insert_segment(Segment(10, 14))
    window.editor.select(sid)
    played = []
    window.player.frame_changed.connect(played.append)
    window.range_playback.play_segment.trigger()
    qtbot.waitUntil(lambda: not window.player.is_playing, timeout=10000)
    assert played[0] == 10 and window.player.current_frame == 14   # stopped at the offset
    start = len(played)
    window.range_playback.loop_segment.trigger()
    qtbot.waitUntil(lambda: played[start:].count(10) >= 3, timeout=15000)   # back to the onset
    assert window.player.is_playing and window.range_playback.span == (10, 14)
    window.range_playback.loop_segment.trigger()                     # the key again stops
    assert not window.player.is_playing and window.range_playback.span is None
