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
    # warm-up of one step: the first step runs at the full new-parts rate
    assert step["lr"] == pytest.approx(1e-3)                  # the tiny preset's lr_new
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
def test_it_learns_synthetic_micro_expressions(tmp_path):
    """bench/learns.py with its defaults (48 synthetic clips, the tiny preset, 1,000 steps on
    two CPU threads, ~7 min): F1 >= 0.5 on four held-out subjects and better than both LBP
    baselines (docs/bench-train.md: 0.79 against 0.10 and 0.21)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))   # bench_scripts (importlib mode)
    from bench_scripts import load_bench

    learns = load_bench("learns")
    out = tmp_path / "learns.json"
    threads = torch.get_num_threads()
    try:
        status = learns.main(["--out", str(tmp_path), "--json", str(out), "--threads", "2"])
    finally:
        torch.set_num_threads(threads)
    doc = json.loads(out.read_text())
    f1 = doc["model"]["test"]["f1"]
    assert doc["model"]["steps"] == 1000 and doc["model"]["model"]["num_frames"] == 32
    assert f1 >= 0.5, doc["model"]["test"]
    assert all(f1 > b["test"]["f1"] for b in doc["baselines"].values()), doc["baselines"]
    assert status == 0 and doc["passed"]


# ------------------------------------------------------------------ fine-tuning (--init-from)
def _small_ckpt(path, seed: int = 123, **overrides):
    """A checkpoint of the shrunk tiny model (8 frames of 32 px) with seeded weights."""
    from meldae.checkpoint import save_checkpoint
    from meldae.model import MELDAE, preset

    torch.manual_seed(seed)
    cfg = preset("tiny", img_size=32, num_frames=8, region_grid=2, **overrides)
    return save_checkpoint(path, MELDAE(cfg), meta={"note": "init"})


def _train_only_config(path):
    """Training settings only (no model section): one epoch of one step, no warm-up."""
    path.write_text(json.dumps({"train": {"epochs": 1, "max_steps_per_epoch": 1,
                                          "batch_size": 2, "num_workers": 0,
                                          "warmup_steps": 0}}))
    return path


def _two_clip_folder(folder):
    from meldae.data import synthesize
    from meldae.data.clipfolder import write_splits_csv

    infos = synthesize(folder, clips=2, seed=3, frames=40, size=128, mes_per_10s=12.0)
    write_splits_csv(folder / "splits.csv", [(c.name, c.subject, "train") for c in infos])


def test_init_from_trains_from_the_checkpoint_weights_and_resumes(tmp_path, caplog):
    from meldae.cli import main

    data, run = tmp_path / "clips", tmp_path / "run"
    _two_clip_folder(data)
    ckpt = _small_ckpt(tmp_path / "init")
    cfg = _train_only_config(tmp_path / "train.json")
    # Learning rates of 1e-12: one AdamW step moves a weight by ~1e-12, so the weights
    # after the step are the initial weights (a random init differs by ~1e-2).
    argv = ["train", str(data), "--out", str(run), "--init-from", str(ckpt), "--config",
            str(cfg), "--device", "cpu", "--lr-new", "1e-12", "--lr-backbone", "1e-12"]
    assert main(argv) == 0
    init = load_file(str(ckpt))
    last = load_file(str(run / "last.safetensors"))
    assert set(last) == set(init)
    assert max((last[k].float() - init[k].float()).abs().max().item() for k in init) < 1e-8
    scratch = _small_ckpt(tmp_path / "scratch", seed=0)
    assert max((load_file(str(scratch))[k] - init[k]).abs().max().item() for k in init) > 1e-3
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["init_from"] == str(ckpt.resolve())
    assert config["model"]["num_frames"] == 8 and config["model"]["img_size"] == 32
    assert config["train"]["lr_backbone"] == 1e-12              # the flag wins
    meta = json.loads((run / "last.json").read_text())["meta"]
    assert meta["init_from"] == str(ckpt.resolve()) and meta["global_step"] == 1

    # --resume continues the run from its own state; --init-from is ignored (logged).
    other = _small_ckpt(tmp_path / "other", seed=5)
    with caplog.at_level("INFO", logger="meldae.cli.train_cmds"):
        assert main(["train", str(data), "--out", str(run), "--resume", "--epochs", "2",
                     "--device", "cpu", "--init-from", str(other)]) == 0
    assert "--init-from is ignored on --resume" in caplog.text
    resumed = json.loads((run / "last.json").read_text())["meta"]
    assert resumed["global_step"] == 2 and resumed["init_from"] == str(ckpt.resolve())
    last = load_file(str(run / "last.safetensors"))
    assert max((last[k].float() - init[k].float()).abs().max().item() for k in init) < 1e-8


def _parse_train(argv):
    from meldae.cli import build_parser

    return build_parser().parse_args(["train", "data", "--out", "run", *argv])


def test_init_from_takes_the_model_from_the_checkpoint(tmp_path):
    from meldae.cli.train_cmds import _configs_for_train
    from meldae.model import preset

    ckpt = _small_ckpt(tmp_path / "init", num_queries=3)
    model_cfg, train_cfg = _configs_for_train(_parse_train(["--init-from", str(ckpt)]))
    assert model_cfg.num_queries == 3 and model_cfg.img_size == 32
    assert not model_cfg.pretrained and model_cfg.weights_path is None
    assert train_cfg.lr_backbone == 1e-5            # a pretrained backbone's default
    assert train_cfg.init_from == str(ckpt.resolve())
    _, train_cfg = _configs_for_train(_parse_train(["--init-from", str(ckpt),
                                                    "--lr-backbone", "3e-4"]))
    assert train_cfg.lr_backbone == 3e-4
    # the checkpoint is exactly the tiny preset: --preset tiny agrees with it
    from meldae.checkpoint import save_checkpoint
    from meldae.model import MELDAE

    exact = save_checkpoint(tmp_path / "tiny", MELDAE(preset("tiny")))
    model_cfg, train_cfg = _configs_for_train(_parse_train(["--init-from", str(exact),
                                                            "--preset", "tiny"]))
    assert model_cfg == preset("tiny") and train_cfg.batch_size == 4   # tiny's training preset


@pytest.mark.parametrize("flags, expected", [
    (["--num-queries", "5"], "num_queries=5 (checkpoint: 3)"),
    (["--preset", "lite"], "img_size=160 (checkpoint: 32)"),
])
def test_init_from_rejects_flags_that_change_the_model(tmp_path, capsys, flags, expected):
    from meldae.cli import main

    ckpt = _small_ckpt(tmp_path / "init", num_queries=3)
    status = main(["train", str(tmp_path), "--out", str(tmp_path / "run"),
                   "--init-from", str(ckpt), *flags])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1
    assert err.startswith("meldae: error: --init-from") and expected in err
    assert not (tmp_path / "run").exists()


def test_init_from_a_missing_or_foreign_file_is_one_line(tmp_path, capsys):
    from meldae.cli import main

    status = main(["train", str(tmp_path), "--out", str(tmp_path / "run"),
                   "--init-from", str(tmp_path / "nope.safetensors")])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and "nope.json" in err
    (tmp_path / "other.json").write_text(json.dumps({"format": "something-else"}))
    (tmp_path / "other.safetensors").write_bytes(b"")
    status = main(["train", str(tmp_path), "--out", str(tmp_path / "run"),
                   "--init-from", str(tmp_path / "other.safetensors")])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and "not a MELDAE checkpoint" in err
