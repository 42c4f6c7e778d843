"""The Training tab: trainer command line, JSON-line reading, curves, buttons, real runs."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from meldae.project import ClipReview, Project
from app.training.form import ClipChooser, preset_settings
from app.training.plots import RunClock, TrainingPlots, format_duration
from app.training.process import FAILED, FINISHED, STOPPED, running_processes
from app.training.tab import TrainingTab
from meldae.data import discover_clips
from meldae.train.events import parse_event_line
from meldae.train.launch import TrainingSettings, train_arguments

RUN_TIMEOUT_MS = 300_000     # a process start imports torch: slow on a loaded 2-core machine


@pytest.fixture(autouse=True)
def _no_training_process_left():
    """Fail any test that leaves a trainer process running."""
    yield
    alive = running_processes()
    for proc in alive:
        proc.shutdown(10_000)
    assert not alive, "a training process was left running"


@pytest.fixture
def own_clips(tmp_path, clip_dir) -> Path:
    """A private copy of the session's synthetic clip folder (2 clips, one subject)."""
    folder = tmp_path / "clips"
    shutil.copytree(clip_dir, folder, ignore=shutil.ignore_patterns(".meldae"))
    return folder


@pytest.fixture
def tab(qtbot, tmp_path):
    """A stand-alone training tab whose error messages are recorded, not shown."""
    widget = TrainingTab(stop_grace_ms=60_000)
    qtbot.addWidget(widget)
    widget.runs_root = tmp_path / "runs"
    widget.errors = []
    widget.show_error = lambda title, text: widget.errors.append((title, text))
    yield widget
    widget.shutdown()


def tiny_settings(**changes) -> TrainingSettings:
    """The quickest real run: tiny preset, 2 epochs of 2 steps of 2 windows, on the CPU."""
    return replace(preset_settings("tiny"), epochs=2, batch_size=2, max_steps=2, device="cpu",
                   **changes)


def test_plots_replace_the_tail_on_resume_and_read_history(qtbot, tmp_path):
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    for step, loss in ((1, 1.0), (2, 0.8), (3, 0.7)):
        plots.add_step(step, {"loss": loss, "loss_loc": loss / 2})
    plots.add_step(2, {"loss": 0.75, "loss_loc": 0.3})   # resumed from step 1
    assert plots.steps == [1, 2]
    assert plots.losses["loss"] == [1.0, 0.75]
    assert plots.losses["loss_loc"] == [0.5, 0.3]
    plots.add_epoch(1, {"f1_dr": 0.4, "f1": 0.5})
    plots.add_epoch(1, {"f1_dr": 0.45, "f1": 0.55})
    assert (plots.epochs, plots.f1_dr, plots.f1) == ([1], [0.45], [0.55])
    plots.redraw()
    assert (plots.drawn_steps(), plots.drawn_epochs()) == (2, 1)
    (tmp_path / "log.csv").write_text(
        "kind,epoch,step,global_step,loss,loss_me,loss_state,loss_loc,lr,elapsed_s,train_loss,"
        "val_f1,val_f1_dr,val_f1_speaking,val_f1_listening,val_acc_me,val_acc_state\n"
        "step,1,1,1,0.9,0.1,0.2,0.6,0.0005,1.0,,,,,,,\n"
        "step,1,2,2,0.8,0.1,0.2,0.5,0.0005,2.0,,,,,,,\n"
        "epoch,1,,,,,,,,3.0,0.85,0.5,0.25,0.2,0.3,0.9,0.8\n", encoding="utf-8")
    assert plots.load_history(tmp_path) == 2
    assert plots.steps == [1, 2] and plots.losses["loss_loc"] == [0.6, 0.5]
    assert (plots.epochs, plots.f1_dr, plots.f1) == ([1], [0.25], [0.5])
    assert plots.drawn_steps() == 2


