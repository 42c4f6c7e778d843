"""Running under ``torchrun``: detect the environment, set up and tear down the process group.

``torchrun --nproc_per_node=N -m meldae train ...`` (or with ``--nnodes``/``--rdzv-*`` for
several machines) sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; the trainer then wraps
the model in DistributedDataParallel, shards the training windows with a
DistributedSampler, shards validation by clip (each rank scores its share of the
validation clips, rank 0 gathers them and computes the metrics) and lets only rank 0 write
checkpoints, logs and progress events. NCCL on CUDA, gloo on CPU.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistEnv:
    """Rank and world of this process (a single process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_distributed(self) -> bool:
        """True with more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the process that writes files and events."""
        return self.rank == 0


def detect_env(environ: dict[str, str] | None = None) -> DistEnv:
    """Read ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` as torchrun sets them."""
    env = os.environ if environ is None else environ
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise RuntimeError(f"bad torchrun environment: {exc}") from exc
    return DistEnv(rank=rank, world_size=max(1, world), local_rank=local)


def pick_device(requested: str, env: DistEnv) -> torch.device:
    """The device of this rank: ``auto`` picks CUDA (this rank's GPU) when present."""
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(requested)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda was asked for but CUDA is not available")
        index = env.local_rank if device.index is None else device.index
        device = torch.device("cuda", index % torch.cuda.device_count())
        torch.cuda.set_device(device)
    return device


def init_distributed(env: DistEnv, device: torch.device, timeout_s: float = 1800.0) -> None:
    """Join the process group (a no-op for a single process or when already joined)."""
    if not env.is_distributed or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, rank=env.rank, world_size=env.world_size,
                            timeout=timedelta(seconds=timeout_s))
    log.info("rank %d/%d joined the %s process group", env.rank, env.world_size, backend)


def cleanup_distributed() -> None:
    """Leave the process group if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier(env: DistEnv) -> None:
    """Wait for every rank (a no-op for a single process)."""
    if env.is_distributed and dist.is_initialized():
        dist.barrier()


def any_rank(flag: bool, env: DistEnv, device: torch.device) -> bool:
    """True when ``flag`` is true on any rank (e.g. a stop request reached one of them)."""
    if not env.is_distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def mean_over_ranks(values: list[float], env: DistEnv, device: torch.device) -> list[float]:
    """The element-wise mean of ``values`` over ranks."""
    if not env.is_distributed:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64 if device.type == "cpu" else torch.float32,
                          device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return (tensor / env.world_size).tolist()


def gather_to_main(obj: Any, env: DistEnv) -> list[Any] | None:
    """Gather a picklable object from every rank on rank 0 (None on the others).

    Only in-memory objects between our own processes travel this way (arrays of scores);
    nothing pickled is ever written to disk.
    """
    if not env.is_distributed:
        return [obj]
    out: list[Any] | None = [None] * env.world_size if env.is_main else None
    dist.gather_object(obj, out, dst=0)
    return out


def broadcast_from_main(obj: Any, env: DistEnv) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not env.is_distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` now (for a local rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
