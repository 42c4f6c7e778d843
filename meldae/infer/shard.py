"""Inference on many GPUs and machines: ``torchrun ... -m meldae infer FOLDER --out DIR``.

Every rank lists the same videos. Rank 0 decides which are already done (the manifest,
``meldae.infer.manifest``) and sends that list to the others, so every rank works from the
same to-do list; the list is then split by ``plan_shards`` (largest files first, each to the
rank with the least work so far: deterministic, so every rank computes the same split),
and each rank scores its own share. At the end rank 0 gathers every rank's outcomes and
writes the one summary.

The ranks talk through a gloo process group even on GPUs: they exchange only small Python
objects (lists of names and outcomes), and gloo needs no GPU. Its timeout is long (a shard
of an archive may take days); when a rank dies, ``torchrun`` stops the others.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from meldae.train.distributed import (
    DistEnv,
    broadcast_from_main,
    cleanup_distributed,
    detect_env,
    gather_to_main,
)

log = logging.getLogger(__name__)

#: How long a rank waits for the others at the end of the run.
GROUP_TIMEOUT = timedelta(days=7)

__all__ = ["DistEnv", "broadcast_from_main", "detect_env", "gather_to_main", "join_group",
           "leave_group", "plan_shards", "rank_device"]


def plan_shards(videos: list[Path], world_size: int,
                sizes: dict[Path, int] | None = None) -> list[list[Path]]:
    """Split ``videos`` over ``world_size`` ranks, balancing the bytes (a proxy for frames).

    Args:
        videos: the videos to score (any order).
        world_size: the number of ranks.
        sizes: bytes per video (default: the files' sizes; a missing file counts 0).

    Returns:
        One list per rank, each in the order of ``videos``; every video is in exactly one.
    """
    if sizes is None:
        sizes = {v: _size(v) for v in videos}
    order = sorted(range(len(videos)), key=lambda i: (-sizes.get(videos[i], 0), i))
    load = [0] * world_size
    owner: dict[int, int] = {}
    for i in order:
        rank = min(range(world_size), key=lambda r: (load[r], r))
        owner[i] = rank
        load[rank] += max(1, sizes.get(videos[i], 0))
    return [[v for i, v in enumerate(videos) if owner[i] == r] for r in range(world_size)]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def join_group(env: DistEnv) -> None:
    """Join the ranks' gloo group (a no-op for a single process)."""
    import torch.distributed as dist

    if not env.is_distributed or dist.is_initialized():
        return
    dist.init_process_group(backend="gloo", rank=env.rank, world_size=env.world_size,
                            timeout=GROUP_TIMEOUT)
    log.info("rank %d/%d joined the inference group", env.rank, env.world_size)


def leave_group() -> None:
    """Leave the group if this process joined one, together with the other ranks: a rank
    that tore its group down while rank 0 was still writing the summary once aborted at
    exit ("terminate called without an active exception") and failed the torchrun job."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
    cleanup_distributed()


def rank_device(requested: str, env: DistEnv) -> Any:
    """The device of this rank: ``auto``/``cuda`` take GPU ``local_rank`` (mod the GPUs)."""
    import torch

    from meldae.infer.device import resolve_device

    dev = resolve_device(requested)
    if dev.type == "cuda" and dev.index is None and env.is_distributed:
        dev = torch.device("cuda", env.local_rank % torch.cuda.device_count())
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    return dev
