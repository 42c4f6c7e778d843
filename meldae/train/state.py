"""Train state for exact resume: optimiser, scheduler, RNG states and position, without pickle.

``RUN/train_state.safetensors`` holds every tensor (optimiser moments, RNG states) and
``RUN/train_state.json`` everything else (param groups, scheduler counters, Python's RNG,
epoch and step). Both are written atomically; the JSON is written last and names the
tensor file's size, so a half-written pair is detected instead of resumed.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from meldae.atomic import atomic_write

STATE_FORMAT = "meldae-train-state"
STATE_VERSION = 1
STATE_TENSORS = "train_state.safetensors"
STATE_JSON = "train_state.json"


class TrainStateError(Exception):
    """A train state that cannot be resumed (names the file and the reason)."""


@dataclass
class Position:
    """Where a run stands: the next step to run is ``step`` of ``epoch`` (both 0-based)."""

    epoch: int = 0               # epochs fully done when step == 0
    step: int = 0                # optimiser steps done inside ``epoch``
    global_step: int = 0         # optimiser steps done overall
    best_f1_dr: float = -1.0     # best validation F1_DR so far (-1: none yet)
    best_f1: float = -1.0        # its F1 (ties on F1_DR are broken by F1)
    best_epoch: int = 0          # the epoch of the best checkpoint (1-based; 0: none)
    elapsed_s: float = 0.0       # training time before this process
    extra: dict[str, Any] = field(default_factory=dict)   # e.g. the F1_DR curve


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Capture torch (CPU and CUDA), numpy and Python RNG states."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = state
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    tensors["rng.numpy.keys"] = torch.from_numpy(np.asarray(keys, dtype=np.int64))
    version, internal, gauss_next = random.getstate()
    meta = {"numpy": [name, int(pos), int(has_gauss), float(gauss)],
            "python": [version, list(internal), gauss_next]}
    return tensors, meta


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Restore what ``rng_state`` captured."""
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(t for t in tensors if t.startswith("rng.cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])
    name, pos, has_gauss, gauss = meta["numpy"]
    keys = tensors["rng.numpy.keys"].numpy().astype(np.uint32)
    np.random.set_state((name, keys, pos, has_gauss, gauss))
    version, internal, gauss_next = meta["python"]
    random.setstate((version, tuple(internal), gauss_next))


def _optimizer_split(optimizer: torch.optim.Optimizer):
    """Optimiser state dict -> (tensors, JSON-able rest)."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, slots in sd["state"].items():
        for key, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _optimizer_join(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if not name.startswith("optim."):
            continue
        _, idx, key = name.split(".", 2)
        state.setdefault(int(idx), {})[key] = value
    for idx, slots in meta.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(slots)
    return {"state": state, "param_groups": meta["param_groups"]}


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def save_train_state(run_dir: Path, optimizer: torch.optim.Optimizer, scheduler,
                     position: Position) -> Path:
    """Write ``train_state.safetensors`` and ``train_state.json`` atomically.

    Returns:
        The path of the JSON file.
    """
    run_dir = Path(run_dir)
    opt_tensors, opt_meta = _optimizer_split(optimizer)
    rng_tensors, rng_meta = rng_state()
    tensors = {**opt_tensors, **rng_tensors}
    tensor_path = run_dir / STATE_TENSORS
    atomic_write(tensor_path, lambda tmp: save_file(tensors, tmp))
    sched = {k: v for k, v in scheduler.state_dict().items() if _jsonable(v)}
    doc = {
        "format": STATE_FORMAT, "version": STATE_VERSION,
        "tensor_bytes": tensor_path.stat().st_size,
        "position": position.__dict__, "optimizer": opt_meta,
        "scheduler": sched, "rng": rng_meta,
    }
    json_path = run_dir / STATE_JSON
    text = json.dumps(doc)
    atomic_write(json_path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return json_path


def has_train_state(run_dir: Path) -> bool:
    """True when the run folder holds a train state pair."""
    return (Path(run_dir) / STATE_JSON).is_file() and (Path(run_dir) / STATE_TENSORS).is_file()


def load_train_state(run_dir: Path, optimizer: torch.optim.Optimizer, scheduler,
                     restore_rng: bool = True) -> Position:
    """Restore optimiser, scheduler and (optionally) RNG states; return the position.

    Raises:
        TrainStateError: missing, mismatched or foreign files.
    """
    run_dir = Path(run_dir)
    json_path, tensor_path = run_dir / STATE_JSON, run_dir / STATE_TENSORS
    if not has_train_state(run_dir):
        raise TrainStateError(f"{run_dir}: no train state to resume ({STATE_JSON} missing)")
    try:
        doc = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TrainStateError(f"{json_path}: unreadable train state ({exc})") from exc
    if doc.get("format") != STATE_FORMAT:
        raise TrainStateError(f"{json_path}: not a meldae train state")
    if doc.get("tensor_bytes") != tensor_path.stat().st_size:
        raise TrainStateError(f"{tensor_path}: does not belong to {json_path.name} "
                              "(size differs; a save was interrupted)")
    tensors = load_file(str(tensor_path))
    try:
        optimizer.load_state_dict(_optimizer_join(tensors, doc["optimizer"]))
    except (ValueError, KeyError) as exc:
        raise TrainStateError(f"{json_path}: optimiser state does not fit the model ({exc})") \
            from exc
    scheduler.load_state_dict({**scheduler.state_dict(), **doc["scheduler"]})
    if restore_rng:
        set_rng_state(tensors, doc["rng"])
    return Position(**doc["position"])
