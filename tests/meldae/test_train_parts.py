"""Training building blocks: config resolution, LR schedule, train state, sampling, progress."""

from __future__ import annotations

import io
import json
import math
import random

import numpy as np
import pytest
import torch

from meldae.train.config import (
    ConfigError,
    TrainConfig,
    configs_from_json,
    configs_to_json,
    resolve_configs,
    train_preset,
)
from meldae.train.data_loading import EpochLoader
from meldae.train.distributed import DistEnv, detect_env, free_port
from meldae.train.optim import lr_factor, seed_step
from meldae.train.progress import ProgressReporter
from meldae.train.state import (
    Position,
    TrainStateError,
    load_train_state,
    save_train_state,
)


def test_backbone_lr_follows_pretraining():
    cfg = TrainConfig()
    assert cfg.backbone_lr(pretrained=True) == 1e-5      # the paper's fine-tuning rate
    assert cfg.backbone_lr(pretrained=False) == 5e-4     # from scratch: as fast as new parts
    assert TrainConfig(lr_backbone=2e-5).backbone_lr(pretrained=False) == 2e-5


def test_train_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="loc_loss"):
        TrainConfig(loc_loss="hinge")
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ConfigError, match="unknown preset"):
        train_preset("huge")


def test_resolve_configs_file_then_flags(tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"model": {"num_queries": 8, "backbone_kwargs": {"depth": 1}},
                                "train": {"lam": 2.0, "epochs": 7}}))
    model_cfg, train_cfg = resolve_configs("tiny", path, {"num_queries": None},
                                           {"epochs": 3, "batch_size": None})
    assert model_cfg.num_queries == 8
    assert model_cfg.backbone_kwargs == (("depth", 1),)
    assert model_cfg.img_size == 64                       # still the tiny preset
    assert train_cfg.lam == 2.0 and train_cfg.epochs == 3  # the flag wins over the file
    assert train_cfg.batch_size == 4                      # the tiny train preset


def test_config_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json"):
        resolve_configs("tiny", bad)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"train": {"learning_rate": 1}}))
    with pytest.raises(ConfigError, match="learning_rate"):
        resolve_configs("tiny", unknown)


def test_config_json_round_trip():
    model_cfg, train_cfg = resolve_configs("tiny", None, {}, {"lam": 1.5})
    doc = json.loads(json.dumps(configs_to_json(model_cfg, train_cfg)))
    assert configs_from_json(doc) == (model_cfg, train_cfg)


def test_lr_factor_warmup_then_cosine():
    # 4 warm-up steps: 1/4, 2/4, 3/4, 4/4 of the peak; then cosine over the 8 others.
    assert [lr_factor(s, 4, 12, 0.0) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_factor(4, 4, 12, 0.0) == pytest.approx(1.0)
    assert lr_factor(8, 4, 12, 0.0) == pytest.approx(0.5)       # half way: cos(pi/2)
    assert lr_factor(12, 4, 12, 0.1) == pytest.approx(0.1)      # the floor at the end
    assert lr_factor(0, 0, 10, 0.0) == pytest.approx(1.0)


def test_seed_step_is_a_function_of_seed_rank_step():
    seed_step(3, 0, 17)
    a = (torch.rand(3), np.random.rand(), random.random())
    torch.manual_seed(99)
    seed_step(3, 0, 17)
    b = (torch.rand(3), np.random.rand(), random.random())
    seed_step(3, 1, 17)
    c = torch.rand(3)
    assert torch.equal(a[0], b[0]) and a[1:] == b[1:]
    assert not torch.equal(a[0], c)


def _optimizer():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
    return model, opt, sched


def test_train_state_round_trip(tmp_path):
    model, opt, sched = _optimizer()
    for _ in range(3):
        model(torch.ones(1, 3)).sum().backward()
        opt.step()
        sched.step()
    torch.manual_seed(123)
    np.random.seed(5)
    random.seed(7)
    save_train_state(tmp_path, opt, sched, Position(epoch=2, step=1, global_step=9,
                                                    best_f1_dr=0.25, best_epoch=2))
    expected = (torch.rand(2), np.random.rand(), random.random())
    model2, opt2, sched2 = _optimizer()
    pos = load_train_state(tmp_path, opt2, sched2)
    assert (pos.epoch, pos.step, pos.global_step, pos.best_epoch) == (2, 1, 9, 2)
    assert sched2.last_epoch == 3
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.1 / 4)
    for p1, p2 in zip(model.parameters(), model2.parameters()):
        s1, s2 = opt.state[p1], opt2.state[p2]
        assert torch.equal(s1["exp_avg"], s2["exp_avg"])
        assert torch.equal(s1["exp_avg_sq"], s2["exp_avg_sq"])
        assert float(s1["step"]) == float(s2["step"]) == 3.0
    got = (torch.rand(2), np.random.rand(), random.random())
    assert torch.equal(expected[0], got[0]) and expected[1:] == got[1:]


