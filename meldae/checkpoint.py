"""Checkpoints: ``NAME.safetensors`` (the model's state dict) + ``NAME.json`` (its config).

The JSON file is ``{"format": "meldae-checkpoint", "version": 1, "model": asdict(config),
"meta": {...}, "dtype": "float32"}``; ``dtype`` is the storage type of the floating tensors
(``float16`` halves demo files; loading casts back to the model's type). Nothing is ever
pickled. Both files are written to temporary names and moved into place (``os.replace``), so
an interrupted save never leaves a half-written file.

torch and the model are imported lazily: ``CheckpointError`` and ``read_checkpoint_info``
cost nothing to import.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from meldae.model import MELDAE

from meldae.checkpoint_error import CheckpointError  # noqa: F401 - part of this API

log = logging.getLogger(__name__)

FORMAT = "meldae-checkpoint"
VERSION = 1


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """The ``(NAME.safetensors, NAME.json)`` pair for ``NAME``, ``NAME.safetensors`` or ``NAME.json``."""
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".safetensors"), path.with_name(path.name + ".json")


def save_checkpoint(
    path: str | Path,
    model: MELDAE,
    meta: dict[str, Any] | None = None,
    dtype: torch.dtype | str | None = None,
) -> Path:
    """Write ``model`` as a checkpoint pair, atomically.

    Args:
        path: ``NAME`` or ``NAME.safetensors``; parent folders are created.
        model: the model (its ``cfg`` goes into the JSON file).
        meta: JSON-serialisable facts to keep with it (``{"demo": true, "val_f1": ...}``).
        dtype: storage type of floating tensors (``torch.float16`` / ``"float16"`` for small
            files); None keeps the model's types.

    Returns:
        The path of the ``.safetensors`` file.

    Raises:
        CheckpointError: ``meta`` is not JSON-serialisable, or the files cannot be written.
    """
    from safetensors.torch import save_file

    st_path, json_path = checkpoint_paths(path)
    store_dtype = _parse_dtype(dtype, json_path)
    tensors = {}
    for key, value in model.state_dict().items():
        value = value.detach().to("cpu")
        if store_dtype is not None and value.is_floating_point():
            value = value.to(store_dtype)
        tensors[key] = value.contiguous().clone()  # clone: safetensors refuses shared storage
    float_dtypes = {str(t.dtype).removeprefix("torch.") for t in tensors.values() if t.is_floating_point()}
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "model": model.cfg.to_dict(),
        "meta": dict(meta or {}),
        "dtype": ",".join(sorted(float_dtypes)),
    }
    try:
        text = json.dumps(doc, indent=2, sort_keys=False)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{json_path}: meta is not JSON-serialisable: {exc}") from exc
    st_path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(st_path, lambda tmp: save_file(tensors, str(tmp), metadata={"format": FORMAT}))
    _atomic_write(json_path, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))
    log.info("checkpoint saved: %s (+ %s)", st_path, json_path.name)
    return st_path


def read_checkpoint_info(path: str | Path) -> dict[str, Any]:
    """The validated JSON document of a checkpoint (no weights are read).

    Raises:
        CheckpointError: missing file, invalid JSON, not a MELDAE checkpoint, newer version.
    """
    _, json_path = checkpoint_paths(path)
    if not json_path.is_file():
        raise CheckpointError(
            f"{json_path}: checkpoint config not found (a checkpoint is NAME.safetensors + NAME.json)"
        )
    try:
        doc = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{json_path}: not readable as JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise CheckpointError(f"{json_path}: not a MELDAE checkpoint (format {found!r}, expected {FORMAT!r})")
    version = doc.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(f"{json_path}: checkpoint version {version!r} is not supported (this is {VERSION})")
    if not isinstance(doc.get("model"), dict):
        raise CheckpointError(f"{json_path}: the 'model' config is missing")
    doc.setdefault("meta", {})
    return doc


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[MELDAE, dict[str, Any]]:
    """Rebuild the model of a checkpoint and load its weights.

    The backbone is built without downloading anything (the weights come from the file).

    Returns:
        The model in eval mode on ``map_location`` and the checkpoint's JSON document.

    Raises:
        CheckpointError: missing files, not a MELDAE checkpoint, or weights that do not fit
            the config (naming the first mismatched key and both shapes).
    """
    from meldae.model import MELDAE, config_from_dict

    st_path, json_path = checkpoint_paths(path)
    doc = read_checkpoint_info(json_path)
    if not st_path.is_file():
        raise CheckpointError(f"{st_path}: checkpoint weights not found (beside {json_path.name})")
    try:
        cfg = config_from_dict(doc["model"])
    except ValueError as exc:
        raise CheckpointError(f"{json_path}: {exc}") from exc
    model = MELDAE(replace(cfg, pretrained=False, weights_path=None))
    load_weights(model, st_path)
    return model.to(map_location).eval(), doc


def load_weights(model: MELDAE, path: str | Path) -> None:
    """Load a checkpoint's ``.safetensors`` weights into an existing model, strictly.

    Floating tensors are cast to the model's types (fp16-stored files load into fp32 models).

    Raises:
        CheckpointError: missing or unreadable file, or a key/shape mismatch (the message
            names the first mismatched key with the checkpoint's and the model's shapes).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    st_path, _ = checkpoint_paths(path)
    if not st_path.is_file():
        raise CheckpointError(f"{st_path}: checkpoint weights not found")
    try:
        tensors = load_file(str(st_path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{st_path}: not a readable safetensors file: {exc}") from exc
    mismatch = _first_mismatch(model.state_dict(), tensors)
    if mismatch is not None:
        raise CheckpointError(f"{st_path}: weights do not fit the model config: {mismatch}")
    model.load_state_dict(tensors, strict=True)


def _first_mismatch(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> str | None:
    """A sentence naming the first key (in model order) whose presence or shape differs."""
    for key, value in expected.items():
        if key not in found:
            return f"first mismatched key {key!r}: missing in checkpoint, model shape {tuple(value.shape)}"
        if tuple(found[key].shape) != tuple(value.shape):
            return (
                f"first mismatched key {key!r}: checkpoint shape {tuple(found[key].shape)} "
                f"vs model shape {tuple(value.shape)}"
            )
    for key, value in found.items():
        if key not in expected:
            return f"first mismatched key {key!r}: checkpoint shape {tuple(value.shape)}, not in the model"
    return None


def _parse_dtype(dtype: torch.dtype | str | None, where: Path) -> torch.dtype | None:
    """``None``, a floating torch dtype, or its name ("float16", "bfloat16", "float32")."""
    import torch

    if dtype is None:
        return None
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype.removeprefix("torch."), None)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise CheckpointError(f"{where}: storage dtype must be a floating torch dtype, got {dtype!r}")
    return dtype


def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then move the temporary file onto ``path``."""
    from meldae.atomic import atomic_write

    try:
        atomic_write(path, write)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot write: {exc}") from exc
