"""``meldae infer --engine onnx``: the exported window model run by onnxruntime.

``OnnxWindowModel`` has what the streaming engine asks of a model (``cfg``, ``to``,
``eval``) and brings its own window runner (``make_window_runner``), so windows, batching,
blending and post-processing are the engine's, and only the forward pass changes. Unlike
the torch ``CachedEncoderRunner`` the exported graph encodes every frame of every window
(it is one graph), so at the default stride it runs the encoder twice per frame.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from meldae.infer.buffer import CropRing

log = logging.getLogger(__name__)


def _session(path: Path, device: Any, threads: int | None) -> Any:
    """An onnxruntime session: CUDA when asked for and available, else the CPU."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        from meldae.checkpoint import CheckpointError

        raise CheckpointError("--engine onnx needs onnxruntime: pip install "
                              "'meldae-studio[onnx]' (or pip install onnxruntime)") from exc
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = int(threads)
    providers = ["CPUExecutionProvider"]
    if getattr(device, "type", str(device)).startswith("cuda"):
        if "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        else:
            log.warning("onnxruntime here has no CUDA provider: running on the CPU")
    return ort.InferenceSession(str(path), options, providers=providers)


class OnnxRunner:
    """Scores windows with the session (the ``WindowRunner`` interface)."""

    def __init__(self, model: OnnxWindowModel) -> None:
        self.model = model
        self.num_frames = int(model.cfg.num_frames)

    def run(self, ring: CropRing, starts: list[int]) -> tuple[np.ndarray, ...]:
        """Loc, state ``(B, T)``, attention ``(B, T, G, G)`` and ME ``(B,)`` probabilities."""
        windows = np.stack([ring.window(s, self.num_frames) for s in starts])  # (B, T, S, S, 3)
        loc, state, me, att = self.model.session.run(None, {"crops": windows})
        return (loc.astype(np.float64), state.astype(np.float64), att.astype(np.float64),
                me.astype(np.float64))


class OnnxWindowModel:
    """A model exported by ``meldae export-onnx``, with its checkpoint's JSON."""

    def __init__(self, path: Path, session: Any, info: dict) -> None:
        from meldae.model.config import config_from_dict

        self.path = path
        self.session = session
        self.info = info
        self.cfg = config_from_dict(info["model"])

    def to(self, device: Any) -> OnnxWindowModel:
        """The session chose its device when it was made."""
        return self

    def eval(self) -> OnnxWindowModel:
        """Always in inference mode."""
        return self

    def make_window_runner(self) -> OnnxRunner:
        """The runner the engine uses for this model."""
        return OnnxRunner(self)


def read_metadata(path: str | Path) -> dict:
    """The checkpoint JSON stored in an exported model's metadata.

    Raises:
        meldae.checkpoint.CheckpointError: not a file, not ONNX, or not made by meldae.
    """
    from meldae.checkpoint import CheckpointError
    from meldae.infer.onnx_export import FORMAT

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such ONNX model")
    try:
        import onnxruntime as ort

        meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]
                                    ).get_modelmeta().custom_metadata_map
    except ImportError as exc:
        raise CheckpointError("--engine onnx needs onnxruntime: pip install onnxruntime") from exc
    except Exception as exc:   # onnxruntime raises its own types for a bad file
        raise CheckpointError(f"{path}: not a readable ONNX model ({exc})") from exc
    if meta.get("meldae.format") != FORMAT:
        raise CheckpointError(f"{path}: not a MELDAE model exported by `meldae export-onnx`")
    try:
        return json.loads(meta["meldae.checkpoint"])
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: its meldae metadata is damaged ({exc})") from exc


def load_onnx_model(path: str | Path, device: Any = "cpu",
                    threads: int | None = None) -> tuple[OnnxWindowModel, dict]:
    """An exported model, ready for ``iter_predict``/``predict_video``, and its checkpoint JSON.

    Args:
        path: the ``.onnx`` file.
        device: a ``torch.device`` or name; CUDA needs onnxruntime-gpu.
        threads: onnxruntime's intra-op threads (None: torch's current setting).

    Raises:
        meldae.checkpoint.CheckpointError: see ``read_metadata``.
    """
    path = Path(path)
    info = read_metadata(path)
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    return OnnxWindowModel(path, _session(path, device, threads), info), info
