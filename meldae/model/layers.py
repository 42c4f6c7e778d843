"""Small building blocks: multi-head cross-attention (explicit and SDPA paths), MLP, time code."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class CrossAttention(nn.Module):
    """Multi-head cross-attention of a query set onto a context set.

    Two paths give the same result: the explicit one computes the softmax itself and returns
    the weights averaged over heads; the fast one calls ``scaled_dot_product_attention``
    (flash / memory-efficient kernels) and returns no weights. Attention dropout is not used,
    so that the returned weights are exactly the ones applied (they sum to 1 per query).
    """

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(dim)
        self.q_proj = nn.Linear(dim, dim)
        self.kv_proj = nn.Linear(dim, 2 * dim)
        self.out_proj = nn.Linear(dim, dim)
        self.out_drop = nn.Dropout(dropout)

    def forward(self, query: Tensor, context: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """Attend ``query`` (B, Q, D) to ``context`` (B, L, D).

        Returns:
            The attended values (B, Q, D) and, when ``need_weights``, the attention weights
            averaged over heads (B, Q, L) in float32, else None.
        """
        B, Q, D = query.shape
        q, k, v = self._project(query, context)  # (B, h, Q, dh), (B, h, L, dh) x2
        weights = None
        if need_weights:
            probs = self._probs(q, k)  # (B, h, Q, L) float32
            out = probs.to(v.dtype) @ v  # (B, h, Q, dh)
            weights = probs.mean(dim=1)  # (B, Q, L)
        else:
            out = F.scaled_dot_product_attention(q, k, v)  # (B, h, Q, dh)
        out = out.transpose(1, 2).reshape(B, Q, D)  # (B, Q, D)
        return self.out_drop(self.out_proj(out)), weights

    def forward_with_sources(self, query: Tensor, context: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Attend like :meth:`forward` and also say how much each context item contributed.

        Returns:
            The attended values (B, Q, D); the weights averaged over heads (B, Q, L) in
            float32; and the per-context-item contributions summed over the queries,
            (B, L, D) before the output projection: ``sum_q p[q, l] * v[l]`` per head.
        """
        B, Q, D = query.shape
        q, k, v = self._project(query, context)  # (B, h, Q, dh), (B, h, L, dh) x2
        probs = self._probs(q, k)  # (B, h, Q, L) float32
        out = probs.to(v.dtype) @ v  # (B, h, Q, dh)
        out = out.transpose(1, 2).reshape(B, Q, D)  # (B, Q, D)
        share = probs.sum(dim=2).to(v.dtype)  # (B, h, L): attention each item received
        sources = (share[..., None] * v).transpose(1, 2).reshape(B, -1, D)  # (B, L, D)
        return self.out_drop(self.out_proj(out)), probs.mean(dim=1), sources

    def _project(self, query: Tensor, context: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Queries (B, Q, D), context (B, L, D) -> per-head q (B, h, Q, dh), k and v (B, h, L, dh)."""
        B, Q, _ = query.shape
        L = context.shape[1]
        q = self.q_proj(self.norm_q(query)).view(B, Q, self.num_heads, self.head_dim).transpose(1, 2)  # (B, h, Q, dh)
        kv = self.kv_proj(self.norm_kv(context)).view(B, L, 2, self.num_heads, self.head_dim)  # (B, L, 2, h, dh)
        k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)  # (B, h, L, dh) each
        return q, k, v

    def _probs(self, q: Tensor, k: Tensor) -> Tensor:
        """The softmax attention map (B, h, Q, L), computed in float32 even under autocast."""
        with torch.autocast(q.device.type, enabled=False):
            scores = (q.float() @ k.float().transpose(-2, -1)) / math.sqrt(self.head_dim)  # (B, h, Q, L)
            return scores.softmax(dim=-1)  # (B, h, Q, L)


class MLP(nn.Module):
    """Pre-norm two-layer perceptron with GELU: ``in_dim -> hidden -> out_dim``."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(in_dim),
            nn.Linear(in_dim, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, out_dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        """(..., in_dim) -> (..., out_dim)."""
        return self.net(x)


def sinusoidal_code(length: int, dim: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """The transformer sine/cosine position code, (length, dim), for any window length."""
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]  # (L, 1)
    half = dim // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(half, device=device, dtype=torch.float32) / half)  # (half,)
    angles = position * freq[None, :]  # (L, half)
    code = torch.zeros(length, dim, device=device, dtype=torch.float32)  # (L, dim)
    code[:, 0 : 2 * half : 2] = angles.sin()
    code[:, 1 : 2 * half : 2] = angles.cos()
    return code.to(dtype)
