"""Training losses (paper §4.4, DESIGN §3): focal, focal Tversky, boundary BCE, BAL, multi-task.

Every loss takes logits and 0/1 targets of the same shape ((B, T) per frame, (B,) per clip)
and returns a scalar tensor. All arithmetic is done in float32, so the losses are safe under
bf16/fp16 autocast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:
    from meldae.model import MELDAEOutput

LossFn = Callable[[Tensor, Tensor], Tensor]
LOC_LOSSES: tuple[str, ...] = ("bal", "focal_tversky", "bce", "iou", "mae", "mse", "smooth_l1")


def _f32(logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """Both as float32 and the same shape (the shape check catches swapped arguments)."""
    if logits.shape != target.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} differ in shape")
    return logits.float(), target.float()


def boundary_weights(target: Tensor, boundary_weight: float = 10.0) -> Tensor:
    """Per-frame BCE weights: W on the onset and offset frame of every run of ones, else 1.

    A one-frame run gets W once (not 2W). Runs touching the window edge count the edge frame.

    Args:
        target: (B, T) 0/1 ground truth.
        boundary_weight: W.

    Returns:
        (B, T) float32 weights.
    """
    y = target.float() > 0.5  # (B, T)
    pad = torch.zeros_like(y[:, :1])  # (B, 1)
    prev = torch.cat([pad, y[:, :-1]], dim=1)  # (B, T) frame t-1
    nxt = torch.cat([y[:, 1:], pad], dim=1)  # (B, T) frame t+1
    is_boundary = y & (~prev | ~nxt)  # (B, T) onset or offset
    return 1.0 + (boundary_weight - 1.0) * is_boundary.float()  # (B, T)


def focal_loss(logits: Tensor, target: Tensor, alpha: float = 0.25, gamma: float = 2.0) -> Tensor:
    """Sigmoid focal loss (Lin et al.), mean over all elements.

    ``alpha_t * (1 - p_t)^gamma * BCE`` with ``alpha_t = alpha`` for positives and
    ``1 - alpha`` for negatives.
    """
    x, y = _f32(logits, target)
    ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    p = torch.sigmoid(x)
    p_t = p * y + (1.0 - p) * (1.0 - y)
    alpha_t = alpha * y + (1.0 - alpha) * (1.0 - y)
    return (alpha_t * (1.0 - p_t).pow(gamma) * ce).mean()


def focal_tversky_loss(
    logits: Tensor, target: Tensor, alpha: float = 0.7, beta: float = 0.3, gamma: float = 0.75, smooth: float = 1.0
) -> Tensor:
    """Focal Tversky loss per clip, mean over the batch.

    ``TI = (TP + s) / (TP + alpha*FN + beta*FP + s)`` with soft counts over the frames of each
    clip (p = sigmoid(logits)); loss ``(1 - TI)^gamma``. alpha weights false negatives.
    """
    x, y = _f32(logits, target)
    p = torch.sigmoid(x).flatten(1)  # (B, T)
    y = y.flatten(1)  # (B, T)
    tp = (p * y).sum(dim=1)  # (B,)
    fn = ((1.0 - p) * y).sum(dim=1)  # (B,)
    fp = (p * (1.0 - y)).sum(dim=1)  # (B,)
    ti = (tp + smooth) / (tp + alpha * fn + beta * fp + smooth)  # (B,)
    # (1 - TI)^0.75 has an infinite slope at TI = 1: keep a tiny floor for finite gradients.
    return (1.0 - ti).clamp_min(1e-6).pow(gamma).mean()


def boundary_bce_loss(
    logits: Tensor, target: Tensor, boundary_weight: float = 10.0, *, boundary_mask: Tensor | None = None
) -> Tensor:
    """Boundary-weighted BCE (paper eq. 3): mean over frames, then over the batch.

    Args:
        logits: (B, T).
        target: (B, T) 0/1.
        boundary_weight: W, the weight of onset and offset frames.
        boundary_mask: optional (B, T) 0/1 mask of the true boundary frames (e.g. from the
            data loader, which knows runs cut by the window edge); default: derived from
            ``target`` by :func:`boundary_weights`.
    """
    x, y = _f32(logits, target)
    if boundary_mask is None:
        weights = boundary_weights(y, boundary_weight)  # (B, T)
    else:
        weights = 1.0 + (boundary_weight - 1.0) * (boundary_mask.float() > 0.5).float()  # (B, T)
    bce = F.binary_cross_entropy_with_logits(x, y, weight=weights, reduction="none")  # (B, T)
    return bce.mean(dim=1).mean()


def boundary_aware_loss(
    logits: Tensor, target: Tensor, lam: float = 1.0, boundary_weight: float = 10.0,
    *, boundary_mask: Tensor | None = None,
) -> Tensor:
    """BAL = focal Tversky + lam * boundary BCE (paper eq. 2)."""
    overlap = focal_tversky_loss(logits, target)
    boundary = boundary_bce_loss(logits, target, boundary_weight, boundary_mask=boundary_mask)
    return overlap + lam * boundary


def bce_loss(logits: Tensor, target: Tensor) -> Tensor:
    """Plain BCE with logits, mean over all frames."""
    x, y = _f32(logits, target)
    return F.binary_cross_entropy_with_logits(x, y)


def soft_iou_loss(logits: Tensor, target: Tensor, smooth: float = 1.0) -> Tensor:
    """1 - soft IoU per clip, ``(Σpy + s) / (Σp + Σy - Σpy + s)``, mean over the batch."""
    x, y = _f32(logits, target)
    p, y = torch.sigmoid(x).flatten(1), y.flatten(1)  # (B, T)
    inter = (p * y).sum(dim=1)  # (B,)
    union = p.sum(dim=1) + y.sum(dim=1) - inter  # (B,)
    return (1.0 - (inter + smooth) / (union + smooth)).mean()


def _regression_loss(kind: Callable[..., Tensor], logits: Tensor, target: Tensor) -> Tensor:
    """A regression loss on sigmoid probabilities."""
    x, y = _f32(logits, target)
    return kind(torch.sigmoid(x), y)


def localisation_loss(name: str, lam: float = 1.0, boundary_weight: float = 10.0) -> LossFn:
    """The localisation loss called ``name`` (one of :data:`LOC_LOSSES`) as ``fn(logits, target)``.

    ``bal`` uses ``lam`` and ``boundary_weight``; ``mae``, ``mse`` and ``smooth_l1`` are
    computed on sigmoid probabilities.

    Raises:
        ValueError: unknown name.
    """
    table: dict[str, LossFn] = {
        "bal": partial(boundary_aware_loss, lam=lam, boundary_weight=boundary_weight),
        "focal_tversky": focal_tversky_loss,
        "bce": bce_loss,
        "iou": soft_iou_loss,
        "mae": partial(_regression_loss, F.l1_loss),
        "mse": partial(_regression_loss, F.mse_loss),
        "smooth_l1": partial(_regression_loss, F.smooth_l1_loss),
    }
    if name not in table:
        raise ValueError(f"unknown localisation loss {name!r}; choose one of {', '.join(LOC_LOSSES)}")
    return table[name]


@dataclass(frozen=True)
class LossBreakdown:
    """The total loss and its (unweighted) parts; all scalar tensors."""

    total: Tensor
    me: Tensor
    state: Tensor
    loc: Tensor


def multitask_loss(
    out: MELDAEOutput,
    targets: Mapping[str, Tensor],
    weights: tuple[float, float, float] = (0.5, 0.2, 1.0),
    loc_loss: str = "bal",
    lam: float = 1.0,
    boundary_weight: float = 10.0,
    use_state_loss: bool = True,
    state_alpha: float = 0.25,
) -> LossBreakdown:
    """``w1·focal(ME) + w2·focal(state) + w3·L_loc`` (paper eq. 1).

    Args:
        out: the model's output.
        targets: ``me_label`` (B,), ``speaking`` (B, T), ``me_mask`` (B, T), all 0/1; an
            optional ``boundary_mask`` (B, T) is used by ``bal`` instead of deriving the
            boundary frames from ``me_mask``.
        weights: (w1, w2, w3).
        loc_loss: name of the localisation loss (:data:`LOC_LOSSES`).
        lam, boundary_weight: BAL's λ and W.
        use_state_loss: False drops the state term from the total (ablation); its value
            is still reported.
        state_alpha: the focal α of the state term (the paper's 0.25 down-weights the
            speaking class, which suits rare positives, not a near-balanced task).
    """
    w_me, w_state, w_loc = weights
    me = focal_loss(out.me_logit, targets["me_label"].to(out.me_logit.device))
    state = focal_loss(out.state_logits, targets["speaking"].to(out.state_logits.device), alpha=state_alpha)
    me_mask = targets["me_mask"].to(out.loc_logits.device)
    boundary_mask = targets.get("boundary_mask")
    if loc_loss == "bal" and boundary_mask is not None:
        loc = boundary_aware_loss(out.loc_logits, me_mask, lam, boundary_weight,
                                  boundary_mask=boundary_mask.to(me_mask.device))
    else:
        loc = localisation_loss(loc_loss, lam, boundary_weight)(out.loc_logits, me_mask)
    total = w_me * me + w_loc * loc + (w_state * state if use_state_loss else 0.0 * state)
    return LossBreakdown(total=total, me=me, state=state, loc=loc)
