"""DDP on CPU: two gloo processes train through the real Trainer.

After the steps both ranks hold identical weights (and not the initial ones), each rank
loaded a different shard of the windows, validation is sharded by clip and gathered on
rank 0, and only rank 0 wrote files and events.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parent))   # train_fakes (importlib mode)
from train_fakes import ddp_rank_main  # noqa: E402

from meldae.train.distributed import free_port  # noqa: E402



@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_gloo_ranks_stay_in_sync(tmp_path):
    world = 2
    mp.spawn(ddp_rank_main, args=(world, free_port(), str(tmp_path)), nprocs=world, join=True)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(world)]
    r0, r1 = ranks
    assert r0["initial"] == r1["initial"]
    assert r0["final"] == r1["final"]                   # identical weights after the steps
    assert r0["final"] != r0["initial"]                 # and they did change
    assert r0["steps"] == r1["steps"] == 2              # 8 windows / global batch 4
    assert len(r0["seen"]) == len(r1["seen"]) == 4      # per-rank batch 2, two steps
    assert not set(r0["seen"]) & set(r1["seen"])        # each rank its own shard
    assert sorted(r0["seen"] + r1["seen"]) == list(range(8))
    assert r0["losses"] == r1["losses"]                 # the logged loss is the rank mean
    assert sorted(r0["validated"] + r1["validated"]) == ["val0", "val1"]
    assert len(r0["validated"]) == len(r1["validated"]) == 1   # validation sharded by clip
    assert r0["history"] and "f1_dr" in r0["history"][0]["val"]
    assert r1["history"] == []                          # only rank 0 measures and reports
    run = tmp_path / "run"
    assert (run / "best.safetensors").is_file() and (run / "last.safetensors").is_file()
    rows = (run / "log.csv").read_text().splitlines()
    assert sum(r.startswith("step,") for r in rows) == 2   # written once, by rank 0
