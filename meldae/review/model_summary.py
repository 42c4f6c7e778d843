"""One line that says which model scores the clip, what it was trained on, and where.

Shown permanently in the app's status bar (and usable by any front end): the annotator must
never have to guess whether the proposals come from the demo model (trained on synthetic
motion; its meta's ``note`` says which) or from a model trained on their own data, nor whether it runs on the GPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def trained_on(meta: dict[str, Any]) -> str:
    """What the checkpoint says it was trained on, in a few words."""
    if meta.get("demo"):
        from meldae.infer.demo import DEMO_NOTE

        return f"{meta.get('note') or DEMO_NOTE} (demo)"
    data = meta.get("trained_on")
    splits = meta.get("splits") if isinstance(meta.get("splits"), dict) else {}
    n_clips = sum(len(v) for v in splits.values() if isinstance(v, list))
    parts = []
    if data or n_clips:
        folder = Path(str(data or ""))
        # the Training tab trains on <run>/data: the run's name says more than "data"
        name = folder.parent.name if folder.name == "data" else folder.name
        clips = f"{n_clips} clips" if n_clips else ""
        parts.append("trained on " + " of ".join(p for p in (clips, name) if p))
    if meta.get("init_from"):
        parts.append(f"fine-tuned from {Path(str(meta['init_from'])).stem}")
    return ", ".join(parts) if parts else "training data not recorded"


def describe_model(checkpoint: str | Path | None, info: dict[str, Any] | None,
                   requested_device: str = "auto") -> str:
    """``"Model: NAME — what it was trained on · DEVICE"``.

    Args:
        checkpoint: the checkpoint file (None: the bundled demo model).
        info: the checkpoint's JSON as the scorer reported it (``meta``; ``device`` where
            it ran; ``cached``: the scores came from the cache), or None before it loaded.
        requested_device: the device asked for (``auto``, ``cpu``, ``cuda``).
    """
    name = Path(checkpoint).stem if checkpoint is not None else "demo"
    if info is None:
        return f"Model: {name} · {requested_device} (not loaded yet)"
    meta = info.get("meta") or {}
    device = info.get("device")
    if info.get("cached"):     # no model ran: say where the cached scores were computed
        where = f"cached scores ({device})" if device else "cached scores"
    else:
        where = device or requested_device
    return f"Model: {name} — {trained_on(meta)} · {where}"


def device_missing_message(requested: str, detail: str) -> str:
    """The message for a GPU that was asked for but is not there (not a missing model)."""
    return (f"A GPU was requested (--device {requested}), but this machine has no usable "
            f"CUDA GPU ({detail}).\n\n"
            "The model itself is fine. Start with --device auto (the GPU when there is one, "
            "else the CPU) or --device cpu; on a machine with an NVIDIA GPU, check the "
            "driver and that PyTorch was installed with CUDA support.")
