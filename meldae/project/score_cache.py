"""The cache of per-clip model scores (``meldae.scores.ClipScores``).

Scores are cached in memory (LRU) and on disk as ``cache_dir()/scores/<key>.npz``, keyed
by the video's content and the checkpoint's identity, so reopening a clip is instant.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from pathlib import Path

from meldae.faces.cache import content_digest
from meldae.paths import cache_dir, demo_checkpoint
from meldae.scores import ClipScores

log = logging.getLogger(__name__)

CACHE_VERSION = 1


def file_fingerprint(path: Path) -> str:
    """A content hash of ``path`` (size, first and last MiB), as the crop cache keys files."""
    return content_digest(Path(path))


def checkpoint_identity(checkpoint: Path | None) -> str:
    """Identity of a checkpoint pair (weights fingerprint + its JSON); None = the demo model."""
    weights = demo_checkpoint() if checkpoint is None else Path(checkpoint)
    if weights.suffix != ".safetensors":
        weights = weights.with_suffix(".safetensors")
    parts = [file_fingerprint(weights)]
    config = weights.with_suffix(".json")
    if config.is_file():
        parts.append(hashlib.sha1(config.read_bytes()).hexdigest())
    return "-".join(parts)


def score_key(video: Path, checkpoint: Path | None) -> str:
    """The cache key of the scores of ``video`` under ``checkpoint``."""
    text = f"v{CACHE_VERSION}:{file_fingerprint(Path(video))}:{checkpoint_identity(checkpoint)}"
    return hashlib.sha1(text.encode()).hexdigest()


class ScoreCache:
    """Complete clip scores: an in-memory LRU in front of ``.npz`` files.

    Args:
        folder: where the files go (default ``cache_dir()/scores``).
        capacity: clips kept in memory.
    """

    def __init__(self, folder: Path | None = None, capacity: int = 6) -> None:
        self._folder = folder
        self.capacity = capacity
        self._memory: OrderedDict[str, ClipScores] = OrderedDict()

    @property
    def folder(self) -> Path:
        """The on-disk folder (resolved lazily so ``MELDAE_CACHE_DIR`` is honoured)."""
        return self._folder or cache_dir() / "scores"

    def path(self, key: str) -> Path:
        """The file of ``key``."""
        return self.folder / f"{key}.npz"

    def get(self, key: str) -> ClipScores | None:
        """The cached scores of ``key``, or None (a damaged file counts as a miss)."""
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            scores = ClipScores.load(path)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring damaged score cache %s: %s", path, exc)
            return None
        self._remember(key, scores)
        return scores

    def put(self, key: str, scores: ClipScores) -> None:
        """Store complete scores in memory and on disk (a write failure is only logged)."""
        self._remember(key, scores)
        try:
            scores.save(self.path(key))
        except OSError as exc:
            log.warning("could not write the score cache %s: %s", self.path(key), exc)

    def _remember(self, key: str, scores: ClipScores) -> None:
        self._memory[key] = scores
        self._memory.move_to_end(key)
        while len(self._memory) > self.capacity:
            self._memory.popitem(last=False)
