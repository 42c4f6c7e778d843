"""Tiny synthetic windows and clips for the trainer tests (no video, no face detection)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from meldae.model import preset
from meldae.train.config import train_preset
from meldae.train.validate import EvalClip

T, S = 4, 32       # frames per window, crop size: the smallest that the tiny ViT accepts


def tiny_model_cfg(**overrides):
    """The tiny preset shrunk further: 4 frames of 32 px, a 2x2 region grid."""
    return preset("tiny", img_size=S, num_frames=T, region_grid=2, **overrides)


def tiny_train_cfg(**overrides):
    """Two epochs of two steps of two windows, no workers."""
    values = dict(epochs=2, batch_size=2, max_steps_per_epoch=2, num_workers=0,
                  warmup_steps=1)
    values.update(overrides)
    return train_preset("tiny", **values)


class WindowsFake(torch.utils.data.Dataset):
    """Window items as ``meldae.data.WindowDataset`` yields them; odd windows hold an ME.

    ``seen`` records the indices this process loaded (the DDP test checks the shards).
    """

    def __init__(self, n: int = 8, on_item=None) -> None:
        self.n = n
        self.seen: list[int] = []
        self.on_item = on_item

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        self.seen.append(int(i))
        if self.on_item is not None:
            self.on_item(len(self.seen))
        g = torch.Generator().manual_seed(1000 + i)
        frames = torch.randint(0, 256, (T, S, S, 3), generator=g, dtype=torch.uint8)
        me = torch.zeros(T)
        if i % 2:
            me[1:3] = 1.0
            frames[1:3, 8:24, 8:24] = 255
        boundary = torch.zeros(T)
        boundary[[1, 2]] = float(i % 2)
        return {"frames": frames, "me_mask": me, "boundary_mask": boundary,
                "speaking": (torch.arange(T) < 2).float(), "me_label": me.max(),
                "face_found": torch.ones(T, dtype=torch.bool), "clip": i, "start": 0}


def val_clips(n: int = 1, frames: int = 8) -> list[EvalClip]:
    """Whole validation clips of random crops with one ME each."""
    rng = np.random.default_rng(7)
    return [EvalClip(f"val{i}", rng.integers(0, 256, (frames, S, S, 3), dtype=np.uint8),
                     np.ones(frames, bool), [(2, 4)], np.arange(frames) < frames // 2)
            for i in range(n)]


@contextlib.contextmanager
def one_thread():
    """Run torch on one thread: the test machine's cores are shared, and tiny ops on two
    oversubscribed threads are 10-40x slower than on one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def make_synth_folder(folder, subjects: int = 4, frames: int = 40, seed: int = 3):
    """A synthetic clip folder (two clips per subject, 128 px frames so that the face
    detector finds the faces) whose splits.csv puts the last subject in test, the one
    before in val and the rest in train."""
    from meldae.data import synthesize
    from meldae.data.clipfolder import write_splits_csv

    infos = synthesize(folder, clips=2 * subjects, seed=seed, frames=frames, size=128,
                       mes_per_10s=12.0)
    names = sorted({c.subject for c in infos})
    split = {s: "train" for s in names[:-2]}
    split.update({names[-2]: "val", names[-1]: "test"})
    write_splits_csv(folder / "splits.csv", [(c.name, c.subject, split[c.subject])
                                             for c in infos])
    return infos


def small_config_file(path, epochs: int = 1, steps: int = 1):
    """A JSON config that shrinks the tiny preset to 8 frames of 32 px."""
    import json

    path.write_text(json.dumps({
        "preset": "tiny",
        "model": {"img_size": S, "num_frames": 8, "region_grid": 2},
        "train": {"epochs": epochs, "max_steps_per_epoch": steps, "batch_size": 2,
                  "num_workers": 0, "warmup_steps": 0}}))
    return path


def _digest(model) -> str:
    """SHA-256 of a model's state dict."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def ddp_rank_main(rank: int, world: int, port: int, out_dir: str) -> None:
    """One rank of the DDP test (spawned; importable by name, hence here)."""
    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    from meldae.train.distributed import cleanup_distributed
    from meldae.train.loop import Trainer

    dataset = WindowsFake(n=8)
    trainer = Trainer(tiny_model_cfg(), tiny_train_cfg(epochs=1, batch_size=4),
                      Path(out_dir) / "run", dataset, val_clips(n=2), device="cpu",
                      progress_bar=False)
    initial = _digest(trainer.model)
    validated: list[str] = []
    score = trainer._validate

    def spy():                      # which validation clips this rank scored
        import meldae.train.loop as loop_module

        original = loop_module.score_clips

        def record(model, clips, *args, **kwargs):
            validated.extend(c.name for c in clips)
            return original(model, clips, *args, **kwargs)

        loop_module.score_clips = record
        try:
            return score()
        finally:
            loop_module.score_clips = original

    trainer._validate = spy
    result = trainer.fit()
    report = {"rank": rank, "initial": initial, "final": _digest(trainer.model),
              "seen": dataset.seen, "validated": validated, "steps": len(result.step_losses),
              "losses": result.step_losses, "history": result.history,
              "events": [e["event"] for e in trainer.reporter.events]}
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(report))
    cleanup_distributed()
