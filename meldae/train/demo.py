"""The bundled demo model: a ``lite`` MELDAE trained briefly on synthetic faces.

``meldae train-demo --out resources/demo`` (``make demo-model``) writes
``meldae-lite-demo.safetensors`` + ``.json`` (float16 weights, ``meta.demo = true``), which
``meldae.infer.load_default_model`` loads when no checkpoint is given. Its scores on real
videos mean little; it exists so that the app and the CLI work out of the box.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def train_demo(out_dir: Path, clips: int = 12, frames: int = 150, epochs: int = 2,
               steps_per_epoch: int = 15, preset_name: str = "lite", device: str = "auto",
               seed: int = 0, json_progress: bool = False) -> Path:
    """Synthesize clips, train ``preset_name`` briefly, write the demo checkpoint.

    Args:
        out_dir: where ``meldae-<preset>-demo.safetensors`` / ``.json`` go.
        clips: synthetic clips (two per subject; a fifth of the subjects validate).
        frames: frames per clip.
        epochs: training epochs.
        steps_per_epoch: optimiser steps per epoch (cap).
        preset_name: the model preset.
        device: ``auto``, ``cpu`` or ``cuda``.
        seed: synthesis and training seed.
        json_progress: progress events on stdout.

    Returns:
        The path of the written ``.safetensors`` file.
    """
    from meldae.checkpoint import load_checkpoint, save_checkpoint
    from meldae.data import synthesize
    from meldae.train.config import resolve_configs
    from meldae.train.run import train_folder

    model_cfg, train_cfg = resolve_configs(preset_name, None, {}, {
        "epochs": epochs, "max_steps_per_epoch": steps_per_epoch, "batch_size": 4,
        "num_workers": 0, "seed": seed, "warmup_steps": max(1, steps_per_epoch // 4)})
    with tempfile.TemporaryDirectory(prefix="meldae-demo-") as tmp:
        data = Path(tmp) / "data"
        synthesize(data, clips=clips, seed=seed, frames=frames)
        result = train_folder(data, Path(tmp) / "run", model_cfg, train_cfg, device=device,
                              json_progress=json_progress)
        model, doc = load_checkpoint(result.best_checkpoint)
    meta = dict(doc.get("meta") or {})
    meta.pop("splits", None)
    meta.update({"demo": True, "trained_on": f"synthetic faces (meldae synth: {clips} clips "
                 f"of {frames} frames, seed {seed})"})
    path = Path(out_dir) / f"meldae-{preset_name}-demo"
    written = save_checkpoint(path, model, meta, dtype="float16")
    log.info("demo checkpoint written: %s (best epoch %d)", written, result.best_epoch)
    return Path(written)
