"""The MELDAE network: frame encoder -> Bi-LSTM + ME Enhancer -> per-frame fusion -> heads.

Data path for a window of T face crops (B, T, 3, S, S):

1. frame encoder (timm ViT, or a CNN such as resnet50) on all B*T frames -> CLS (B, T, E)
   and patch grids (B, T, E, h, w);
2. Bi-LSTM over the CLS vectors -> F_global (B, T, D) (``use_lstm=False``: a linear map);
3. ME Enhancer: patch grids pooled to G x G regions -> F_regional (B, T*G*G, D); N queries
   cross-attend to it -> F_enhanced (B, N, D) and attention (B, N, T, G, G)
   (``use_enhancer=False``: no tokens, no attention; the MELDAE* ablation);
4. per-frame fusion (see :mod:`meldae.model.fusion`) -> (B, T, D);
5. heads -> loc logits (B, T), state logits (B, T), clip ME logit (B,).

The ablation switches choose modules at construction time; ``forward`` has no branches on
them. ``forward(frames, need_attention=False)`` returns ``attention=None`` (training needs no
attention map); the default also returns the map (inference, the app's attention panel).
Both give the same logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from meldae.model.backbone import build_frame_encoder
from meldae.model.config import MELDAEConfig
from meldae.model.enhancer import MEEnhancer, NoEnhancer
from meldae.model.flow import FLOW_CHANNELS, RegionFlow
from meldae.model.fusion import FrameFusion, GlobalOnlyFusion, MultiTaskHead
from meldae.model.temporal import BiLSTMTemporal, LinearTemporal


@dataclass(frozen=True)
class MELDAEOutput:
    """What the model returns for a batch of windows."""

    loc_logits: Tensor  # (B, T) frame-wise ME localisation logits (S_loc before sigmoid)
    state_logits: Tensor  # (B, T) frame-wise speaking-state logits
    me_logit: Tensor  # (B,) clip-level "contains an ME" logit
    attention: Tensor | None  # (B, N, T, G, G), sums to 1 over (T, G, G); None without it


@dataclass(frozen=True)
class MELDAEFeatures:
    """Intermediate features (``MELDAE.forward_features``)."""

    f_global: Tensor  # (B, T, D)
    f_enhanced: Tensor  # (B, N, D); (B, 0, D) without the enhancer
    attention: Tensor | None  # (B, N, T, G, G) or None
    frame_evidence: Tensor  # (B, T, D): each frame's share of the enhanced tokens; zeros without the enhancer


class MELDAE(nn.Module):
    """MELDAE micro-expression spotting model (paper §4)."""

    def __init__(self, cfg: MELDAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = build_frame_encoder(cfg)
        E, D = self.encoder.embed_dim, cfg.dim
        # Region flow (not in the paper; meldae.model.flow): None when switched off.
        self.flow = RegionFlow(cfg.region_grid, cfg.img_size) if cfg.region_flow else None
        channels = FLOW_CHANNELS if cfg.region_flow else 0
        flow_dim = channels * cfg.region_grid**2
        self.temporal = (
            BiLSTMTemporal(E, cfg.lstm_hidden, cfg.dropout, cfg.motion_features, flow_dim) if cfg.use_lstm
            else LinearTemporal(E, D, cfg.dropout, cfg.motion_features, flow_dim)
        )
        self.enhancer = (
            MEEnhancer(E, D, cfg.region_grid, cfg.num_frames, cfg.num_queries, cfg.num_heads, cfg.dropout,
                       cfg.motion_features, channels, cfg.frame_evidence)
            if cfg.use_enhancer else NoEnhancer(D)
        )
        self.fusion = (
            FrameFusion(D, cfg.num_heads, cfg.dropout, cfg.frame_evidence) if cfg.use_enhancer
            else GlobalOnlyFusion(D, cfg.dropout)
        )
        self.head = MultiTaskHead(D)
        # Input normalisation of the backbone; not saved (it follows from cfg.backbone).
        mean = torch.tensor(self.encoder.mean).view(1, 1, 3, 1, 1)  # (1, 1, 3, 1, 1)
        std = torch.tensor(self.encoder.std).view(1, 1, 3, 1, 1)  # (1, 1, 3, 1, 1)
        self.register_buffer("pixel_mean", mean, persistent=False)
        self.register_buffer("pixel_std", std, persistent=False)

    @property
    def device(self) -> torch.device:
        """The device the model's parameters live on."""
        return self.pixel_mean.device

    def prepare(self, crops_uint8: Tensor | np.ndarray) -> Tensor:
        """Face crops (B, T, H, W, 3) uint8 RGB -> normalised frames (B, T, 3, S, S) float32.

        The result is on the model's device, resized (bilinear, antialiased) to
        ``cfg.img_size`` when H or W differ, and normalised with the backbone's mean/std.
        """
        if isinstance(crops_uint8, np.ndarray):
            crops_uint8 = torch.from_numpy(np.ascontiguousarray(crops_uint8))
        if crops_uint8.ndim != 5 or crops_uint8.shape[-1] != 3:
            raise ValueError(f"expected crops (B, T, H, W, 3), got shape {tuple(crops_uint8.shape)}")
        B, T, H, W, _ = crops_uint8.shape
        S = self.cfg.img_size
        x = crops_uint8.to(self.device, non_blocking=True)  # (B, T, H, W, 3) uint8
        x = x.permute(0, 1, 4, 2, 3).reshape(B * T, 3, H, W).float().div_(255.0)  # (B*T, 3, H, W)
        if (H, W) != (S, S):
            x = F.interpolate(x, size=(S, S), mode="bilinear", align_corners=False, antialias=True)  # (B*T, 3, S, S)
        x = x.view(B, T, 3, S, S)  # (B, T, 3, S, S)
        return (x - self.pixel_mean) / self.pixel_std  # (B, T, 3, S, S)

    def forward_features(self, frames: Tensor, need_attention: bool = True) -> MELDAEFeatures:
        """Frames (B, T, 3, S, S) -> F_global, F_enhanced and the attention map."""
        if frames.ndim != 5 or frames.shape[2] != 3:
            raise ValueError(f"expected frames (B, T, 3, S, S), got shape {tuple(frames.shape)}")
        B, T = frames.shape[:2]
        flow = self.flow(frames) if self.flow is not None else None  # (B, T, G*G, C) or None
        cls, grid = self.encoder(frames.flatten(0, 1))  # (B*T, E), (B*T, E, h, w)
        f_global = self.temporal(cls.view(B, T, -1), flow)  # (B, T, D)
        grid = grid.view(B, T, *grid.shape[1:])  # (B, T, E, h, w)
        f_enhanced, attention, evidence = self.enhancer(grid, need_attention=need_attention, flow=flow)  # (B,N,D), (B,N,T,G,G), (B,T,D)
        return MELDAEFeatures(f_global, f_enhanced, attention, evidence)

    def forward_head(self, features: MELDAEFeatures) -> MELDAEOutput:
        """Fusion and the three heads."""
        fused = self.fusion(features.f_global, features.f_enhanced, features.frame_evidence)  # (B, T, D)
        loc_logits, state_logits, me_logit = self.head(fused, features.f_enhanced)  # (B, T), (B, T), (B,)
        return MELDAEOutput(loc_logits, state_logits, me_logit, features.attention)

    def forward(self, frames: Tensor, need_attention: bool = True) -> MELDAEOutput:
        """Frames (B, T, 3, S, S) normalised as by :meth:`prepare` -> :class:`MELDAEOutput`.

        Args:
            frames: a batch of windows.
            need_attention: compute and return the enhancer's attention map (explicit
                softmax); False takes the SDPA fast path and returns ``attention=None``.
        """
        return self.forward_head(self.forward_features(frames, need_attention=need_attention))

    def backbone_parameters(self) -> list[nn.Parameter]:
        """Parameters of the pretrained backbone (the low learning-rate AdamW group)."""
        return list(self.encoder.backbone.parameters())

    def new_parameters(self) -> list[nn.Parameter]:
        """Every other parameter: Bi-LSTM, enhancer, fusion, heads (the high-LR group)."""
        backbone_ids = {id(p) for p in self.encoder.backbone.parameters()}
        return [p for p in self.parameters() if id(p) not in backbone_ids]

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Activation checkpointing in the backbone (less memory for large B*T)."""
        self.encoder.set_grad_checkpointing(enable)
