"""Optimiser, learning-rate schedule, seeding and the loss of one batch."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import torch

from meldae.train.config import TrainConfig


def build_optimizer(model, cfg: TrainConfig, pretrained: bool) -> torch.optim.AdamW:
    """AdamW with two parameter groups: the backbone and the new parts (paper §5.3).

    Args:
        model: a ``MELDAE`` (not the DDP wrapper).
        cfg: the training config.
        pretrained: whether the backbone starts from pretrained weights (see
            ``TrainConfig.backbone_lr``).
    """
    backbone = [p for p in model.backbone_parameters() if p.requires_grad]
    new = [p for p in model.new_parameters() if p.requires_grad]
    groups = [
        {"params": backbone, "lr": cfg.backbone_lr(pretrained), "name": "backbone"},
        {"params": new, "lr": cfg.lr_new, "name": "new"},
    ]
    return torch.optim.AdamW([g for g in groups if g["params"]], weight_decay=cfg.weight_decay)


def lr_factor(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine from 1 down to ``min_ratio``.

    ``step`` counts optimiser steps already taken (0 for the first step).
    """
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(optimizer, cfg: TrainConfig, steps_per_epoch: int):
    """A per-step ``LambdaLR``: warm-up + cosine over ``epochs * steps_per_epoch`` steps."""
    total = cfg.epochs * steps_per_epoch
    warmup = min(cfg.warmup_for(steps_per_epoch), max(0, total - 1))

    def factor(step: int) -> float:
        return lr_factor(step, warmup, total, cfg.min_lr_ratio)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def seed_step(seed: int, rank: int, global_step: int) -> None:
    """Seed torch, numpy and Python for one step: a pure function of (seed, rank, step).

    Dropout of step ``k`` is then the same whether the run was resumed or not, on every
    device, and differs between ranks.
    """
    state = np.random.SeedSequence([seed, rank, global_step]).generate_state(2)
    torch.manual_seed(int(state[0]))
    np.random.seed(int(state[1]))
    random.seed(int(state[1]))


def batch_losses(out, batch: dict[str, torch.Tensor], cfg: TrainConfig) -> dict[str, torch.Tensor]:
    """The multi-task loss of one batch (paper §4.4, ``meldae.losses.multitask_loss``).

    Total = w_me·focal(ME) + w_state·focal(state) + w_loc·L_loc; with ``use_state_loss``
    off the state term is multiplied by 0 (it stays in the graph, so DDP sees a gradient,
    zero, for every parameter).

    Args:
        out: the ``MELDAEOutput`` of the batch.
        batch: ``me_mask (B, T)``, ``speaking (B, T)``, ``me_label (B,)`` and optionally
            ``boundary_mask (B, T)``, on the model's device.
        cfg: loss names and weights.

    Returns:
        ``loss`` (the total, with a graph) and the detached parts ``loss_me``,
        ``loss_state``, ``loss_loc``.
    """
    from meldae.losses import multitask_loss

    targets = {k: batch[k].float() for k in ("me_label", "speaking", "me_mask", "boundary_mask")
               if k in batch}
    parts = multitask_loss(out, targets, weights=(cfg.w_me, cfg.w_state, cfg.w_loc),
                           loc_loss=cfg.loc_loss, lam=cfg.lam,
                           boundary_weight=cfg.boundary_weight,
                           use_state_loss=cfg.use_state_loss, state_alpha=cfg.state_alpha)
    return {"loss": parts.total, "loss_me": parts.me.detach(),
            "loss_state": parts.state.detach(), "loss_loc": parts.loc.detach()}


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Move the tensors of a batch to ``device`` (non-blocking from pinned memory)."""
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
            for k, v in batch.items()}
