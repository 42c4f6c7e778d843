"""Batches of training windows, the same on every run: epoch-seeded order, resumable mid-epoch.

Every epoch's order is a pure function of (seed, epoch): ``DistributedSampler`` (one
replica when not distributed) shuffles with ``seed + epoch``, and the DataLoader's own
generator (which seeds its workers) is seeded from (seed, epoch, rank). A run resumed in
the middle of an epoch regenerates the same order and skips the batches already done, so
it sees exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import logging
import random
import signal
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from meldae.train.config import TrainConfig
from meldae.train.distributed import DistEnv

log = logging.getLogger(__name__)


class _SkipSampler(Sampler[int]):
    """The indices of ``inner`` after the first ``skip`` ones."""

    def __init__(self, inner: Sampler[int], skip: int) -> None:
        self.inner, self.skip = inner, skip

    def __iter__(self) -> Iterator[int]:
        for i, idx in enumerate(self.inner):
            if i >= self.skip:
                yield idx

    def __len__(self) -> int:
        return max(0, len(self.inner) - self.skip)


def _worker_init(worker_id: int) -> None:  # noqa: ARG001 (DataLoader's signature)
    """Seed numpy and Python in a worker from torch's per-worker seed; ignore Ctrl-C there.

    The main process handles SIGINT (finish the step, save); a worker killed by the
    terminal's Ctrl-C would otherwise break the step being finished.
    """
    seed = torch.initial_seed() % (2**32)
    np.random.seed(seed)
    random.seed(seed)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class EpochLoader:
    """Deterministic, shardable, resumable batches over a window dataset.

    Args:
        dataset: window items (dicts of tensors).
        cfg: batch size (global, over all ranks), workers, seed, step cap.
        env: this process's rank and world.

    Raises:
        ValueError: an empty dataset, or a batch smaller than the number of ranks.
    """

    def __init__(self, dataset, cfg: TrainConfig, env: DistEnv) -> None:
        if len(dataset) == 0:
            raise ValueError("the training set has no windows (no clips, or clips shorter "
                             "than one window)")
        if cfg.batch_size < env.world_size:
            raise ValueError(f"batch size {cfg.batch_size} is smaller than the number of "
                             f"processes {env.world_size}")
        self.dataset, self.cfg, self.env = dataset, cfg, env
        self.per_rank_batch = cfg.batch_size // env.world_size
        per_rank = -(-len(dataset) // env.world_size)          # DistributedSampler pads
        self.drop_last = per_rank >= self.per_rank_batch
        full = per_rank // self.per_rank_batch if self.drop_last else 1
        cap = cfg.max_steps_per_epoch
        self.steps_per_epoch = min(full, cap) if cap else full

    def sampler(self, epoch: int) -> DistributedSampler:
        """This rank's share of the epoch's shuffled window indices."""
        sampler = DistributedSampler(self.dataset, num_replicas=self.env.world_size,
                                     rank=self.env.rank, shuffle=True, seed=self.cfg.seed)
        sampler.set_epoch(epoch)
        return sampler

    def batches(self, epoch: int, skip_steps: int = 0,
                before_fetch: Callable[[], None] | None = None) -> Iterator[dict[str, Any]]:
        """The batches of ``epoch`` from step ``skip_steps`` on (at most steps_per_epoch).

        Args:
            epoch: 0-based epoch (seeds the order).
            skip_steps: optimiser steps of this epoch already done (resume).
            before_fetch: called before each batch is loaded; the trainer seeds the step
                there, so that augmentation in the main process (``num_workers=0``) is a
                function of the step too.
        """
        remaining = self.steps_per_epoch - skip_steps
        if remaining <= 0:
            return
        sampler = _SkipSampler(self.sampler(epoch), skip_steps * self.per_rank_batch)
        generator = torch.Generator()
        generator.manual_seed(int(np.random.SeedSequence(
            [self.cfg.seed, epoch, self.env.rank]).generate_state(1)[0]))
        workers = self.cfg.num_workers
        loader = DataLoader(
            self.dataset, batch_size=self.per_rank_batch, sampler=sampler,
            num_workers=workers, drop_last=self.drop_last, generator=generator,
            worker_init_fn=_worker_init if workers else None,
            pin_memory=torch.cuda.is_available(), persistent_workers=False,
            prefetch_factor=4 if workers else None,
        )
        iterator = iter(loader)
        for _ in range(remaining):
            if before_fetch is not None:
                before_fetch()
            try:
                batch = next(iterator)
            except StopIteration:
                return
            yield batch
