"""Training configuration: the ``TrainConfig`` dataclass, its presets and the JSON config file.

A run is fully described by a model config (``meldae.model.MELDAEConfig``) and a
``TrainConfig``; both are written to ``RUN/config.json`` so a run folder explains itself.
A config file is JSON of the form ``{"model": {...}, "train": {...}}``: the keys override
the preset's values, and the command-line flags override the file.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

#: The backbone learning rate of the paper (a pretrained ViT, fine-tuned gently).
PAPER_LR_BACKBONE = 1e-5

LOCALISATION_LOSSES = ("bal", "focal_tversky", "bce", "iou", "mae", "mse", "smooth_l1")


class ConfigError(ValueError):
    """A training config file or value that cannot be used (names the file and the reason)."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (paper §5.3 defaults)."""

    epochs: int = 20                       # passes over the training windows
    batch_size: int = 16                   # clips (windows) per optimiser step, over all ranks
    lr_backbone: float | None = None       # None: 1e-5 with pretrained weights, lr_new from scratch
    lr_new: float = 5e-4                   # Bi-LSTM, enhancer, fusion, heads
    weight_decay: float = 0.05             # AdamW decoupled weight decay
    warmup_steps: int | None = None        # linear warm-up steps; None: warmup_epochs
    warmup_epochs: float = 1.0             # used when warmup_steps is None
    min_lr_ratio: float = 0.01             # cosine decays to this fraction of the peak lr
    grad_clip: float = 1.0                 # max global grad norm; 0 disables clipping
    loc_loss: str = "bal"                  # localisation loss, one of LOCALISATION_LOSSES
    lam: float = 1.0                       # BAL: weight of the boundary BCE term (λ)
    boundary_weight: float = 10.0          # BAL: weight W of onset/offset frames
    use_state_loss: bool = True            # False = ablation "w/o L_State"
    w_me: float = 0.5                      # weight of the clip-level ME loss
    w_state: float = 0.2                   # weight of the speaking-state loss
    state_alpha: float = 0.25              # focal α of the state loss (paper: 0.25)
    w_loc: float = 1.0                     # weight of the localisation loss
    num_workers: int = 2                   # DataLoader worker processes
    seed: int = 0                          # seeds model init, sampling and dropout
    stride: int | None = None              # training window stride; None: T // 2
    val_stride: int | None = None          # validation window stride; None: T // 2
    val_fraction: float = 0.2              # subject-level share for validation (no splits.csv)
    test_fraction: float = 0.0             # subject-level share held out for testing
    use_splits_csv: bool = True            # use DIR/splits.csv when the folder has one
    threshold: float = 0.5                 # score threshold when tune_postprocessing is off
    min_length: int = 1                    # shortest segment kept (frames)
    merge_gap: int = 0                     # gaps of at most this many frames are bridged
    tune_postprocessing: bool = True       # choose threshold/min_length/merge_gap on val
    iou_threshold: float = 0.5             # a prediction matches with IoU >= this
    max_steps_per_epoch: int | None = None  # cap the steps of an epoch (quick runs)
    state_every_steps: int = 0             # also save resume state every K steps (0: epochs only)
    deterministic: bool = False            # torch.use_deterministic_algorithms (slower)
    init_from: str | None = None           # fine-tuning: the checkpoint the weights start from

    def __post_init__(self) -> None:
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            problems.append(f"batch_size must be >= 1, got {self.batch_size}")
        if self.loc_loss not in LOCALISATION_LOSSES:
            problems.append(f"loc_loss must be one of {', '.join(LOCALISATION_LOSSES)}, "
                            f"got {self.loc_loss!r}")
        if not 0.0 <= self.val_fraction < 1.0 or not 0.0 <= self.test_fraction < 1.0:
            problems.append("val_fraction and test_fraction must lie in [0, 1)")
        if self.lr_new <= 0 or (self.lr_backbone is not None and self.lr_backbone < 0):
            problems.append("learning rates must be positive")
        if self.max_steps_per_epoch is not None and self.max_steps_per_epoch < 1:
            problems.append("max_steps_per_epoch must be >= 1 when given")
        if problems:
            raise ConfigError("; ".join(problems))

    def backbone_lr(self, pretrained: bool) -> float:
        """The backbone learning rate actually used.

        The paper fine-tunes an ImageNet ViT with 1e-5. A backbone trained from scratch
        (no pretrained weights) barely moves at that rate, so ``lr_backbone=None`` means
        1e-5 with pretrained weights and ``lr_new`` without.

        Args:
            pretrained: whether the backbone starts from pretrained weights.
        """
        if self.lr_backbone is not None:
            return self.lr_backbone
        return PAPER_LR_BACKBONE if pretrained else self.lr_new

    def warmup_for(self, steps_per_epoch: int) -> int:
        """Warm-up length in optimiser steps for an epoch of ``steps_per_epoch`` steps."""
        if self.warmup_steps is not None:
            return max(0, self.warmup_steps)
        return max(0, int(math.ceil(self.warmup_epochs * steps_per_epoch)))


