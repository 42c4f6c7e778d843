"""``meldae experiment`` as the paper ran it (issue 12, item 2): paper defaults, a test
split created when missing, identical runs shared, Table 2, and a tiny end-to-end run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from meldae.experiments import get_experiment
from meldae.experiments.protocol import config_digest, held_out_split
from meldae.experiments.runs import variant_configs
from meldae.train.config import resolve_configs

sys.path.insert(0, str(Path(__file__).resolve().parent))   # train_fakes (importlib mode)
from train_fakes import make_synth_folder, one_thread, small_config_file  # noqa: E402


def _variant(experiment, name):
    return next(v for v in get_experiment(experiment).variants if v.name == name)


def test_command_defaults_are_the_papers():
    from meldae.cli import build_parser

    args = build_parser().parse_args(["experiment", "table3", "data", "--out", "o"])
    assert args.preset == "paper" and args.epochs is None
    model, train = resolve_configs(args.preset)
    assert model.pretrained and not model.motion_features and not model.frame_evidence
    assert (train.epochs, train.batch_size) == (20, 16)


def test_identical_configurations_have_one_key(tmp_path):
    same = [("table3", "full"), ("table4_lambda", "lambda_1"), ("table4_tokens", "tokens_16"),
            ("fig4", "bal"), ("table2", "full")]
    keys = {config_digest(*variant_configs(_variant(e, v), "paper", None, None, None), tmp_path)
            for e, v in same}
    assert len(keys) == 1
    other = config_digest(*variant_configs(_variant("table4_lambda", "lambda_2"), "paper",
                                            None, None, None), tmp_path)
    assert other not in keys
    assert config_digest(*variant_configs(_variant("table3", "full"), "paper", None, None, None),
                         tmp_path / "elsewhere") not in keys          # other data, other run


@pytest.fixture(scope="module")
def unsplit(tmp_path_factory):
    """The synthetic folder of the trainer tests, its split column emptied."""
    data = tmp_path_factory.mktemp("unsplit") / "data"
    infos = make_synth_folder(data)
    lines = (data / "splits.csv").read_text().splitlines()
    (data / "splits.csv").write_text("\n".join([lines[0]] + [",".join(l.split(",")[:2] + [""])
                                                              for l in lines[1:]]) + "\n")
    return data, infos


def test_test_split_created_when_missing_and_kept_when_given(unsplit, tmp_path):
    data, infos = unsplit
    _, train = resolve_configs("tiny")
    split = held_out_split(data, train)
    assert split.test_fraction == 0.2 and len(split.subjects) == 1 and len(split.clips) == 2
    assert "created by the experiment" in split.describe()
    fixed = make_synth_folder(tmp_path / "fixed")
    own = held_out_split(tmp_path / "fixed", train)
    assert own.test_fraction is None and own.clips == sorted(c.name for c in fixed)[-2:]


@pytest.mark.slow
def test_table2_then_a_table3_row_end_to_end_on_cpu(unsplit, tmp_path, capsys, monkeypatch):
    """A tiny smoke run: Table 2 (two baselines, two models), then Table 3's `full` row,
    which is the same configuration as Table 2's MELDAE and is not trained again."""
    from meldae.cli import main

    data, _ = unsplit
    monkeypatch.setenv("MELDAE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "exp"
    config = str(small_config_file(tmp_path / "c.json"))
    with one_thread():
        status = main(["experiment", "table2", str(data), "--out", str(out), "--preset", "tiny",
                       "--config", config, "--device", "cpu"])
    assert status == 0
    doc = json.loads((out / "results.json").read_text())
    assert [r["label"] for r in doc["runs"]] == ["LBP-TOP", "LBP-SIP", "MELDAE* (w/o Enhancer)",
                                                "MELDAE (Full)"]
    assert doc["test_split"]["created"] and len(doc["test_split"]["clips"]) == 2
    for row in doc["runs"]:
        assert {"f1_speaking", "f1_listening", "f1_dr"} <= set(row["test"])
    assert "acc_me" in doc["runs"][-1]["test"]
    text = capsys.readouterr().out
    assert "| Model | F1_speaking | F1_listening | F1_DR |" in text and "created by the experiment" in text
    with one_thread():
        status = main(["experiment", "full", str(data), "--out", str(out), "--preset", "tiny",
                       "--config", config, "--device", "cpu"])
    assert status == 0
    (row,) = json.loads((out / "results.json").read_text())["runs"]
    assert row["shared_with"] == str(out / "full") and row["test"] == doc["runs"][-1]["test"]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["full", "no_enhancer"]
