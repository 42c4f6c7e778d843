"""The paper's experiments: the catalogue, the results table and plot, a real (tiny) run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from meldae.experiments import (
    EXPERIMENTS,
    describe_experiments,
    get_experiment,
    plot_curves,
    results_markdown,
)
from meldae.train.config import resolve_configs

sys.path.insert(0, str(Path(__file__).resolve().parent))   # train_fakes (importlib mode)
from train_fakes import make_synth_folder, one_thread, small_config_file  # noqa: E402


def test_catalogue_holds_the_papers_tables():
    table3 = get_experiment("table3")
    assert [v.name for v in table3.variants] == [
        "full", "no_enhancer", "resnet50", "no_lstm", "no_state_loss", "loss_bce", "loss_iou",
        "loss_focal_tversky"]
    assert {v.name: v.paper_f1_dr for v in table3.variants}["no_enhancer"] == 18.87
    lam = get_experiment("table4_lambda")
    assert [v.train["lam"] for v in lam.variants] == [0.5, 1.0, 1.5, 2.0]
    tokens = get_experiment("table4_tokens")
    assert [v.model["num_queries"] for v in tokens.variants] == [4, 8, 16, 32]
    fig4 = get_experiment("fig4")
    assert fig4.plot_curves
    assert [v.train["loc_loss"] for v in fig4.variants] == [
        "bal", "bce", "iou", "smooth_l1", "mse", "mae"]
    assert "full" in EXPERIMENTS and "no_lstm" in EXPERIMENTS   # Table 3 rows run alone too
    assert any(line.startswith("fig4") for line in describe_experiments())
    with pytest.raises(KeyError, match="known"):
        get_experiment("table9")


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_variant_is_a_valid_configuration(name):
    for variant in get_experiment(name).variants:
        model_cfg, train_cfg = resolve_configs("tiny", None, dict(variant.model),
                                               dict(variant.train))
        for key, value in variant.model.items():
            assert getattr(model_cfg, key) == value
        for key, value in variant.train.items():
            assert getattr(train_cfg, key) == value


def test_results_table_and_plot(tmp_path):
    exp = get_experiment("fig4")
    rows = [{"name": v.name, "label": v.label, "paper_f1_dr": v.paper_f1_dr, "best_epoch": 2,
             "val": {"f1_dr": 0.1234, "f1": 0.2}, "f1_dr_per_epoch": [0.05, 0.1234, None],
             "test": None} for v in exp.variants]
    text = results_markdown(exp, rows, "tiny", Path("data"))
    line = next(l for l in text.splitlines() if l.startswith("| BAL"))
    assert line == "| BAL (ours) | 32.00 | – | – | 12.34 | 2 | here |"
    png = plot_curves(rows, tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_experiment_command_runs_a_variant(tmp_path, capsys):
    from meldae.cli import main

    data = tmp_path / "data"
    make_synth_folder(data)
    assert main(["experiment", "--list"]) == 0
    assert "table3" in capsys.readouterr().out
    with one_thread():
        status = main(["experiment", "no_lstm", str(data), "--out", str(tmp_path / "exp"),
                       "--preset", "tiny", "--config", str(small_config_file(tmp_path / "c.json"))])
    assert status == 0
    doc = json.loads((tmp_path / "exp" / "results.json").read_text())
    (row,) = doc["runs"]
    assert row["name"] == "no_lstm" and row["paper_f1_dr"] == 28.05
    assert len(row["f1_dr_per_epoch"]) == 1 and row["best_epoch"] == 1
    assert row["test"] is not None and "f1_dr" in row["test"]     # the folder has a test split
    config = json.loads((tmp_path / "exp" / "no_lstm" / "config.json").read_text())
    assert config["model"]["use_lstm"] is False and config["model"]["num_frames"] == 8
    assert "w/o Bi-LSTM | 28.05" in (tmp_path / "exp" / "results.md").read_text()
