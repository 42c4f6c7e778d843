"""Training MELDAE: single process or one rank of a torchrun (DDP) job.

``train_folder(data_dir, run_dir, model_cfg, train_cfg)`` trains on a clip folder;
``Trainer`` does the work on prepared datasets; ``TrainConfig`` holds the recipe. Names are
loaded lazily so that importing ``meldae.train`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from meldae.train.config import (
    TRAIN_PRESETS,
    ConfigError,
    TrainConfig,
    resolve_configs,
    train_preset,
)

_LAZY = {
    "Trainer": "meldae.train.loop",
    "TrainResult": "meldae.train.loop",
    "train_folder": "meldae.train.run",
    "prepare_folder": "meldae.train.run",
    "TrainingError": "meldae.train.run",
    "EvalClip": "meldae.train.validate",
    "ClipScores": "meldae.scores",
    "score_clips": "meldae.train.validate",
}

__all__ = ["TRAIN_PRESETS", "ConfigError", "TrainConfig", "resolve_configs", "train_preset",
           *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'meldae.train' has no attribute {name!r}")
