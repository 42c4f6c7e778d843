"""The bundled demo model and loading models for inference."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meldae.infer.device import resolve_device

if TYPE_CHECKING:  # pragma: no cover
    from meldae.model import MELDAE

log = logging.getLogger(__name__)

DEMO_NOTICE = (
    "using the bundled demo model ({path}): {note}; its scores on your videos are a "
    "demonstration, not measurements. Pass --checkpoint (or a model) trained on your data."
)


def demo_notice(path: Path, meta: dict) -> str:
    """The warning logged whenever a demo checkpoint scores, with the note from its meta."""
    from meldae.infer.demo import DEMO_NOTE

    return DEMO_NOTICE.format(path=path, note=meta.get("note") or DEMO_NOTE)


def load_model(checkpoint: str | Path | None, device: Any = "auto",
               engine: str = "torch") -> tuple[MELDAE, dict]:
    """Load a checkpoint for inference, or the demo model when ``checkpoint`` is None.

    Args:
        checkpoint: ``NAME.safetensors``, ``NAME.json`` or ``NAME`` (the pair's stem); with
            ``engine="onnx"`` a ``.onnx`` file from ``meldae export-onnx``.
        device: see ``meldae.infer.device.resolve_device``.
        engine: ``"torch"`` or ``"onnx"`` (``meldae.infer.onnx_engine.OnnxWindowModel``).

    Returns:
        The model (eval mode, on the device) and the checkpoint's JSON dict.

    Raises:
        meldae.checkpoint.CheckpointError: missing files or not a MELDAE checkpoint.
    """
    if engine == "onnx":
        from meldae.infer.onnx_engine import load_onnx_model

        model, info = load_onnx_model(checkpoint, resolve_device(device))
        if (info.get("meta") or {}).get("demo"):
            log.warning(demo_notice(Path(checkpoint), info.get("meta") or {}))
        return model, info
    if checkpoint is None:
        return load_default_model(device)
    from meldae.checkpoint import load_checkpoint

    dev = resolve_device(device)
    path = Path(checkpoint)
    if path.suffix == ".json":
        path = path.with_suffix(".safetensors")
    model, info = load_checkpoint(path, map_location="cpu")
    model = model.to(dev)
    model.eval()
    meta = info.get("meta") or {}
    if meta.get("demo"):
        log.warning(demo_notice(path, meta))
    return model, info


def load_default_model(device: Any = "auto") -> tuple[MELDAE, dict]:
    """The demo checkpoint bundled in ``resources/demo``, with a logged notice.

    Args:
        device: see ``meldae.infer.device.resolve_device``.

    Returns:
        The model (eval mode, on the device) and the checkpoint's JSON dict.

    Raises:
        meldae.checkpoint.CheckpointError: the demo checkpoint is not there (build it with
            ``make demo-model``).
    """
    from meldae.checkpoint import CheckpointError, load_checkpoint
    from meldae.paths import demo_checkpoint

    path = demo_checkpoint()
    if not path.is_file() or not path.with_suffix(".json").is_file():
        raise CheckpointError(
            f"{path}: the bundled demo model is missing; build it with `make demo-model` "
            "or pass a checkpoint"
        )
    dev = resolve_device(device)
    model, info = load_checkpoint(path, map_location="cpu")
    model = model.float().to(dev)   # stored in fp16 to stay small
    model.eval()
    log.warning(demo_notice(path, info.get("meta") or {}))
    return model, info


def validation_stride(info: dict | None) -> int | None:
    """The window stride the trainer validated with (``meta["train"]["val_stride"]``), if any.

    Inference uses it by default, so the validated threshold means the same thing.
    """
    train = ((info or {}).get("meta") or {}).get("train") or {}
    stride = train.get("val_stride") if isinstance(train, dict) else None
    return int(stride) if stride else None
