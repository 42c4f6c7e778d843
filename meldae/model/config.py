"""The model's configuration: one frozen dataclass and the named presets.

A configuration is plain data (numbers, strings, a tuple of keyword pairs): it round-trips
through JSON (``to_dict`` / ``config_from_dict``), which is how checkpoints store it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

PRESETS: tuple[str, ...] = ("paper", "lite", "tiny")


@dataclass(frozen=True)
class MELDAEConfig:
    """Everything that fixes the shapes and the behaviour of a :class:`MELDAE` model."""

    # Frame encoder: any timm ViT (CLS + patch tokens) or a timm CNN such as "resnet50".
    backbone: str = "vit_base_patch16_224"
    # Load ImageNet weights through timm (needs the internet or the Hugging Face cache).
    pretrained: bool = False
    # Local backbone weights (.safetensors / .pth / .bin / timm .npz); wins over `pretrained`.
    weights_path: str | None = None
    # Square face-crop size fed to the backbone (S); inputs of another size are resized.
    img_size: int = 224
    # T, frames per window.
    num_frames: int = 32
    # N, learnable ME query tokens of the enhancer.
    num_queries: int = 16
    # G, regions per side: patch tokens are pooled to a G x G grid per frame.
    region_grid: int = 10
    # Bi-LSTM hidden size per direction; the model width is D = 2 * lstm_hidden.
    lstm_hidden: int = 384
    # Attention heads of the enhancer and of the fusion (D must be divisible by it).
    num_heads: int = 8
    # Dropout of the new (non-backbone) parts.
    dropout: float = 0.1
    # False = the MELDAE* ablation: no enhancer, no attention map, F_global alone.
    use_enhancer: bool = True
    # False = ablation "w/o Bi-LSTM": a linear projection of the CLS tokens instead.
    use_lstm: bool = True
    # Deviation-from-window-mean features beside the CLS vectors (meldae.model.temporal) and
    # the region tokens (meldae.model.enhancer): how a frame departs from its window. Not in
    # the paper (off in `paper`); on in the CPU presets: trained from scratch, the model did
    # not learn the synthetic MEs without it (docs/reproduction.md, docs/bench-train.md).
    motion_features: bool = True
    # Frame evidence e_t (meldae.model.enhancer / fusion): each frame's share of the enhanced
    # tokens fed to its fused feature. Not in the paper (off in `paper`); on in the CPU
    # presets, where the clip-level tokens alone did not put the ME back on its frames.
    frame_evidence: bool = True
    # Region flow (meldae.model.flow): parameter-free Lucas-Kanade flow per face region fed to
    # the temporal model and the enhancer's region tokens. Not in the paper; on in the CPU
    # presets because a from-scratch backbone alone does not carry motion from one face to
    # another (held-out person, docs/bench-train.md).
    region_flow: bool = False
    # Extra keyword arguments for timm.create_model, e.g. (("depth", 2),) for the tiny preset.
    backbone_kwargs: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        positive = ("img_size", "num_frames", "num_queries", "region_grid", "lstm_hidden", "num_heads")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"MELDAEConfig.{name} must be a positive int, got {value!r}")
        if (2 * self.lstm_hidden) % self.num_heads:
            raise ValueError(
                f"model width 2*lstm_hidden={2 * self.lstm_hidden} is not divisible by "
                f"num_heads={self.num_heads}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"MELDAEConfig.dropout must be in [0, 1), got {self.dropout!r}")
        # Normalise lists (e.g. from JSON) to the hashable tuple-of-pairs form.
        pairs = tuple((str(k), _freeze(v)) for k, v in self.backbone_kwargs)
        object.__setattr__(self, "backbone_kwargs", pairs)

    @property
    def dim(self) -> int:
        """D, the width of F_global, F_regional, F_enhanced and the fused features."""
        return 2 * self.lstm_hidden

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``dataclasses.asdict``)."""
        return dataclasses.asdict(self)


def _freeze(value: Any) -> Any:
    """Lists (from JSON) become tuples so that the config stays hashable."""
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def config_from_dict(data: dict[str, Any]) -> MELDAEConfig:
    """Rebuild a config from ``to_dict`` output.

    Raises:
        ValueError: unknown keys or invalid values (the message names them).
    """
    known = {f.name for f in dataclasses.fields(MELDAEConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown model config keys: {', '.join(unknown)}")
    try:
        return MELDAEConfig(**data)
    except TypeError as exc:
        raise ValueError(f"invalid model config: {exc}") from exc


_PRESET_VALUES: dict[str, dict[str, Any]] = {
    # ViT-B/16 at 224, ImageNet weights as in the paper (offline: --weights FILE or
    # --no-pretrained); 14x14 patches, adaptive-pooled to the paper's 10x10 grid.
    # The paper's model as published: none of our additions (motion_features, frame_evidence,
    # region_flow off). T=32 is our choice: the paper does not state T.
    "paper": dict(backbone="vit_base_patch16_224", pretrained=True, img_size=224, num_frames=32,
                  region_grid=10, lstm_hidden=384, num_heads=8, motion_features=False,
                  frame_evidence=False, region_flow=False),
    # The first 4 blocks of ViT-Ti/16 at 160: 10x10 patches = the 10x10 grid directly; about
    # 3 M parameters (6 MB in fp16), fast enough to run and to fine-tune on a laptop CPU.
    "lite": dict(backbone="vit_tiny_patch16_224", img_size=160, num_frames=32, region_grid=10,
                 lstm_hidden=96, num_heads=6, backbone_kwargs=(("depth", 4),), region_flow=True),
    # Two-block ViT-Ti/16 at 64: 4x4 patches, G=4, T=32; for tests and CPU smoke runs. T is
    # the paper's: with T=16 a 0.5-s ME fills the whole window and the model learnt the
    # synthetic MEs far worse (docs/bench-train.md).
    "tiny": dict(backbone="vit_tiny_patch16_224", img_size=64, num_frames=32, region_grid=4,
                 lstm_hidden=32, num_heads=4, backbone_kwargs=(("depth", 2),), region_flow=True),
}


def preset(name: str, **overrides: Any) -> MELDAEConfig:
    """The named preset ("paper", "lite" or "tiny") with optional field overrides.

    The preset's ``backbone_kwargs`` belong to its backbone: overriding ``backbone`` without
    ``backbone_kwargs`` drops them (``preset("tiny", backbone="resnet50")`` works).

    Raises:
        ValueError: unknown preset name or unknown override field.
    """
    if name not in _PRESET_VALUES:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    values = {**_PRESET_VALUES[name], **overrides}
    if "backbone" in overrides and "backbone_kwargs" not in overrides:
        values["backbone_kwargs"] = ()
    return config_from_dict(values)
