"""Exporting a trained checkpoint as the bundled demo model (fp16, flagged as a demo)."""

from __future__ import annotations

import datetime as _dt
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: The default ``note`` of a demo checkpoint; ``make demo-model`` passes the precise one.
DEMO_NOTE = "trained on synthetic motion injected into faces, not on real annotations"


def export_demo(checkpoint: str | Path, out: str | Path, trained_on: str = "",
                extra_meta: dict[str, Any] | None = None, note: str = DEMO_NOTE) -> Path:
    """Write ``checkpoint`` as a demo checkpoint pair at ``out`` with fp16 weights.

    The meta keeps what the trainer stored (the validated threshold and post-processing,
    the validation figures, the epoch) and adds ``demo: true``, a ``note`` saying what the
    model saw (shown to users wherever the demo scores), ``trained_on``, the source
    checkpoint and the date.

    Args:
        checkpoint: the trained checkpoint (``NAME``, ``NAME.safetensors`` or ``NAME.json``).
        out: ``NAME`` or ``NAME.safetensors`` of the demo pair to write.
        trained_on: how the training data was made (a command line, say).
        extra_meta: further JSON-serialisable facts (e.g. held-out figures).
        note: one line saying what the model was trained on.

    Returns:
        The path of the written ``.safetensors``.

    Raises:
        meldae.checkpoint.CheckpointError: unreadable source or unwritable destination.
    """
    from meldae.checkpoint import load_checkpoint, save_checkpoint

    model, info = load_checkpoint(checkpoint)
    meta = dict(info.get("meta") or {})
    meta.update({
        "demo": True,
        "note": note,
        "trained_on": trained_on or meta.get("trained_on", "meldae synth data"),
        "source_checkpoint": str(Path(checkpoint)),
        "exported": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    })
    meta.update(extra_meta or {})
    path = save_checkpoint(out, model, meta, dtype="float16")
    log.info("demo model written: %s", path)
    return path
