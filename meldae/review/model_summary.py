"""One line that says which model scores the clip, what it was trained on, and where.

Shown permanently in the app's status bar (and usable by any front end): the annotator must
never have to guess whether the proposals come from the demo model trained on synthetic
faces or from a model trained on their own data, nor whether it runs on the GPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def trained_on(meta: dict[str, Any]) -> str:
    """What the checkpoint says it was trained on, in a few words."""
    if meta.get("demo"):
        return "demo model: synthetic faces only"
    data = meta.get("trained_on")
    parts = []
    if data:
        parts.append(f"trained on {Path(str(data)).name or data}")
    if meta.get("init_from"):
        parts.append(f"fine-tuned from {Path(str(meta['init_from'])).stem}")
    return ", ".join(parts) if parts else "training data not recorded"


def describe_model(checkpoint: str | Path | None, info: dict[str, Any] | None,
                   requested_device: str = "auto") -> str:
    """``"Model: NAME (what it was trained on) · DEVICE"``.

    Args:
        checkpoint: the checkpoint file (None: the bundled demo model).
        info: the checkpoint's JSON as the scorer reported it (``meta``; ``device`` where
            it ran; ``cached``: the scores came from the cache), or None before it loaded.
        requested_device: the device asked for (``auto``, ``cpu``, ``cuda``).
    """
    name = Path(checkpoint).stem if checkpoint is not None else "bundled demo model"
    if info is None:
        return f"Model: {name} · {requested_device} (not loaded yet)"
    meta = info.get("meta") or {}
    device = info.get("device") or requested_device
    where = f"scores cached ({device})" if info.get("cached") else device
    return f"Model: {name} ({trained_on(meta)}) · {where}"


def device_missing_message(requested: str, detail: str) -> str:
    """The message for a GPU that was asked for but is not there (not a missing model)."""
    return (f"A GPU was requested (--device {requested}), but this machine has no usable "
            f"CUDA GPU ({detail}).\n\n"
            "The model itself is fine. Start with --device auto (the GPU when there is one, "
            "else the CPU) or --device cpu; on a machine with an NVIDIA GPU, check the "
            "driver and that PyTorch was installed with CUDA support.")
