"""``meldae export-onnx``: a checkpoint's window model as one ONNX graph, for deployment.

The graph takes a batch of windows of face crops exactly as the engine holds them,
``crops (B, T, S, S, 3) uint8`` RGB at the model's input size, with a dynamic batch B, and
returns the probabilities the engine blends: ``loc (B, T)``, ``state (B, T)``, ``me (B,)``
and ``attention (B, T, G, G)`` (the enhancer's attention averaged over its queries; zeros
for a model without the enhancer). Normalisation and the region flow
(``meldae.model.flow``, part of the ``lite`` and ``tiny`` forward) are inside the graph, so
a runtime needs nothing but onnxruntime and the crops.

The checkpoint's JSON (model config and meta, with the post-processing chosen on
validation) travels in the model's metadata (``meldae.checkpoint``), the post-processing
also on its own (``meldae.postprocessing``): ``meldae infer --engine onnx`` reads them, so
thresholds validated with the checkpoint hold for the exported model.

Export uses torch's ``torch.export``-based exporter (``dynamo=True``), which needs the
``onnx`` extra (onnx, onnxscript); the TorchScript exporter cannot translate the region
flow's pooling with a dynamic batch.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT = "meldae-onnx-window"
INPUTS = ("crops",)
OUTPUTS = ("loc", "state", "me", "attention")
OPSET = 18


class ExportError(RuntimeError):
    """The ONNX export is not possible here (a missing package) or failed."""


def _window_graph(model: Any) -> Any:
    """The module that is exported: uint8 crops -> the engine's four probability arrays."""
    import torch
    from torch import nn

    class WindowGraph(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, crops: torch.Tensor):   # (B, T, S, S, 3) uint8
            out = self.inner(self.inner.prepare(crops), need_attention=True)
            loc = torch.sigmoid(out.loc_logits)                          # (B, T)
            state = torch.sigmoid(out.state_logits)                      # (B, T)
            me = torch.sigmoid(out.me_logit)                             # (B,)
            g = self.inner.cfg.region_grid
            if out.attention is None:
                att = loc.new_zeros((*loc.shape, g, g))                  # (B, T, G, G)
            else:
                att = out.attention.mean(dim=1)                          # (B, T, G, G)
            return loc, state, me, att

    return WindowGraph(model).eval()


def _require_packages() -> None:
    missing = []
    for name in ("onnx", "onnxscript"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ExportError(f"ONNX export needs {' and '.join(missing)}: "
                          "pip install 'meldae-studio[onnx]' (or pip install onnx onnxscript)")


def export_onnx(checkpoint: str | Path, out: str | Path, example_batch: int = 2) -> Path:
    """Export a checkpoint's window model to ``out`` (written atomically).

    Args:
        checkpoint: ``NAME.safetensors`` (with ``NAME.json``), or the pair's stem.
        out: the ``.onnx`` file to write.
        example_batch: the batch of the example input used to trace (any B works later).

    Returns:
        ``out`` as a Path.

    Raises:
        meldae.checkpoint.CheckpointError: the checkpoint cannot be read.
        ExportError: onnx/onnxscript missing, or the exporter failed.
    """
    _require_packages()
    import onnx
    import torch

    from meldae.atomic import atomic_write
    from meldae.checkpoint import checkpoint_paths, load_checkpoint
    from meldae.infer.manifest import file_hash

    weights, _ = checkpoint_paths(checkpoint)
    model, info = load_checkpoint(weights, map_location="cpu")
    model = model.float().eval()
    cfg = model.cfg
    example = torch.zeros((example_batch, cfg.num_frames, cfg.img_size, cfg.img_size, 3),
                          dtype=torch.uint8)
    batch = torch.export.Dim("batch", min=1, max=4096)
    chatter = io.StringIO()   # the exporter prints its steps; keep them for -v
    for name in ("onnx_ir", "onnxscript"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(chatter), warnings.catch_warnings():
            warnings.simplefilter("ignore")   # the exporter's notes on torch internals
            program = torch.onnx.export(_window_graph(model), (example,),
                                        input_names=list(INPUTS),
                                        output_names=list(OUTPUTS), opset_version=OPSET,
                                        dynamic_shapes={"crops": {0: batch}}, dynamo=True,
                                        verbose=False)
    except Exception as exc:   # the exporter raises many types; one message for the user
        log.debug("ONNX export failed", exc_info=True)
        raise ExportError(f"{weights}: ONNX export failed: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
    finally:
        log.debug("exporter output:\n%s", chatter.getvalue())
    proto = program.model_proto
    _set_metadata(proto, info, file_hash(list(checkpoint_paths(weights))))
    return atomic_write(Path(out), lambda tmp: onnx.save(proto, str(tmp)), suffix=".onnx")


def _set_metadata(proto: Any, info: dict, source_sha256: str) -> None:
    """The checkpoint's JSON and post-processing as ``metadata_props`` of the model."""
    from meldae.postprocess import PostProcessing

    post = PostProcessing.from_meta(info.get("meta"))
    entries = {"meldae.format": FORMAT,
               "meldae.checkpoint": json.dumps(info),
               "meldae.postprocessing": json.dumps(post.to_meta()),
               "meldae.source_sha256": source_sha256}
    del proto.metadata_props[:]
    for key, value in entries.items():
        prop = proto.metadata_props.add()
        prop.key, prop.value = key, value
    proto.producer_name = "meldae"
