"""The whole window: open, score, play by keys, edit by keys and mouse, save, errors, CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QSpinBox

from app.timeline.timeline_widget import ME_LANE
from meldae.annotations import Source

sys.path.insert(0, str(Path(__file__).resolve().parent))   # window_steps (importlib mode)
from window_steps import open_and_wait  # noqa: E402

ME_Y = ME_LANE[0] + ME_LANE[1] / 2
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path, clip_dir) -> Path:
    """A private copy of the synthetic clip folder (tests write EAFs into it)."""
    folder = tmp_path / "project"
    shutil.copytree(clip_dir, folder)
    return folder


def activate(window):
    window.activateWindow()
    assert QTest.qWaitForWindowActive(window)


def spans(document):
    return [(s.onset, s.offset) for s in document.segments]


def test_opens_a_folder_scores_and_draws(qtbot, window, project):
    open_and_wait(qtbot, window, project, scores=True)
    clips = window.clip_list.clips
    assert len(clips) == 2 and window.clip_list.isVisible()
    assert window.windowTitle().startswith(clips[0].name)
    scores = window.scores.scores
    assert scores.complete and scores.n_frames == window.player.frame_count == 48
    x, y = window.timeline.curve.getData()
    assert len(x) == 48 and np.allclose(y, scores.loc)
    assert not window.progress_bar.isVisible() and not window.cancel_button.isVisible()
    assert "Scores ready" in window.statusBar().currentMessage()
    assert window.player.view.face_box is not None        # the inset has a face
    assert window.tabs.tabText(0) == "Review"


def test_attention_panel_follows_the_playhead(qtbot, window, project):
    open_and_wait(qtbot, window, project, scores=True)
    window.player.seek(17)
    assert window.attention.current_frame == 17
    np.testing.assert_allclose(window.attention.image_item.image,
                               window.scores.scores.attention[17].astype(np.float32))
    assert window.timeline.playhead_frame == 17


def test_playback_keys_work_even_from_a_spin_box(qtbot, window, project):
    open_and_wait(qtbot, window, project)
    spin = QSpinBox()
    window.player.layout().addWidget(spin)   # e.g. a parameter box in a panel
    activate(window)
    QTest.keyClick(window, Qt.Key.Key_Right)
    assert window.player.current_frame == 1
    QTest.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert window.player.current_frame == 11
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    QTest.keyClick(spin, Qt.Key.Key_Left)
    assert window.player.current_frame == 10 and spin.value() == 0
    QTest.keyClick(spin, Qt.Key.Key_Space)
    assert window.player.is_playing
    QTest.keyClick(window, Qt.Key.Key_Space)
    assert not window.player.is_playing


def test_edit_by_keys_and_timeline_drag_with_undo_redo(qtbot, window, project, drag, to_view):
    open_and_wait(qtbot, window, project)
    doc, stack = window.document, window.undo_stack
    before = spans(doc)
    activate(window)
    window.player.seek(30)
    QTest.keyClick(window, Qt.Key.Key_I)
    window.player.seek(36)
    QTest.keyClick(window, Qt.Key.Key_O)
    assert sorted(spans(doc)) == sorted(before + [(30, 36)])
    new_id = doc.ids[spans(doc).index((30, 36))]
    assert window.timeline.selected == new_id              # the new segment is selected
    # drag its offset edge (x = offset + 1 = 37) to x = 41 -> offset 40
    timeline = window.timeline
    timeline.zoom_to(20, 48)
    drag(timeline.plot_widget.viewport(), to_view(timeline, 37.0, ME_Y),
         to_view(timeline, 41.1, ME_Y))
    assert (30, 40) in spans(doc) and (30, 36) not in spans(doc)
    steps = stack.count()
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (30, 36) in spans(doc)                          # one drag = one undo step
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert sorted(spans(doc)) == sorted(before)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert (30, 40) in spans(doc) and stack.count() == steps


def test_save_and_reload_gives_identical_frames(qtbot, window, project):
    open_and_wait(qtbot, window, project)
    clip = window.review.clip
    activate(window)
    window.player.seek(3)
    QTest.keyClick(window, Qt.Key.Key_I)
    window.player.seek(9)
    QTest.keyClick(window, Qt.Key.Key_O)
    assert window.document.is_modified
    QTest.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not window.document.is_modified
    saved = sorted(spans(window.document))
    speaking = [(s.onset, s.offset) for s in window.document.speaking]
    eaf = project / f"{clip.name}.eaf"
    assert eaf.is_file()
    from app.main_window import MainWindow

    other = MainWindow(checkpoint=window.scores.checkpoint, device="cpu")
    qtbot.addWidget(other)
    try:
        open_and_wait(qtbot, other, project)
        assert sorted(spans(other.document)) == saved and (3, 9) in saved
        assert [(s.onset, s.offset) for s in other.document.speaking] == speaking
    finally:
        other.shutdown()


def test_threshold_hands_predictions_to_the_editor(qtbot, window, project):
    open_and_wait(qtbot, window, project, scores=True)
    loc = window.scores.scores.loc
    threshold = float(np.sort(loc)[-5])          # the five top frames pass
    window.proposals.set_threshold(threshold)
    qtbot.waitUntil(lambda: any(s.source == Source.PREDICTED
                                for s in window.document.segments), timeout=3000)
    predicted = [(s.onset, s.offset) for s in window.document.segments
                 if s.source == Source.PREDICTED]
    manual = [s for s in window.document.segments if s.source == Source.MANUAL]
    expected = [tuple(p) for p in window.timeline.proposals.spans().tolist()]
    kept = [p for p in expected
            if all(min(p[1], m.offset) < max(p[0], m.onset) for m in manual)]
    assert set(kept) <= set(predicted) <= set(expected)
    assert not window.document.is_modified        # proposals are not the annotator's edits


def test_corrupt_video_shows_an_error_and_the_app_keeps_working(qtbot, window, corrupt_video,
                                                                clip_video, monkeypatch):
    errors = []
    monkeypatch.setattr(window, "show_error", lambda title, text: errors.append((title, text)))
    window.open_path(corrupt_video)
    qtbot.waitUntil(lambda: bool(errors), timeout=10000)
    assert errors[0][0] == "Cannot open video" and "broken.mp4" in errors[0][1]
    assert not window.player.play_action.isEnabled()
    open_and_wait(qtbot, window, clip_video)
    assert window.player.frame_count == 48 and window.player.play_action.isEnabled()
    assert not window.clip_list.isVisible()           # one video: no clip list


def test_closing_while_scoring_leaves_no_thread(qtbot, window, project):
    with qtbot.waitSignal(window.scores.running_changed, timeout=30000):
        window.open_path(project)
    assert window.scores.running
    window.close()
    from app.workers import running_workers

    assert running_workers() == []


def test_add_tab_and_disabled_actions_say_why(qtbot, window):
    index = window.add_tab(QLabel("extra"), "Extra")
    assert index == window.tabs.count() - 1 and window.tabs.tabText(index) == "Extra"
    save = window.review.files.save
    assert not save.isEnabled() and "open a clip first" in save.toolTip()
    assert not window.player.play_action.isEnabled()


def test_missing_model_says_make_demo_model(qtbot, project, monkeypatch, tmp_path,
                                            no_modal_dialogs):
    from app.main_window import MainWindow

    monkeypatch.setattr("meldae.project.score_cache.demo_checkpoint", lambda: tmp_path / "no.safetensors")
    win = MainWindow(checkpoint=None, device="cpu")
    qtbot.addWidget(win)
    errors = []
    monkeypatch.setattr(win, "show_error", lambda title, text: errors.append((title, text)))
    try:
        open_and_wait(qtbot, win, project)
        qtbot.waitUntil(lambda: bool(errors), timeout=5000)
        assert "make demo-model" in errors[0][1]
        assert "make demo-model" in win.statusBar().currentMessage()
        assert win.player.frame_count == 48               # the videos still open
    finally:
        win.shutdown()


def test_demo_project_is_generated_once_then_opened(qtbot, monkeypatch, tmp_path,
                                                   no_modal_dialogs):
    import app.project.demo as demo
    from app.main_window import MainWindow

    monkeypatch.setattr(demo, "DEMO_CLIPS", 1)
    monkeypatch.setattr(demo, "DEMO_FRAMES", 12)
    monkeypatch.setattr("meldae.project.score_cache.demo_checkpoint", lambda: tmp_path / "no.safetensors")
    win = MainWindow(checkpoint=None, device="cpu")
    qtbot.addWidget(win)
    monkeypatch.setattr(win, "show_error", lambda title, text: None)
    try:
        assert not demo.demo_project_ready()
        with qtbot.waitSignal(win.clip_opened, timeout=60000):
            win.review.start_demo()
        assert demo.demo_project_ready()
        assert "demo" in win.windowTitle()
        assert len(list(demo.demo_project_dir().glob("*.mp4"))) == 1
    finally:
        win.shutdown()


def test_cli_errors_exit_2_without_traceback(capsys):
    from app.main import main

    with pytest.raises(SystemExit) as exc:
        main(["/no/such/video.mp4"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "no such file or folder" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        main([str(REPO), "--checkpoint", "/no/such/ckpt"])
    assert exc.value.code == 2


@pytest.mark.slow
def test_screenshot_cli_writes_the_window(clip_video, tiny_checkpoint, tmp_path):
    out = tmp_path / "shot.png"
    result = subprocess.run(
        [sys.executable, str(REPO / "main.py"), str(clip_video), "--checkpoint",
         str(tiny_checkpoint), "--device", "cpu", "--screenshot", str(out), "--size", "1200x800"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (1200, 800)


def test_demo_generation_cancelled_leaves_no_half_project(qtbot, monkeypatch):
    import app.project.demo as demo

    monkeypatch.setattr(demo, "DEMO_CLIPS", 3)
    monkeypatch.setattr(demo, "DEMO_FRAMES", 8)
    worker = demo.DemoProjectWorker()
    # the window closes after clip 1 (a direct call: this thread is blocked in wait())
    worker.progress.connect(worker.cancel, Qt.ConnectionType.DirectConnection)
    ready = []
    worker.ready.connect(ready.append)
    worker.start()
    assert worker.wait(60000)
    assert ready == [] and not demo.demo_project_ready()
    leftovers = list(demo.demo_project_dir().parent.glob(".demo-project-*"))
    assert leftovers == [] and not demo.demo_project_dir().exists()
