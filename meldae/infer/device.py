"""Choosing the device and the numeric mode for inference."""

from __future__ import annotations

import contextlib
from typing import Any


class DeviceError(ValueError):
    """A device that does not exist here (e.g. ``cuda`` on a machine without CUDA)."""


def resolve_device(device: Any = "auto") -> Any:
    """The ``torch.device`` to run on.

    Args:
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``,
            ``"cuda:N"`` or a ``torch.device``.

    Raises:
        DeviceError: CUDA was asked for and is not available, or the name is unknown.
    """
    import torch

    if isinstance(device, torch.device):
        return device
    name = str(device or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise DeviceError(f"unknown device {device!r}: use auto, cpu or cuda") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device {device!r} asked for, but CUDA is not available here")
    if dev.type not in ("cpu", "cuda"):
        raise DeviceError(f"unsupported device {device!r}: use auto, cpu or cuda")
    return dev


def autocast_context(device: Any) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA; no autocast elsewhere (fp32 on the CPU)."""
    import torch

    if getattr(device, "type", str(device)) == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def default_batch_size(device: Any) -> int:
    """Windows per forward pass: 16 on CUDA, 4 on the CPU."""
    return 16 if getattr(device, "type", str(device)) == "cuda" else 4