def test_run_clock_estimates_the_remaining_time():
    clock = RunClock()
    clock.on_start(parse_event_line('{"event": "start", "epochs": 2, "steps_per_epoch": 5}'))
    clock.on_progress(parse_event_line('{"event": "step", "global_step": 1, "elapsed_s": 10.0}'))
    assert clock.remaining() is None                 # one step: no rate yet
    clock.on_progress(parse_event_line('{"event": "step", "global_step": 3, "elapsed_s": 14.0}'))
    assert clock.remaining() == pytest.approx(2.0 * 7, abs=0.5)   # 2 s/step, 7 steps left
    assert clock.elapsed_now() == pytest.approx(14.0, abs=0.5)
    assert format_duration(3723) == "1:02:03"
    assert format_duration(65) == "1:05"
    assert format_duration(None) == "–"


# ---------------------------------------------------------------------- widgets
def test_chooser_checks_reviewed_clips_and_refuses_unannotated(qtbot, own_clips):
    names = [c.name for c in discover_clips(own_clips)]
    project = Project(own_clips)
    chooser = ClipChooser()
    qtbot.addWidget(chooser)
    chooser.set_project(project)
    assert [c.name for c in chooser.selected_clips()] == names     # none reviewed: all
    project.update(names[1], review=ClipReview.DONE)
    chooser.set_project(project)
    assert [c.name for c in chooser.selected_clips()] == [names[1]]
    (own_clips / f"{names[0]}.eaf").unlink()
    chooser.set_project(Project(own_clips))
    chooser.check(None)
    assert [c.name for c in chooser.selected_clips()] == [names[1]]
    item = chooser.tree.topLevelItem(0)
    assert not item.flags() & Qt.ItemFlag.ItemIsEnabled
    assert "no .eaf" in item.toolTip(ClipChooser.NAME)


def test_disabled_buttons_say_why(tab, own_clips):
    assert not tab.start_button.isEnabled()
    assert "Check at least one annotated clip" in tab.start_button.toolTip()
    assert "No run in progress" in tab.stop_button.toolTip()
    assert "No stopped run to resume" in tab.resume_button.toolTip()
    assert "No run yet" in tab.use_button.toolTip()
    assert tab.clips.set_folder(own_clips)
    assert tab.start_button.isEnabled()
    assert "2 checked clip(s)" in tab.start_button.toolTip()
    tab.form.lr_new.setText("0")
    assert not tab.start_button.isEnabled()
    assert "LR new parts: must be positive" in tab.start_button.toolTip()
    tab.form.lr_new.setText("5e-4")
    tab.clips.none_button.click()
    assert not tab.start_button.isEnabled()
    tab.form.loc_loss.setCurrentText("mse")
    assert not tab.form.lam.isEnabled() and "has none" in tab.form.lam.toolTip()


def test_progress_events_fill_the_tab(tab):
    lines = ['{"event": "start", "run_dir": "/r", "device": "cpu", "epochs": 2, '
             '"steps_per_epoch": 3, "resumed_from_epoch": 0, "world_size": 1}',
             "INFO something on stdout",
             '{"event": "step", "epoch": 1, "step": 1, "global_step": 1, "loss": 0.9, '
             '"loss_me": 0.1, "loss_state": 0.1, "loss_loc": 0.7, "lr": 0.0005, "elapsed_s": 3.0}',
             '{"event": "epoch", "epoch": 1, "train_loss": 0.8, "val": {"f1": 0.5, '
             '"f1_dr": 0.25}, "elapsed_s": 9.0, "eta_s": 9.0}',
             '{"event": "checkpoint", "kind": "best", "path": "/r/best.safetensors", '
             '"epoch": 1, "f1_dr": 0.25}']
    tab.process._handle_stdout(lines)
    assert tab.status.device_label.text() == "cpu"
    assert tab.status.progress_label.text().startswith("epoch 1/2 · step 1/3")
    assert tab.status.best_label.text() == "epoch 1 · F1_DR 0.250"
    assert tab.plots.steps == [1] and tab.plots.f1_dr == [0.25]
    log_text = tab.log_view.toPlainText()
    assert "INFO something on stdout" in log_text
    assert "[epoch 1] train loss 0.8000, val F1_DR 0.250" in log_text