#: The speaking-state loss of the CPU presets (not the paper's 0.2 and α 0.25): at 0.2 the
#: focal state term is ~1 % of the total and, after gradient clipping, the state head does not
#: learn on real footage (held-out AUC 0.56 after 150 steps; 0.89 with these; docs/bench-train.md).
_STATE_LOSS: dict[str, Any] = {"w_state": 1.0, "state_alpha": 0.5}

#: Training defaults per model preset: ``paper`` is the paper's recipe; ``lite`` a CPU-sized
#: run; ``tiny`` a few quick epochs for tests and smoke runs, with the learning rate that
#: trains it from scratch (bench/learns.py; ``lr_backbone`` follows ``lr_new`` without weights).
TRAIN_PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    "lite": {"epochs": 10, "batch_size": 8, **_STATE_LOSS},
    "tiny": {"epochs": 4, "batch_size": 4, "num_workers": 0, "warmup_epochs": 0.5,
             "weight_decay": 0.01, "lr_new": 1e-3, **_STATE_LOSS},
}


#: Epochs of a run that fine-tunes a trained model (``--init-from``, or ``lite``'s default
#: start, the bundled demo model) when no epochs are given: a trained start needs fewer passes,
#: and 6 lite epochs of the 32-clip real-face benchmark fit in 30 min of a 2-core CPU
#: (docs/benchmarks.md, "Real faces").
FINE_TUNE_EPOCHS: dict[str, int] = {"lite": 6}


def train_preset(name: str, **overrides: Any) -> TrainConfig:
    """The training config of a preset, with overrides.

    Args:
        name: ``paper``, ``lite`` or ``tiny``.
        **overrides: ``TrainConfig`` fields to change.

    Raises:
        ConfigError: unknown preset or field.
    """
    if name not in TRAIN_PRESETS:
        raise ConfigError(f"unknown preset {name!r} (choose from {', '.join(TRAIN_PRESETS)})")
    values = {**TRAIN_PRESETS[name], **overrides}
    return train_config_from_dict(values)


def train_config_from_dict(values: dict[str, Any], base: TrainConfig | None = None,
                           source: str = "config") -> TrainConfig:
    """Build a ``TrainConfig`` from a dict, on top of ``base`` (defaults when None).

    Raises:
        ConfigError: a key that is not a field, or a value the config rejects.
    """
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown train setting(s): {', '.join(unknown)}")
    try:
        return replace(base or TrainConfig(), **values)
    except (TypeError, ConfigError) as exc:
        raise ConfigError(f"{source}: {exc}") from exc


