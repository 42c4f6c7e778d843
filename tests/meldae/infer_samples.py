"""A tiny checkpoint and a folder of short synthetic videos for the scale tests.

Imported by path (importlib mode), like the other sample helpers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SCORE_KEYS = ("loc_scores", "state_scores", "attention", "face_found", "segments")


def tiny_checkpoint(folder: Path, num_frames: int = 16) -> Path:
    """A random ``tiny`` MELDAE (T = ``num_frames``) saved with a post-processing meta."""
    import torch

    from meldae.checkpoint import save_checkpoint
    from meldae.model import MELDAE, preset

    torch.manual_seed(0)
    model = MELDAE(preset("tiny", num_frames=num_frames)).eval()
    meta = {"postprocessing": {"threshold": 0.25, "min_length": 2, "merge_gap": 1}}
    return save_checkpoint(folder / "tiny", model, meta)


def video_folder(folder: Path, clips: int, frames: int = 40) -> list[Path]:
    """``clips`` synthetic face videos (128 x 128) in ``folder``, sorted."""
    from meldae.data.synth import synthesize

    made = synthesize(folder, clips=clips, seed=0, frames=frames, size=128)
    return sorted(c.video_path for c in made)


def max_output_difference(a: Path, b: Path, name: str) -> float:
    """The largest difference between two runs' ``<name>.npz`` (score arrays and segments)."""
    with np.load(a / f"{name}.npz") as x, np.load(b / f"{name}.npz") as y:
        return max(float(np.abs(x[k].astype(np.float64) - y[k].astype(np.float64)).max(initial=0))
                   if x[k].shape == y[k].shape else float("inf") for k in SCORE_KEYS)


def meldae(*args: object, env: dict | None = None, timeout: float = 300
           ) -> subprocess.CompletedProcess:
    """``python -m meldae ARGS`` from the repository root."""
    return subprocess.run([sys.executable, "-m", "meldae", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
