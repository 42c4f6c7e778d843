"""Temporal model over the per-frame CLS vectors: F_global (B, T, D)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class BiLSTMTemporal(nn.Module):
    """Bi-LSTM over the T CLS vectors (paper §4.1): (B, T, E) -> (B, T, 2*hidden).

    The LSTM always runs in float32, also under autocast: casting its weights to bf16 on
    every call costs more (cuDNN re-packs them) than the float32 recurrence over T steps.
    """

    def __init__(self, in_dim: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(in_dim)
        self.lstm = nn.LSTM(in_dim, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)

    def forward(self, cls: Tensor) -> Tensor:
        """CLS vectors (B, T, E) -> F_global (B, T, D)."""
        with torch.autocast(cls.device.type, enabled=False):
            f_global, _ = self.lstm(self.norm(cls.float()))  # (B, T, D) float32
        return self.drop(f_global)


class LinearTemporal(nn.Module):
    """Ablation "w/o Bi-LSTM": a per-frame linear projection, (B, T, E) -> (B, T, D)."""

    def __init__(self, in_dim: int, out_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(in_dim)
        self.proj = nn.Linear(in_dim, out_dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, cls: Tensor) -> Tensor:
        """CLS vectors (B, T, E) -> F_global (B, T, D)."""
        return self.drop(self.proj(self.norm(cls)))  # (B, T, D)