def model_overrides_from_dict(values: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """Turn the JSON ``model`` section into ``preset(name, **overrides)`` keyword arguments.

    ``backbone_kwargs`` may be given as a JSON object or a list of pairs; the model config
    stores it as a tuple of pairs.

    Raises:
        ConfigError: a key that is not a ``MELDAEConfig`` field.
    """
    from meldae.model import MELDAEConfig

    known = {f.name for f in fields(MELDAEConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown model setting(s): {', '.join(unknown)}")
    out = dict(values)
    if "backbone_kwargs" in out:
        kwargs = out["backbone_kwargs"]
        pairs = kwargs.items() if isinstance(kwargs, dict) else kwargs
        out["backbone_kwargs"] = tuple((str(k), v) for k, v in pairs)
    return out


def read_config_file(path: Path) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
    """Read ``{"preset": ..., "model": {...}, "train": {...}}`` from a JSON file.

    Returns:
        (preset name or None, model overrides, train overrides); the dicts may be empty.

    Raises:
        ConfigError: unreadable file, bad JSON, or unexpected top-level keys.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(data, dict) or set(data) - {"model", "train", "preset"}:
        raise ConfigError(f'{path}: expected a JSON object with "model" and/or "train" keys')
    model, train = data.get("model", {}), data.get("train", {})
    if not isinstance(model, dict) or not isinstance(train, dict):
        raise ConfigError(f'{path}: "model" and "train" must be JSON objects')
    preset_name = data.get("preset")
    if preset_name is not None and not isinstance(preset_name, str):
        raise ConfigError(f'{path}: "preset" must be a string')
    return preset_name, model, train


def resolve_configs(preset_name: str, config_file: Path | None = None,
                    model_flags: dict[str, Any] | None = None,
                    train_flags: dict[str, Any] | None = None):
    """Combine preset, config file and command-line flags (later wins).

    Returns:
        (MELDAEConfig, TrainConfig)

    Raises:
        ConfigError: bad file, key or value.
    """
    from meldae.model import preset

    model_over: dict[str, Any] = {}
    train_over: dict[str, Any] = {}
    if config_file is not None:
        file_preset, file_model, file_train = read_config_file(config_file)
        preset_name = file_preset or preset_name
        model_over.update(model_overrides_from_dict(file_model, str(config_file)))
        train_over.update(file_train)
    model_over.update({k: v for k, v in (model_flags or {}).items() if v is not None})
    train_over.update({k: v for k, v in (train_flags or {}).items() if v is not None})
    try:
        model_cfg = preset(preset_name, **model_over)
    except (TypeError, ValueError, KeyError) as exc:
        raise ConfigError(f"model config: {exc}") from exc
    return model_cfg, train_preset(preset_name, **train_over)


def configs_to_json(model_cfg, train_cfg: TrainConfig) -> dict[str, Any]:
    """The ``config.json`` content of a run folder."""
    model = asdict(model_cfg)
    model["backbone_kwargs"] = [list(p) for p in model_cfg.backbone_kwargs]
    return {"model": model, "train": asdict(train_cfg)}


def configs_from_json(data: dict[str, Any], source: str = "config.json"):
    """Inverse of ``configs_to_json``: (MELDAEConfig, TrainConfig).

    Raises:
        ConfigError: missing sections or unknown keys.
    """
    from meldae.model import config_from_dict

    if not isinstance(data, dict) or "model" not in data or "train" not in data:
        raise ConfigError(f'{source}: expected "model" and "train" sections')
    model = model_overrides_from_dict(data["model"], source)
    try:
        model_cfg = config_from_dict(model)
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    return model_cfg, train_config_from_dict(data["train"], source=source)


def model_differences(wanted, actual) -> list[str]:
    """``"field=wanted (checkpoint: actual)"`` for each model-shape field that differs.

    ``pretrained`` and ``weights_path`` (where the first weights come from) are not shape.
    """
    skip = {"pretrained", "weights_path"}
    return [f"{f.name}={getattr(wanted, f.name)!r} (checkpoint: {getattr(actual, f.name)!r})"
            for f in fields(actual)
            if f.name not in skip and getattr(wanted, f.name) != getattr(actual, f.name)]


def matching_preset(model_cfg) -> str | None:
    """The preset whose model ``model_cfg`` is (any N; shape fields only), or None."""
    from meldae.model import PRESETS, preset

    return next((name for name in PRESETS if not model_differences(
        preset(name, num_queries=model_cfg.num_queries), model_cfg)), None)
