"""The trainer: exact resume, stop on SIGTERM, run-folder files, progress events, errors."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from meldae.checkpoint import load_checkpoint
from meldae.train.loop import Trainer

sys.path.insert(0, str(Path(__file__).resolve().parent))   # train_fakes (importlib mode)
from train_fakes import (  # noqa: E402
    WindowsFake,
    one_thread,
    tiny_model_cfg,
    tiny_train_cfg,
    val_clips,
)


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


def _trainer(run_dir, dataset=None, **train_overrides):
    return Trainer(tiny_model_cfg(), tiny_train_cfg(**train_overrides), run_dir,
                   dataset or WindowsFake(), val_clips(), device="cpu", progress_bar=False)


def test_resume_continues_the_same_loss_curve(tmp_path):
    straight = _trainer(tmp_path / "a").fit()
    assert len(straight.step_losses) == 4 and not straight.stopped

    # Stop in the middle of epoch 1, again right after epoch 2's first step, then finish.
    first = _trainer(tmp_path / "b").fit(stop_after_steps=1)
    assert first.stopped and first.epochs_done == 0
    second = _trainer(tmp_path / "b").fit(resume=True, stop_after_steps=2)
    assert second.stopped and second.epochs_done == 1
    third = _trainer(tmp_path / "b").fit(resume=True)
    assert not third.stopped and third.epochs_done == 2

    resumed = first.step_losses + second.step_losses + third.step_losses
    assert resumed == straight.step_losses                      # bit-identical
    a = load_file(str(tmp_path / "a" / "last.safetensors"))
    b = load_file(str(tmp_path / "b" / "last.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert third.best_epoch == straight.best_epoch


def test_run_folder_and_checkpoint_meta(tmp_path):
    result = _trainer(tmp_path).fit()
    for name in ("config.json", "best.safetensors", "best.json", "last.safetensors",
                 "last.json", "train_state.safetensors", "train_state.json", "log.csv"):
        assert (tmp_path / name).is_file(), name
    model, doc = load_checkpoint(result.best_checkpoint)
    meta = doc["meta"]
    assert meta["epoch"] == result.best_epoch
    post = meta["postprocessing"]
    assert 0.0 < post["threshold"] < 1.0 and "validation" in post["source"]
    assert set(meta["val"]) >= {"f1", "f1_speaking", "f1_listening", "f1_dr", "acc_me",
                                "acc_state", "precision", "recall"}
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"]["num_frames"] == 4 and config["train"]["batch_size"] == 2
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert sum(r.startswith("step,") for r in rows) == 4
    assert sum(r.startswith("epoch,") for r in rows) == 2


def test_progress_events_follow_the_schema(tmp_path):
    out = io.StringIO()
    with redirect_stdout(out):
        Trainer(tiny_model_cfg(), tiny_train_cfg(epochs=1), tmp_path, WindowsFake(),
                val_clips(), device="cpu", json_progress=True).fit()
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds == ["start", "step", "step", "epoch", "checkpoint", "checkpoint", "done"]
    start, step, epoch = events[0], events[1], events[3]
    assert set(start) == {"event", "run_dir", "device", "epochs", "steps_per_epoch",
                          "resumed_from_epoch", "world_size"}
    assert (start["steps_per_epoch"], start["world_size"], start["device"]) == (2, 1, "cpu")
    assert set(step) >= {"epoch", "step", "global_step", "loss", "loss_me", "loss_state",
                         "loss_loc", "lr", "elapsed_s"}
    assert (step["epoch"], step["step"], step["global_step"]) == (1, 1, 1)
    # warm-up of one step: the first step runs at the full new-parts rate (5e-4)
    assert step["lr"] == pytest.approx(5e-4)
    assert set(epoch) == {"event", "epoch", "train_loss", "val", "elapsed_s", "eta_s"}
    assert {e["kind"] for e in events[4:6]} == {"best", "last"}
    best = next(e for e in events if e.get("kind") == "best")
    assert best["path"].endswith("best.safetensors") and "f1_dr" in best
    assert events[-1]["best_checkpoint"].endswith("best.safetensors")
    assert events[-1]["best_epoch"] == 1


def test_sigterm_finishes_the_step_and_leaves_a_usable_checkpoint(tmp_path):
    def on_item(count):            # the first item of the second step: ask to stop
        if count == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    handler_before = signal.getsignal(signal.SIGTERM)
    result = _trainer(tmp_path, WindowsFake(on_item=on_item)).fit()
    assert result.stopped and len(result.step_losses) == 2    # the running step finished
    assert signal.getsignal(signal.SIGTERM) is handler_before  # handler restored
    model, doc = load_checkpoint(tmp_path / "last.safetensors")
    assert doc["meta"]["global_step"] == 2
    state = json.loads((tmp_path / "train_state.json").read_text())
    assert (state["position"]["epoch"], state["position"]["step"]) == (0, 2)


def test_train_command_reports_errors_as_events(tmp_path, capsys):
    from meldae.cli import main

    empty = tmp_path / "empty"
    empty.mkdir()
    status = main(["train", str(empty), "--out", str(tmp_path / "run"), "--preset", "tiny",
                   "--json-progress"])
    out, err = capsys.readouterr()
    assert status == 2
    event = json.loads(out.strip().splitlines()[-1])
    assert event["event"] == "error" and "no clips" in event["message"]
    assert err.strip().startswith("meldae: error:") and len(err.strip().splitlines()) == 1
    status = main(["train", str(empty), "--out", str(tmp_path / "run"), "--resume"])
    assert status == 2 and "nothing to resume" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.xfail(strict=False, reason="the tiny preset does not yet learn the synthetic MEs "
                   "within a CPU budget (F1 0.14 after 160 steps): see docs/bench-train.md")
def test_it_learns_synthetic_micro_expressions(tmp_path):
    """bench/learns.py: tiny preset, bounded CPU steps, F1 >= 0.5 on held-out subjects and
    better than both LBP baselines."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "bench" / "learns.py"
    spec = importlib.util.spec_from_file_location("bench_learns", path)
    learns = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(learns)
    out = tmp_path / "learns.json"
    with one_thread():
        learns.main(["--out", str(tmp_path), "--json", str(out)])
    doc = json.loads(out.read_text())
    f1 = doc["model"]["test"]["f1"]
    assert f1 >= 0.5
    assert all(f1 > b["test"]["f1"] for b in doc["baselines"].values())