LOG_HEADER = ("kind,epoch,step,global_step,loss,loss_me,loss_state,loss_loc,lr,elapsed_s,"
              "train_loss,val_f1,val_f1_dr,val_f1_speaking,val_f1_listening,val_acc_me,"
              "val_acc_state\n")


def test_open_run_then_use_its_checkpoint_rescores_the_open_clip(qtbot, window, own_clips,
                                                                 tiny_checkpoint, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    weights = Path(tiny_checkpoint).with_suffix(".safetensors")
    shutil.copy(weights, run / "best.safetensors")
    shutil.copy(weights.with_suffix(".json"), run / "best.json")
    (run / "config.json").write_text(json.dumps({
        "model": {"num_queries": 12},
        "train": {"epochs": 3, "batch_size": 4, "lr_backbone": None, "lr_new": 0.001,
                  "loc_loss": "iou", "lam": 1.0, "max_steps_per_epoch": 5}}), encoding="utf-8")
    (run / "log.csv").write_text(LOG_HEADER + "step,1,1,1,0.9,0.1,0.2,0.6,0.001,1.0,,,,,,,\n"
                                 "step,1,2,2,0.7,0.1,0.2,0.4,0.001,2.0,,,,,,,\n", encoding="utf-8")
    with qtbot.waitSignal(window.scores_ready, timeout=RUN_TIMEOUT_MS):
        window.open_path(own_clips)
    tab = window.training
    tab.ask_run_folder = lambda: run
    tab.open_run_button.click()
    assert tab.run_dir == run and tab.plots.steps == [1, 2]
    settings = tab.form.settings()
    assert (settings.epochs, settings.batch_size, settings.lr_new) == (3, 4, 0.001)
    assert (settings.loc_loss, settings.num_queries, settings.max_steps) == ("iou", 12, 5)
    assert not tab.resume_button.isEnabled()
    assert "No stopped run to resume" in tab.resume_button.toolTip()
    assert tab.use_button.isEnabled(), tab.use_button.toolTip()
    with qtbot.waitSignal(window.scores_ready, timeout=RUN_TIMEOUT_MS):
        tab.use_button.click()
    assert window.scores.checkpoint == run / "best.safetensors"
    assert window.scores.scores.complete
    assert tab.status.model_label.text() == "run/best.safetensors"


def test_open_run_refuses_a_folder_that_is_not_a_run(tab, tmp_path):
    assert not tab.open_run(tmp_path)
    assert tab.errors == [("Not a run folder", f"{tmp_path}: no config.json (not a training "
                           "run folder)")]
    assert tab.run_dir is None


# ---------------------------------------------------------------------- real processes
def test_stop_during_start_up_ends_the_process(qtbot, tab, tmp_path):
    args = train_arguments(tmp_path, tmp_path / "run", tiny_settings())
    with qtbot.waitSignal(tab.process.started, timeout=RUN_TIMEOUT_MS):
        tab.process.start(args)
    assert tab.process.running and tab.stop_button.isEnabled()
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        tab.stop_button.click()
        assert not tab.stop_button.isEnabled()
        assert "Stopping" in tab.stop_button.toolTip()
    assert blocker.args[0] == STOPPED
    assert tab.errors == [] and not tab.process.running


def test_a_bad_flag_fails_with_the_trainers_message(qtbot, tab, tmp_path):
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        tab.process.start(["train", str(tmp_path), "--out", str(tmp_path / "r"),
                           "--no-such-flag"])
    outcome, message = blocker.args
    assert outcome == FAILED
    assert "exited with status 2" in message
    assert "unrecognized arguments: --no-such-flag" in message
    assert tab.errors == [("Training failed", message)]
    assert tab.status.error_label.isVisibleTo(tab)
    assert tab.status.state_label.text() == "Failed"
    assert not tab.process.running


def test_an_empty_folder_fails_with_the_error_event(qtbot, tab, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = train_arguments(empty, tmp_path / "run", tiny_settings())
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as blocker:
        tab.process.start(args)
    assert blocker.args == [FAILED, f"{empty}: no clips (videos) found"]
    assert tab.errors == [("Training failed", f"{empty}: no clips (videos) found")]
    assert f"[error] {empty}: no clips (videos) found" in tab.log_view.toPlainText()


@pytest.mark.slow
def test_train_stop_resume_and_use_the_checkpoint(qtbot, window, tmp_path, tiny_checkpoint):
    """A real tiny run from the window's tab, fine-tuning the window's model: curves fill,
    stop, resume, activate."""
    from meldae.data.synth import synthesize

    clips = tmp_path / "train_clips"
    # 72 frames: the training clip holds 4 windows of the tiny preset's 32 frames (2 steps)
    synthesize(clips, clips=3, seed=1, frames=72, fps=30, size=64)
    with qtbot.waitSignal(window.scores_ready, timeout=RUN_TIMEOUT_MS):
        window.open_path(clips)
    tab = window.training
    tab.errors = []
    tab.show_error = lambda title, text: tab.errors.append((title, text))
    tab.runs_root = tmp_path / "runs"
    window.tabs.setCurrentWidget(tab)                  # the tab follows the open project
    assert len(tab.clips.selected_clips()) == 3
    tab.form.set_settings(tiny_settings())
    assert tab.form.init_from() == Path(tiny_checkpoint)     # "Active model" by default
    assert tab.start()
    assert not tab.start_button.isEnabled() and tab.stop_button.isEnabled()
    assert "in progress" in tab.use_button.toolTip()
    qtbot.waitUntil(lambda: tab.plots.drawn_steps() >= 1, timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as stopped:
        tab.stop_button.click()
    assert stopped.args[0] == STOPPED
    run = tab.run_dir
    assert (run / "last.safetensors").is_file() and (run / "train_state.json").is_file()
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    assert config["train"]["init_from"] == str(Path(tiny_checkpoint).resolve())
    assert config["train"]["lr_backbone"] == 1e-5             # fine-tuning's default
    assert tab.resume_button.isEnabled(), tab.resume_button.toolTip()
    assert tab.status.device_label.text() == "cpu"
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        tab.resume_button.click()
    assert finished.args[0] == FINISHED, finished.args[1]
    assert tab.plots.steps == [1, 2, 3, 4]             # history + the resumed steps, no gap
    qtbot.waitUntil(lambda: tab.plots.drawn_epochs() == 2, timeout=5000)
    assert tab.errors == []
    assert tab.use_button.isEnabled(), tab.use_button.toolTip()
    assert "raise Epochs above 2" in tab.resume_button.toolTip()
    with qtbot.waitSignal(window.scores_ready, timeout=RUN_TIMEOUT_MS):
        tab.use_button.click()
    assert window.scores.checkpoint == run / "best.safetensors"
    assert window.scores.scores.info["meta"]["trained_on"] == str(clips.resolve())
    assert window.scores.scores.info["meta"]["init_from"] == config["train"]["init_from"]
    assert tab.status.model_label.text() == f"{run.name}/best.safetensors"


# ---------------------------------------------------------------------- start from (fine-tuning)
@pytest.fixture(scope="module")
def five_query_checkpoint(tmp_path_factory) -> Path:
    """A ``tiny`` checkpoint with N = 5 queries (the form shows the checkpoint's N)."""
    import torch

    from meldae.checkpoint import save_checkpoint
    from meldae.model import MELDAE, preset

    torch.manual_seed(0)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt5") / "tuned-model",
                           MELDAE(preset("tiny", num_queries=5)))


def test_start_from_defaults_to_the_active_model_and_locks_its_shape(qtbot, tmp_path,
                                                                       five_query_checkpoint):
    from app.training.form import SHAPE_FROM_CHECKPOINT
    from meldae.cli import build_parser

    widget = TrainingTab(checkpoint_getter=lambda: five_query_checkpoint)
    qtbot.addWidget(widget)
    form = widget.form
    assert form.start_from.count() == 3
    assert form.start_from.currentText() == "Active model (tuned-model)"
    assert form.start_from.itemText(1) == "ImageNet weights (backbone)"
    assert form.start_from.itemText(2) == "New model (preset tiny)"
    assert form.init_from() == five_query_checkpoint
    assert (form.preset.currentText(), form.num_queries.value()) == ("tiny", 5)
    for control in (form.preset, form.num_queries):
        assert not control.isEnabled() and control.toolTip() == SHAPE_FROM_CHECKPOINT
    args = train_arguments(tmp_path / "d", tmp_path / "r", form.settings())
    assert args[args.index("--init-from") + 1] == str(five_query_checkpoint)
    assert "--preset" not in args and "--num-queries" not in args
    parsed = build_parser().parse_args(args)
    assert parsed.init_from == five_query_checkpoint and parsed.preset is None

    form.start_from.setCurrentIndex(2)                       # a new model after all
    assert form.init_from() is None and form.preset.isEnabled() and form.num_queries.isEnabled()
    assert form.num_queries.toolTip() != SHAPE_FROM_CHECKPOINT
    args = train_arguments(tmp_path / "d", tmp_path / "r", form.settings())
    assert "--init-from" not in args and args[args.index("--preset") + 1] == "tiny"
    assert "--no-pretrained" in args and build_parser().parse_args(args).pretrained is False
    form.set_active_checkpoint(five_query_checkpoint)        # the user's choice is kept
    assert form.init_from() is None and form.start_from.currentIndex() == 2

    form.start_from.setCurrentIndex(1)                       # ImageNet weights for the backbone
    assert form.init_from() is None and form.preset.isEnabled()
    args = train_arguments(tmp_path / "d", tmp_path / "r", form.settings())
    parsed = build_parser().parse_args(args)
    assert parsed.pretrained is True and parsed.init_from is None and parsed.preset == "tiny"
    form.set_active_checkpoint(five_query_checkpoint)
    assert form.start_from.currentText() == "ImageNet weights (backbone)"
    widget.shutdown()


def test_epochs_at_their_default_follow_the_start(qtbot):
    from meldae.paths import demo_checkpoint
    from meldae.train.config import FINE_TUNE_EPOCHS, train_preset

    widget = TrainingTab(checkpoint_getter=lambda: demo_checkpoint())
    qtbot.addWidget(widget)
    form = widget.form
    widget.refresh_active_checkpoint()
    tune, new = FINE_TUNE_EPOCHS["lite"], train_preset("lite").epochs
    assert form.init_from() == demo_checkpoint() and form.preset.currentText() == "lite"
    assert form.epochs.value() == tune                      # fine-tuning the demo: fewer passes
    form.start_from.setCurrentIndex(form.start_from.count() - 1)
    assert form.init_from() is None and form.epochs.value() == new
    form.epochs.setValue(7)                                 # the user's own number stays
    form.start_from.setCurrentIndex(0)
    assert form.init_from() == demo_checkpoint() and form.epochs.value() == 7
    widget.shutdown()


def test_start_from_without_a_model_or_with_a_broken_one(tab, tmp_path, own_clips):
    form = tab.form
    assert [form.start_from.itemText(i) for i in range(form.start_from.count())] == \
        ["ImageNet weights (backbone)", "New model (preset lite)"]
    assert form.init_from() is None and form.preset.isEnabled()
    tab.checkpoint_getter = lambda: tmp_path / "gone.safetensors"
    tab.clips.set_folder(own_clips)
    tab.refresh_active_checkpoint()
    assert form.start_from.currentText() == "Active model (gone)"
    assert form.problem().startswith("Start from:") and "gone.json" in form.problem()
    assert not tab.start_button.isEnabled()
    assert "gone.json" in tab.start_button.toolTip()


def test_main_window_offers_its_model_for_fine_tuning(window, tiny_checkpoint):
    assert window.active_checkpoint() == Path(tiny_checkpoint)
    window.training.refresh_active_checkpoint()
    assert window.training.form.init_from() == Path(tiny_checkpoint)
