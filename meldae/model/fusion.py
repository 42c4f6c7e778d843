"""Feature fusion (paper §4.2, last paragraph) and the multi-task head (paper §4.3).

Fusion, per frame (the paper concatenates F_enhanced with F_global without saying how a
clip-level set of N tokens meets T frame features; DESIGN §2.5 leaves it to us): every
frame's F_global vector cross-attends to the N enhanced tokens (what of the clip's ME
evidence concerns this frame?); beside that answer stands the frame's own share of the
enhanced tokens, the frame evidence e_t (the attended values that came from frame t's
regions, see :mod:`meldae.model.enhancer`). The three are concatenated and an MLP maps the
3D-wide concatenation back to D, added to F_global as a residual:

    ctx_t   = CrossAttn(q = F_global[t], k = v = F_enhanced)        # (D,)
    fused_t = F_global[t] + MLP([F_global[t] ; ctx_t ; e_t])        # (D,)

Without e_t a frame learns where the clip's ME is only through F_global (the CLS tokens),
which hides small regional motion; with it the attention that a query pays to a frame's
regions reaches that frame's localisation score directly.

``frame_evidence=False`` (the ``paper`` preset) leaves e_t out: the MLP reads
[F_global[t] ; ctx_t], 2D wide.

The MELDAE* ablation (no enhancer) uses :class:`GlobalOnlyFusion`: the same residual MLP on
F_global alone.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from meldae.model.layers import MLP, CrossAttention


class FrameFusion(nn.Module):
    """Per-frame fusion of F_global (B, T, D) with F_enhanced (B, N, D) -> (B, T, D)."""

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0, evidence: bool = True) -> None:
        super().__init__()
        self.attn = CrossAttention(dim, num_heads, dropout)
        self.evidence = evidence  # read e_t (our addition) or not (the paper)
        self.mlp = MLP((3 if evidence else 2) * dim, 2 * dim, dim, dropout)

    def forward(self, f_global: Tensor, f_enhanced: Tensor, frame_evidence: Tensor) -> Tensor:
        """F_global (B, T, D), F_enhanced (B, N, D), frame evidence (B, T, D) -> fused (B, T, D)."""
        ctx, _ = self.attn(f_global, f_enhanced)  # (B, T, D), SDPA path
        parts = [f_global, ctx, frame_evidence] if self.evidence else [f_global, ctx]
        return f_global + self.mlp(torch.cat(parts, dim=-1))  # (B, T, D)


class GlobalOnlyFusion(nn.Module):
    """MELDAE*: no enhanced tokens to fuse; a residual MLP on F_global."""

    def __init__(self, dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.mlp = MLP(dim, 2 * dim, dim, dropout)

    def forward(self, f_global: Tensor, f_enhanced: Tensor, frame_evidence: Tensor) -> Tensor:
        """F_global (B, T, D); the empty tokens and zero evidence are ignored -> fused (B, T, D)."""
        return f_global + self.mlp(f_global)  # (B, T, D)


class MultiTaskHead(nn.Module):
    """Three parallel branches: clip ME logit, per-frame state logits, per-frame loc logits.

    The clip ME logit reads the mean over the T fused frames and the N enhanced tokens.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.me = nn.Linear(dim, 1)
        self.state = nn.Linear(dim, 1)
        self.loc = nn.Linear(dim, 1)
        # Start S_loc near a 10% prior, as detection heads trained with focal-type losses do:
        # from 0.5 the overlap loss first drives every frame positive.
        nn.init.constant_(self.loc.bias, -2.2)

    def forward(self, fused: Tensor, f_enhanced: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Fused (B, T, D), F_enhanced (B, N, D) -> loc (B, T), state (B, T), me (B,) logits."""
        frames = self.norm(fused)  # (B, T, D)
        loc_logits = self.loc(frames).squeeze(-1)  # (B, T)
        state_logits = self.state(frames).squeeze(-1)  # (B, T)
        tokens = torch.cat([frames, self.norm(f_enhanced)], dim=1)  # (B, T+N, D)
        me_logit = self.me(tokens.mean(dim=1)).squeeze(-1)  # (B,)
        return loc_logits, state_logits, me_logit
