"""Comparing an exported model with its checkpoint: the same windows through both."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def torch_window_outputs(model, windows: np.ndarray) -> tuple[np.ndarray, ...]:
    """The checkpoint model's loc, state, attention and ME probabilities for ``windows``.

    Args:
        model: a ``meldae.model.MELDAE`` (eval mode, CPU).
        windows: ``(B, T, S, S, 3)`` uint8 face crops.
    """
    from meldae.infer.runners import WindowRunner

    return _run_windows(WindowRunner(model, None), windows)


def onnx_window_outputs(onnx_model, windows: np.ndarray) -> tuple[np.ndarray, ...]:
    """The same four arrays from an ``OnnxWindowModel``."""
    return _run_windows(onnx_model.make_window_runner(), windows)


def _run_windows(runner, windows: np.ndarray) -> tuple[np.ndarray, ...]:
    """Windows laid end to end in a ring, then scored by ``runner``."""
    from meldae.infer.buffer import CropRing

    b, t = windows.shape[:2]
    ring = CropRing(b * t, windows.shape[2:])
    for i, crop in enumerate(windows.reshape(b * t, *windows.shape[2:])):
        ring.append(i, crop, True)
    return runner.run(ring, [k * t for k in range(b)])


def max_difference(checkpoint: str | Path, onnx_path: str | Path, batch: int = 3,
                   seed: int = 0) -> float:
    """The largest absolute difference over the four outputs on random windows."""
    from meldae.checkpoint import checkpoint_paths, load_checkpoint
    from meldae.infer.onnx_engine import load_onnx_model

    model, _ = load_checkpoint(checkpoint_paths(checkpoint)[0], map_location="cpu")
    model = model.float().eval()
    cfg = model.cfg
    rng = np.random.default_rng(seed)
    windows = rng.integers(0, 256, (batch, cfg.num_frames, cfg.img_size, cfg.img_size, 3),
                           dtype=np.uint8)
    onnx_model, _ = load_onnx_model(onnx_path, "cpu")
    ours = torch_window_outputs(model, windows)
    theirs = onnx_window_outputs(onnx_model, windows)
    return max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs))
