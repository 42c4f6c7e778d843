"""Frame encoders: a timm backbone run on every frame, giving a CLS vector and a patch grid.

Both encoders map frames (B*T, 3, S, S) to ``(cls (B*T, E), grid (B*T, E, h, w))``:

* :class:`ViTFrameEncoder` keeps the CLS token and the patch tokens of ``forward_features``
  (after the final norm); the patch tokens are laid out on the patch grid.
* :class:`CNNFrameEncoder` (``resnet50`` and other timm CNNs) takes the last feature map as
  the "patch" grid and its global average as the CLS vector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor, nn

from meldae.model.weights import create_backbone

if TYPE_CHECKING:
    from meldae.model.config import MELDAEConfig


class FrameEncoder(nn.Module):
    """Common part: the timm backbone and its input normalisation (mean/std)."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        import timm.data

        self.backbone = backbone
        self.embed_dim: int = int(backbone.num_features)
        data_cfg = timm.data.resolve_data_config({}, model=backbone)
        self.mean: tuple[float, ...] = tuple(float(m) for m in data_cfg["mean"])
        self.std: tuple[float, ...] = tuple(float(s) for s in data_cfg["std"])

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Trade compute for memory in the backbone (timm's activation checkpointing)."""
        self.backbone.set_grad_checkpointing(enable)


class ViTFrameEncoder(FrameEncoder):
    """A timm Vision Transformer: CLS token + patch tokens."""

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Frames (N, 3, S, S) -> CLS (N, E) and patch grid (N, E, h, w)."""
        tokens = self.backbone.forward_features(x)  # (N, P + h*w, E)
        prefix = self.backbone.num_prefix_tokens
        patches = tokens[:, prefix:]  # (N, h*w, E)
        h, w = self.backbone.patch_embed.grid_size
        grid = patches.transpose(1, 2).reshape(x.shape[0], self.embed_dim, h, w)  # (N, E, h, w)
        # ViTs without a class token (global-average variants) use the mean patch token.
        cls = tokens[:, 0] if self.backbone.has_class_token else patches.mean(dim=1)  # (N, E)
        return cls, grid


class CNNFrameEncoder(FrameEncoder):
    """A timm CNN: last feature map as the grid, its spatial mean as the CLS vector."""

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Frames (N, 3, S, S) -> pooled (N, E) and feature map (N, E, h, w)."""
        grid = self.backbone.forward_features(x)  # (N, E, h, w)
        cls = grid.mean(dim=(2, 3))  # (N, E)
        return cls, grid


def build_frame_encoder(cfg: MELDAEConfig) -> FrameEncoder:
    """The encoder for ``cfg.backbone``: token models (ViT family) or feature-map models."""
    backbone = create_backbone(cfg)
    is_token_model = hasattr(backbone, "patch_embed") and hasattr(backbone, "num_prefix_tokens")
    encoder_cls = ViTFrameEncoder if is_token_model else CNNFrameEncoder
    return encoder_cls(backbone)