def test_train_state_detects_a_torn_pair(tmp_path):
    _, opt, sched = _optimizer()
    save_train_state(tmp_path, opt, sched, Position())
    with (tmp_path / "train_state.safetensors").open("ab") as fh:
        fh.write(b"\0" * 8)
    with pytest.raises(TrainStateError, match="interrupted"):
        load_train_state(tmp_path, *_optimizer()[1:])
    with pytest.raises(TrainStateError, match="no train state"):
        load_train_state(tmp_path / "missing", opt, sched)


class _Indices(torch.utils.data.Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"idx": torch.tensor(i)}


def _seen(loader, epoch, skip=0):
    return [int(i) for b in loader.batches(epoch, skip) for i in b["idx"]]


def test_epoch_loader_is_deterministic_resumable_and_sharded():
    cfg = TrainConfig(batch_size=4, num_workers=0, seed=1)
    single = EpochLoader(_Indices(10), cfg, DistEnv())
    assert single.steps_per_epoch == 2                       # drop_last: 10 // 4
    e0, e1 = _seen(single, 0), _seen(single, 1)
    assert e0 == _seen(single, 0) and e0 != e1               # epoch-seeded order
    assert _seen(single, 0, skip=1) == e0[4:]                # resume after one step
    shards = [EpochLoader(_Indices(10), cfg, DistEnv(rank=r, world_size=2, local_rank=r))
              for r in range(2)]
    assert shards[0].per_rank_batch == 2
    seen = [_seen(s, 0) for s in shards]
    assert not set(seen[0]) & set(seen[1])                    # disjoint shards
    capped = EpochLoader(_Indices(10), TrainConfig(batch_size=2, num_workers=0,
                                                   max_steps_per_epoch=3), DistEnv())
    assert capped.steps_per_epoch == 3 and len(_seen(capped, 0)) == 6


def test_detect_env_and_free_port():
    assert detect_env({}) == DistEnv(0, 1, 0)
    env = detect_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert (env.rank, env.world_size, env.local_rank, env.is_main) == (3, 4, 1, False)
    assert 0 < free_port() < 65536


def test_progress_reporter_json_lines_and_csv(tmp_path):
    out = io.StringIO()
    rep = ProgressReporter(tmp_path, json_progress=True, stream=out, tensorboard=False)
    rep.emit({"event": "step", "epoch": 1, "step": 1, "global_step": 1, "loss": 0.5,
              "loss_me": 0.1, "loss_state": 0.2, "loss_loc": math.nan, "lr": 1e-3,
              "elapsed_s": 1.0})
    rep.emit({"event": "epoch", "epoch": 1, "train_loss": 0.5, "val": {"f1": 0.25, "f1_dr": 0.2},
              "elapsed_s": 2.0, "eta_s": 0.0})
    rep.close()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in lines] == ["step", "epoch"]
    assert lines[0]["loss_loc"] is None                       # NaN is not valid JSON
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows[0].startswith("kind,epoch,step")
    assert rows[2].split(",")[CSV_INDEX["val_f1_dr"]] == "0.2"
    silent = ProgressReporter(tmp_path / "r1", json_progress=True, enabled=False, stream=out)
    silent.emit({"event": "done"})
    assert not (tmp_path / "r1").exists()


CSV_INDEX = {name: i for i, name in enumerate(
    ("kind", "epoch", "step", "global_step", "loss", "loss_me", "loss_state", "loss_loc", "lr",
     "elapsed_s", "train_loss", "val_f1", "val_f1_dr"))}
