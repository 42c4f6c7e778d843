"""Temporal model over the per-frame CLS vectors: F_global (B, T, D)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MotionInput(nn.Module):
    """Per-frame input of the temporal model: the CLS vector, and (``motion``) its deviation
    from the window mean, normalised on its own.

    A face that does not move gives nearly the same CLS vector in every frame; an ME or
    speech is a small departure from it. Normalising that departure separately keeps it from
    drowning in the common part, which a model trained from scratch otherwise does not learn
    to separate (docs/bench-train.md).
    """

    def __init__(self, in_dim: int, motion: bool, flow_dim: int = 0) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(in_dim)
        self.motion_norm = nn.LayerNorm(in_dim) if motion else None
        # Region flow of the whole face (B, T, G*G*C) embedded to E (meldae.model.flow).
        self.flow = nn.Sequential(nn.LayerNorm(flow_dim), nn.Linear(flow_dim, in_dim), nn.GELU()) if flow_dim else None
        self.out_dim = in_dim * (1 + bool(motion) + bool(flow_dim))

    def forward(self, cls: Tensor, flow: Tensor | None = None) -> Tensor:
        """CLS vectors (B, T, E) [and region flow (B, T, G*G, C)] -> (B, T, out_dim)."""
        parts = [self.norm(cls)]  # (B, T, E)
        if self.motion_norm is not None:
            deviation = cls - cls.mean(dim=1, keepdim=True)  # (B, T, E)
            parts.append(self.motion_norm(deviation))
        if self.flow is not None:
            parts.append(self.flow(flow.flatten(2).to(cls.dtype)))  # (B, T, E)
        return torch.cat(parts, dim=-1)  # (B, T, out_dim)


class BiLSTMTemporal(nn.Module):
    """Bi-LSTM over the T CLS vectors (paper §4.1): (B, T, E) -> (B, T, 2*hidden).

    The LSTM always runs in float32, also under autocast: casting its weights to bf16 on
    every call costs more (cuDNN re-packs them) than the float32 recurrence over T steps.
    """

    def __init__(self, in_dim: int, hidden: int, dropout: float = 0.0, motion: bool = True,
                 flow_dim: int = 0) -> None:
        super().__init__()
        self.input = MotionInput(in_dim, motion, flow_dim)
        self.lstm = nn.LSTM(self.input.out_dim, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)

    def forward(self, cls: Tensor, flow: Tensor | None = None) -> Tensor:
        """CLS vectors (B, T, E) [, region flow (B, T, G*G, C)] -> F_global (B, T, D)."""
        with torch.autocast(cls.device.type, enabled=False):
            f_global, _ = self.lstm(self.input(cls.float(), flow))  # (B, T, D) float32
        return self.drop(f_global)


class LinearTemporal(nn.Module):
    """Ablation "w/o Bi-LSTM": a per-frame linear projection, (B, T, E) -> (B, T, D)."""

    def __init__(self, in_dim: int, out_dim: int, dropout: float = 0.0, motion: bool = True,
                 flow_dim: int = 0) -> None:
        super().__init__()
        self.input = MotionInput(in_dim, motion, flow_dim)
        self.proj = nn.Linear(self.input.out_dim, out_dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, cls: Tensor, flow: Tensor | None = None) -> Tensor:
        """CLS vectors (B, T, E) [, region flow (B, T, G*G, C)] -> F_global (B, T, D)."""
        return self.drop(self.proj(self.input(cls, flow)))  # (B, T, D)
