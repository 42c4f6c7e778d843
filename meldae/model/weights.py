"""Creating the timm backbone, with ImageNet or local weights, without ever hanging offline.

Three ways to get backbone weights:

* ``weights_path`` — a local file (``.safetensors``, ``.pth``/``.pt``/``.bin`` read with
  ``torch.load(weights_only=True)``, or an original JAX ``.npz`` for ViTs). timm's own
  loader does the work, so position embeddings are resampled when ``img_size`` differs
  from the file's (e.g. the lite preset's 160 px from 224 px weights).
* ``pretrained=True`` — the Hugging Face cache is used when it holds the weights (no network
  at all); otherwise timm downloads them, unless we are offline (``HF_HUB_OFFLINE`` set, or
  the hub's host unreachable within a few seconds), in which case a
  :class:`ModelWeightsError` names both ways out at once instead of hub retries (~50 s).
* neither — random initialisation.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from meldae.checkpoint_error import CheckpointError

if TYPE_CHECKING:
    from torch import nn

    from meldae.model.config import MELDAEConfig

log = logging.getLogger(__name__)

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".npz")
_HUB_FILENAMES = ("model.safetensors", "pytorch_model.bin")
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


class ModelWeightsError(CheckpointError):
    """Backbone weights could not be obtained or loaded (str: ``"<file or model>: <reason>"``)."""


def create_backbone(cfg: MELDAEConfig) -> nn.Module:
    """The timm backbone of ``cfg`` (classifier removed), with the weights ``cfg`` asks for.

    Raises:
        ModelWeightsError: unknown backbone, unreadable weights file, or ImageNet weights
            requested while offline and not cached.
    """
    import timm

    if not timm.is_model(cfg.backbone):
        raise ModelWeightsError(f"{cfg.backbone}: not a timm model name")
    if cfg.weights_path is not None:
        return _from_file(cfg, Path(cfg.weights_path))
    if cfg.pretrained:
        return _from_hub(cfg)
    return _create(cfg, pretrained=False)


def _create(cfg: MELDAEConfig, pretrained: bool, overlay: dict[str, Any] | None = None) -> nn.Module:
    """timm.create_model with img_size for models that take it (ViTs), without for CNNs."""
    import timm

    kwargs: dict[str, Any] = {"num_classes": 0, **dict(cfg.backbone_kwargs)}
    if overlay:
        kwargs["pretrained_cfg_overlay"] = overlay
    if pretrained and "depth" in kwargs:
        # A shortened ViT (the lite and tiny presets) takes the first `depth` blocks of the
        # pretrained weights; the deeper blocks' weights are left unused.
        kwargs["pretrained_strict"] = False
    try:
        return timm.create_model(cfg.backbone, pretrained=pretrained, img_size=cfg.img_size, **kwargs)
    except TypeError as exc:
        if "img_size" not in str(exc):
            raise
    return timm.create_model(cfg.backbone, pretrained=pretrained, **kwargs)


def _from_file(cfg: MELDAEConfig, path: Path) -> nn.Module:
    """The backbone with weights from a local file."""
    if not path.is_file():
        raise ModelWeightsError(f"{path}: backbone weights file not found")
    suffix = path.suffix.lower()
    if suffix not in WEIGHT_SUFFIXES:
        raise ModelWeightsError(
            f"{path}: unsupported weights format {suffix!r} (use {', '.join(WEIGHT_SUFFIXES)})"
        )
    overlay = {"file": str(path), "custom_load": suffix == ".npz"}
    try:
        model = _create(cfg, pretrained=True, overlay=overlay)
    except Exception as exc:  # timm/torch raise many types for a bad file; report one
        raise ModelWeightsError(
            f"{path}: cannot load it into backbone {cfg.backbone}: {type(exc).__name__}: {exc}"
        ) from exc
    log.info("backbone %s: weights loaded from %s", cfg.backbone, path)
    return model


def _from_hub(cfg: MELDAEConfig) -> nn.Module:
    """The backbone with timm's ImageNet weights: cache first, download only when online."""
    import timm

    hub_id = getattr(timm.models.get_pretrained_cfg(cfg.backbone), "hf_hub_id", None)
    cached = _cached_hub_file(hub_id) if hub_id else None
    if cached is not None:
        log.info("backbone %s: weights from the Hugging Face cache %s", cfg.backbone, cached)
        return _from_file(cfg, cached)
    reason = _offline_reason()
    if reason is None:
        try:
            return _create(cfg, pretrained=True)
        except Exception as exc:  # connection errors, hub errors, missing files
            reason = f"the download failed ({type(exc).__name__}: {exc})"
    raise ModelWeightsError(
        f"{cfg.backbone}: pretrained ImageNet weights are not available: {reason}. "
        f"Either connect to the internet once (timm then downloads them into the Hugging Face "
        f"cache {_hf_cache_dir()}; point HF_HOME or HF_HUB_CACHE at a cache that holds "
        f"{hub_id or cfg.backbone}), or use a local .safetensors/.pth/.bin/.npz file of "
        f"{cfg.backbone} (meldae train --weights FILE; weights_path in a config file). "
        f"--no-pretrained trains the backbone from scratch instead."
    )


def _hf_cache_dir() -> Path:
    """The Hugging Face hub cache, resolved from the environment now (not at import)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def _cached_hub_file(hub_id: str) -> Path | None:
    """The cached weights file of ``hub_id`` (a timm hub repo), or None."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    for filename in _HUB_FILENAMES:
        found = try_to_load_from_cache(hub_id, filename, cache_dir=str(_hf_cache_dir()))
        if isinstance(found, str):
            return Path(found)
    return None


def _offline_reason(timeout_s: float = 3.0) -> str | None:
    """Why a download cannot work right now, or None when the hub looks reachable."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set and the weights are not in the local cache"
    if any(os.environ.get(var) for var in _PROXY_VARS):
        return None  # a proxy may reach the hub even when a direct connection cannot
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    host = urlparse(endpoint).hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=timeout_s):
            return None
    except OSError as exc:
        return f"no connection to {host} ({exc}) and the weights are not in the local cache"
