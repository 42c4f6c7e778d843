"""bench/learns_real.py as a test: trained on one real person, tested on another."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench" / "learns_real.py"
VIDEOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "video"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_learns_real", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.timeout(2400)
@pytest.mark.skipif(not (VIDEOS / "single_face.mp4").is_file(), reason="needs ../shared/data/video")
def test_it_learns_from_one_real_face_and_carries_over_to_another(tmp_path):
    """bench/learns_real.py's data (32 clips of one woman, 6 of a man it never sees) with the
    tiny preset for 4 epochs (~10 min on 2 CPU cores). The loss falls and the last epoch's
    speaking state carries over to the new face (held-out AUC 0.86-0.95 in four runs,
    0.54-0.57 before region flow and the state-loss change). Spotting is reported, not asserted: with
    the epoch chosen on the training person's validation clips it varies from run to run
    (F1 0.08-0.29 against 0.10-0.19 for the best baseline; S_loc AUC 0.43-0.59;
    docs/benchmarks.md)."""
    out = tmp_path / "learns.json"
    threads = torch.get_num_threads()
    try:
        _bench().main(["--out", str(tmp_path), "--json", str(out), "--preset", "tiny",
                       "--epochs", "4", "--videos", str(VIDEOS)])
    finally:
        torch.set_num_threads(threads)
    doc = json.loads(out.read_text())
    last, baselines = doc["model"]["test_last"], doc["baselines"]
    assert set(baselines) == {"lbp-top", "lbp-sip", "frame-diff"}
    assert all("f1" in b and "auc_loc" in b for b in baselines.values())
    assert doc["verdict"]["loss_falls"], doc["model"]["train"]["epochs"]
    assert last["auc_state"] >= 0.80, last
    assert {"f1", "auc_state", "auc_loc"} <= set(doc["model"]["test"])


def test_learns_real_says_so_without_the_shared_videos(tmp_path, capsys):
    status = _bench().main(["--out", str(tmp_path), "--videos", str(tmp_path / "nowhere")])
    assert status == 2 and "shared videos are not in" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_verdict_names_each_target():
    verdict = _bench().verdict({"f1": 0.6, "auc_state": 0.95, "auc_loc": 0.7},
                               {"lbp-top": {"f1": 0.1}, "frame-diff": {"f1": 0.65}})
    assert verdict["auc_state>=0.90"] and not verdict["auc_loc>=0.75"]
    assert verdict["f1>=0.5"] and not verdict["f1_above_baselines"]

