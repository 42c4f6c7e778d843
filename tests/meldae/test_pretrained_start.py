"""Pretrained starts from the command line: --pretrained / --no-pretrained / --weights FILE."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))   # test_train helpers (importlib mode)
from test_train import _parse_train, _train_only_config, _two_clip_folder  # noqa: E402


def _save_tiny_backbone(path: Path) -> dict[str, torch.Tensor]:
    """A timm state dict of the tiny preset's backbone (ViT-Ti/16, 2 blocks, 64 px)."""
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(321)
    backbone = timm.create_model("vit_tiny_patch16_224", num_classes=0, img_size=64, depth=2)
    state = {k: v.contiguous() for k, v in backbone.state_dict().items()}
    save_file(state, str(path))
    return state


def test_paper_preset_asks_for_imagenet_weights_and_the_flags_override():
    from meldae.cli.train_cmds import _configs_for_train
    from meldae.model import preset

    assert preset("paper").pretrained and not preset("lite").pretrained
    model_cfg, train_cfg = _configs_for_train(_parse_train(["--preset", "paper"]))
    assert model_cfg.pretrained and train_cfg.backbone_lr(True) == 1e-5
    model_cfg, _ = _configs_for_train(_parse_train(["--preset", "paper", "--no-pretrained"]))
    assert not model_cfg.pretrained
    model_cfg, _ = _configs_for_train(_parse_train(["--preset", "tiny", "--pretrained"]))
    assert model_cfg.pretrained


def _max_backbone_diff(run: Path, state: dict[str, torch.Tensor]) -> float:
    last = load_file(str(run / "last.safetensors"))
    keys = [k for k in state if f"encoder.backbone.{k}" in last]
    assert len(keys) == len(state)
    return max((last[f"encoder.backbone.{k}"].float() - state[k].float()).abs().max().item()
               for k in keys)


def test_weights_file_starts_the_backbone_and_gets_the_paper_backbone_lr(tmp_path):
    from meldae.cli import main

    data = tmp_path / "clips"
    _two_clip_folder(data)
    weights = tmp_path / "vit_tiny.safetensors"
    state = _save_tiny_backbone(weights)
    cfg = _train_only_config(tmp_path / "train.json")
    common = ["--preset", "tiny", "--config", str(cfg), "--device", "cpu"]
    assert main(["train", str(data), "--out", str(tmp_path / "run"), "--weights", str(weights),
                 *common]) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"]["weights_path"] == str(weights.resolve())
    # One AdamW step at the backbone's 1e-5 moves a weight by about 1e-5; at lr_new (1e-3
    # for tiny) it would move by about 1e-3, and a random init differs by about 1e-2.
    assert _max_backbone_diff(tmp_path / "run", state) < 1e-4
    assert main(["train", str(data), "--out", str(tmp_path / "scratch"), "--no-pretrained",
                 *common]) == 0
    assert _max_backbone_diff(tmp_path / "scratch", state) > 1e-3


def test_offline_pretrained_is_one_line_naming_both_ways_out(tmp_path, capsys, monkeypatch):
    from meldae.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    data = tmp_path / "clips"
    _two_clip_folder(data)
    status = main(["train", str(data), "--out", str(tmp_path / "run"), "--preset", "tiny",
                   "--pretrained", "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and err.startswith("meldae: error:")
    assert "internet" in err and "--weights FILE" in err and "--no-pretrained" in err
    status = main(["train", str(data), "--out", str(tmp_path / "run"), "--preset", "tiny",
                   "--weights", str(tmp_path / "missing.safetensors")])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1
    assert "missing.safetensors: backbone weights file not found" in err


def test_init_from_with_pretrained_flags_is_refused(tmp_path, capsys):
    from meldae.cli import main

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_train import _small_ckpt

    ckpt = _small_ckpt(tmp_path / "init")
    status = main(["train", str(tmp_path), "--out", str(tmp_path / "run"), "--init-from",
                   str(ckpt), "--pretrained"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and "--init-from starts every weight from the checkpoint" in err


@pytest.mark.parametrize("flag", ["--pretrained", "--no-pretrained"])
def test_pretrained_flags_parse(flag):
    args = _parse_train([flag])
    assert args.pretrained is (flag == "--pretrained")
    assert _parse_train([]).pretrained is None


def test_lite_starts_from_the_bundled_demo_model_unless_asked_otherwise(tmp_path, caplog):
    import logging

    from meldae.cli.train_cmds import _configs_for_train
    from meldae.model import preset
    from meldae.paths import demo_checkpoint

    demo = str(demo_checkpoint().resolve())
    for argv in ([], ["--preset", "lite"], ["--epochs", "2"]):
        with caplog.at_level(logging.INFO, logger="meldae.cli.train_cmds"):
            model_cfg, train_cfg = _configs_for_train(_parse_train(argv))
        assert train_cfg.init_from == demo, argv
        assert model_cfg.img_size == preset("lite").img_size and not model_cfg.pretrained
        assert train_cfg.lr_backbone == 1e-5            # a trained backbone is fine-tuned gently
        assert train_cfg.epochs == (2 if "--epochs" in argv else 6)   # FINE_TUNE_EPOCHS["lite"]
    assert "bundled demo model" in caplog.text and "--no-pretrained" in caplog.text
    # every way of asking for another start, or another model, gets a new model
    config = tmp_path / "model.json"
    config.write_text(json.dumps({"model": {"num_queries": 5}}))
    for argv in (["--no-pretrained"], ["--pretrained"], ["--preset", "tiny"],
                 ["--num-queries", "4"], ["--config", str(config)],
                 ["--weights", str(tmp_path / "w.safetensors")]):
        _, train_cfg = _configs_for_train(_parse_train(argv))
        assert train_cfg.init_from is None, argv
    # a train-only config file keeps the default start
    config.write_text(json.dumps({"train": {"lr_new": 1e-4}}))
    _, train_cfg = _configs_for_train(_parse_train(["--config", str(config)]))
    assert train_cfg.init_from == demo and train_cfg.lr_new == 1e-4 and train_cfg.epochs == 6
    config.write_text(json.dumps({"train": {"epochs": 3}}))
    _, train_cfg = _configs_for_train(_parse_train(["--config", str(config)]))
    assert train_cfg.init_from == demo and train_cfg.epochs == 3


def test_without_the_demo_file_lite_starts_from_random_weights(monkeypatch, caplog):
    import logging

    import meldae.paths
    from meldae.cli.train_cmds import _configs_for_train

    monkeypatch.setattr(meldae.paths, "demo_checkpoint", lambda: Path("/nonexistent/demo.safetensors"))
    with caplog.at_level(logging.WARNING, logger="meldae.cli.train_cmds"):
        model_cfg, train_cfg = _configs_for_train(_parse_train([]))
    assert train_cfg.init_from is None and not model_cfg.pretrained
    assert "demo model" in caplog.text and "missing" in caplog.text
