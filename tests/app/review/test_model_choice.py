"""The Model menu: choosing a checkpoint, and the project remembering it across restarts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.review.model_choice import checkpoint_problem
from meldae.project import Project


@pytest.fixture
def project_dir(clip_dir_copy) -> Path:
    """The clip folder whose project file the tests write."""
    return clip_dir_copy


@pytest.fixture
def second_checkpoint(tiny_checkpoint, tmp_path) -> Path:
    """A copy of the tiny checkpoint under another name."""
    src = Path(tiny_checkpoint)
    for suffix in (".safetensors", ".json"):
        shutil.copy(src.with_suffix(suffix), tmp_path / f"other{suffix}")
    return tmp_path / "other.safetensors"


def _new_window(qtbot, checkpoint=None):
    from app.main_window import MainWindow

    win = MainWindow(checkpoint=checkpoint, device="cpu")
    qtbot.addWidget(win)
    win.show()
    return win


def test_checkpoint_problem_names_the_file_and_the_reason(tiny_checkpoint, tmp_path):
    assert checkpoint_problem(Path(tiny_checkpoint)) is None
    assert "no such file" in checkpoint_problem(tmp_path / "missing.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not weights")
    (tmp_path / "bad.json").write_text('{"format": "something else"}', encoding="utf-8")
    problem = checkpoint_problem(tmp_path / "bad.safetensors")
    assert "bad.json" in problem and "not a MELDAE checkpoint" in problem


def test_project_file_keeps_the_model(project_dir, tiny_checkpoint):
    project = Project(project_dir)
    assert project.model is None
    project.set_model(Path(tiny_checkpoint))
    payload = json.loads(project.state_file.read_text(encoding="utf-8"))
    assert payload["model"] == str(tiny_checkpoint)
    assert Project(project_dir).model == str(tiny_checkpoint)
    project.set_model(None)                                  # back to the demo model
    assert "model" not in json.loads(project.state_file.read_text(encoding="utf-8"))


def test_chosen_model_is_remembered_and_used_after_a_restart(qtbot, project_dir,
                                                             second_checkpoint,
                                                             no_modal_dialogs):
    first = _new_window(qtbot)
    try:
        with qtbot.waitSignal(first.scores_ready, timeout=120_000):
            first.open_path(project_dir)
        with qtbot.waitSignal(first.scores_ready, timeout=120_000):
            assert first.models.choose(second_checkpoint)
        assert first.scores.checkpoint == second_checkpoint
    finally:
        first.shutdown()
    assert Project(project_dir).model == str(second_checkpoint.resolve())
    again = _new_window(qtbot)                                # "restart": no --checkpoint
    try:
        with qtbot.waitSignal(again.scores_ready, timeout=120_000):
            again.open_path(project_dir)
        assert again.scores.checkpoint == second_checkpoint.resolve()
        assert again.scores.scores.info["meta"] == json.loads(
            second_checkpoint.with_suffix(".json").read_text(encoding="utf-8"))["meta"]
    finally:
        again.shutdown()


def test_command_line_checkpoint_wins_and_a_missing_one_is_reported(qtbot, project_dir,
                                                                   tiny_checkpoint,
                                                                   second_checkpoint,
                                                                   no_modal_dialogs):
    Project(project_dir).set_model(second_checkpoint)
    explicit = _new_window(qtbot, checkpoint=Path(tiny_checkpoint))
    try:
        with qtbot.waitSignal(explicit.scores_ready, timeout=120_000):
            explicit.open_path(project_dir)
        assert explicit.scores.checkpoint == Path(tiny_checkpoint)
    finally:
        explicit.shutdown()
    Project(project_dir).set_model(project_dir / "gone.safetensors")
    win = _new_window(qtbot, checkpoint=None)
    messages: list[str] = []
    win.show_status = lambda text, timeout_ms=0: messages.append(text)
    try:
        win.models.adopt(Project(project_dir))
        assert win.scores.checkpoint is None                  # still the demo model
        assert any("gone.safetensors" in m and "unavailable" in m for m in messages)
    finally:
        win.shutdown()


def test_a_file_that_is_not_a_checkpoint_is_refused(window, tmp_path, tiny_checkpoint):
    errors: list[tuple[str, str]] = []
    window.show_error = lambda title, text: errors.append((title, text))
    (tmp_path / "notes.safetensors").write_text("hello", encoding="utf-8")
    assert not window.models.choose(tmp_path / "notes.safetensors")
    assert errors and errors[0][0] == "Cannot use this model"
    assert "notes.json" in errors[0][1]
    assert window.scores.checkpoint == Path(tiny_checkpoint)    # unchanged
