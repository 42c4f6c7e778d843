"""Region pooling and the ME Enhancer (paper §4.2).

Region pooling averages each frame's patch grid (h x w) down to G x G regions (adaptive
average pooling: 14x14 -> 10x10 for ViT-B/16 at 224; identity for 10x10), projects them to
the model width D and adds a learned region code and a sine/cosine frame code, so that the
keys know where and when they are: F_regional (B, T*G*G, D), ordered (frame, row, column).

Region pooling also adds, per region, a projection of the region's deviation from its mean
over the window (``motion_features``, on by default): a face that does not move gives the same
pooled features in every frame, so what distinguishes an ME frame is how a region departs
from its own appearance elsewhere in the window. The paper says only that patch tokens are
"processed via Region Pooling"; this is our reading of it, and training from scratch on
synthetic faces did not learn without it.

The enhancer's N learnable query tokens cross-attend to F_regional (keys = values), then
pass a residual MLP: F_enhanced (B, N, D). Its attention, averaged over heads, is returned as
(B, N, T, G, G) and sums to 1 over (T, G, G) for every query. Beside it the enhancer returns
the frame evidence (B, T, D): the part of the attended values that came from each frame's
regions (summed over queries and regions, scaled by T/N so that evenly spread attention
gives values of order one). The per-frame fusion uses it to put the clip-level tokens back
on the frames they were drawn from. The frame evidence is our addition (``frame_evidence``,
off in the ``paper`` preset): without it the enhancer returns zeros there and takes the SDPA
fast path when no attention map is asked for.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from meldae.model.layers import MLP, CrossAttention, sinusoidal_code


class RegionPooling(nn.Module):
    """Patch grids (B, T, E, h, w) -> F_regional (B, T*G*G, D)."""

    def __init__(self, in_dim: int, dim: int, grid: int, num_frames: int, motion: bool = True,
                 flow_channels: int = 0) -> None:
        super().__init__()
        self.grid = grid
        # Each region's own flow (meldae.model.flow) added to its token.
        self.flow = nn.Linear(flow_channels, dim) if flow_channels else None
        # Deviation of each region from its window mean (see the module docstring).
        self.motion = nn.Linear(in_dim, dim) if motion else None
        # The frame code for windows up to num_frames long, computed once (not saved).
        self.register_buffer("time_code", sinusoidal_code(num_frames, dim, torch.device("cpu"), torch.float32),
                             persistent=False)  # (T_max, D)
        self.norm = nn.LayerNorm(in_dim)
        self.proj = nn.Linear(in_dim, dim)
        self.region_embed = nn.Parameter(torch.zeros(grid * grid, dim))  # (G*G, D)
        nn.init.trunc_normal_(self.region_embed, std=0.02)

    def forward(self, grid: Tensor, flow: Tensor | None = None) -> Tensor:
        """Patch grids (B, T, E, h, w) [, region flow (B, T, G*G, C)] -> F_regional (B, T*G*G, D)."""
        B, T, E, h, w = grid.shape
        pooled = F.adaptive_avg_pool2d(grid.reshape(B * T, E, h, w), self.grid)  # (B*T, E, G, G)
        regions = pooled.flatten(2).transpose(1, 2).reshape(B, T, self.grid**2, E)  # (B, T, G*G, E)
        projected = self.proj(self.norm(regions))  # (B, T, G*G, D)
        if self.motion is not None:
            deviation = regions - regions.mean(dim=1, keepdim=True)  # (B, T, G*G, E)
            projected = projected + self.motion(deviation)  # (B, T, G*G, D)
        if self.flow is not None:
            projected = projected + self.flow(flow.to(projected.dtype))  # (B, T, G*G, D)
        regions = projected
        time_code = self._time_code(T).to(regions.dtype)  # (T, D)
        regions = regions + self.region_embed.to(regions.dtype) + time_code[:, None, :]  # (B, T, G*G, D)
        return regions.reshape(B, T * self.grid**2, -1)  # (B, T*G*G, D)


    def _time_code(self, T: int) -> Tensor:
        """The (T, D) frame code; computed on the fly only for windows longer than configured."""
        if T <= self.time_code.shape[0]:
            return self.time_code[:T]
        return sinusoidal_code(T, self.time_code.shape[1], self.time_code.device, torch.float32)


class MEEnhancer(nn.Module):
    """Region pooling + N learnable queries cross-attending to F_regional."""

    def __init__(self, in_dim: int, dim: int, grid: int, num_frames: int, num_queries: int, num_heads: int,
                 dropout: float = 0.0, motion: bool = True, flow_channels: int = 0,
                 evidence: bool = True) -> None:
        super().__init__()
        self.grid = grid
        self.pool = RegionPooling(in_dim, dim, grid, num_frames, motion, flow_channels)
        self.queries = nn.Parameter(torch.zeros(num_queries, dim))  # (N, D)
        nn.init.trunc_normal_(self.queries, std=0.02)
        self.attn = CrossAttention(dim, num_heads, dropout)
        self.mlp = MLP(dim, 2 * dim, dim, dropout)
        # Frame evidence e_t (see the module docstring); None: off (the paper's enhancer).
        self.evidence = nn.Linear(dim, dim) if evidence else None

    def forward(self, grid: Tensor, need_attention: bool = True,
                flow: Tensor | None = None) -> tuple[Tensor, Tensor | None, Tensor]:
        """Patch grids (B, T, E, h, w) [, region flow] -> F_enhanced (B, N, D), attention or None, frame evidence (B, T, D).

        ``need_attention=False`` returns no attention map (the map is still computed: the
        frame evidence needs it).
        """
        B, T = grid.shape[:2]
        f_regional = self.pool(grid, flow)  # (B, T*G*G, D)
        tokens = self.queries.to(f_regional.dtype).expand(B, -1, -1)  # (B, N, D)
        if self.evidence is None:
            attended, weights = self.attn(tokens, f_regional, need_weights=need_attention)  # (B,N,D), (B,N,L) or None
            frame_evidence = f_regional.new_zeros(B, T, f_regional.shape[-1])  # (B, T, D)
        else:
            attended, weights, sources = self.attn.forward_with_sources(tokens, f_regional)  # (B,N,D), (B,N,L), (B,L,D)
            per_frame = sources.view(B, T, self.grid**2, -1).sum(dim=2) * (T / tokens.shape[1])  # (B, T, D)
            frame_evidence = self.evidence(per_frame)  # (B, T, D)
        tokens = tokens + attended  # (B, N, D)
        f_enhanced = tokens + self.mlp(tokens)  # (B, N, D)
        attention = weights.reshape(B, -1, T, self.grid, self.grid) if need_attention else None  # (B, N, T, G, G)
        return f_enhanced, attention, frame_evidence


class NoEnhancer(nn.Module):
    """MELDAE* ablation: no regional branch; yields an empty token set and no attention."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, grid: Tensor, need_attention: bool = True,
                flow: Tensor | None = None) -> tuple[Tensor, None, Tensor]:
        """Patch grids (B, T, E, h, w) -> empty F_enhanced (B, 0, D), None, zero evidence (B, T, D)."""
        B, T = grid.shape[:2]
        return grid.new_zeros(B, 0, self.dim), None, grid.new_zeros(B, T, self.dim)  # (B, 0, D), (B, T, D)
