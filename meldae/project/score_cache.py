"""Per-clip model scores: the arrays that fill window by window, and their cache.

Scores are cached in memory (LRU) and on disk as ``cache_dir()/scores/<key>.npz``, keyed
by the video's content and the checkpoint's identity, so reopening a clip is instant.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from meldae.faces.cache import content_digest
from meldae.atomic import atomic_savez
from meldae.paths import cache_dir, demo_checkpoint

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


@dataclass
class ClipScores:
    """The model's per-frame outputs for one clip; frames ``[0, done)`` are final.

    Unscored frames hold NaN in ``loc`` and ``state``. Attention is kept as float16
    (a one-hour 60 fps clip at G=10: 43 MB).
    """

    loc: np.ndarray                       # (n,) float32
    state: np.ndarray                     # (n,) float32
    face_found: np.ndarray                # (n,) bool
    fps: Fraction
    attention: np.ndarray | None = None   # (n, G, G) float16
    boxes: np.ndarray | None = None       # (n, 4) float32, NaN where no face
    done: int = 0
    complete: bool = False
    attention_max: float = 0.0
    info: dict = field(default_factory=dict)   # checkpoint JSON (post-processing)

    @classmethod
    def empty(cls, n_frames: int, fps: Fraction) -> ClipScores:
        """Arrays for ``n_frames`` frames, nothing scored."""
        return cls(loc=np.full(n_frames, np.nan, np.float32),
                   state=np.full(n_frames, np.nan, np.float32),
                   face_found=np.zeros(n_frames, bool), fps=Fraction(fps))

    @property
    def n_frames(self) -> int:
        """Frames of the clip."""
        return int(len(self.loc))

    def add(self, result) -> None:
        """Copy a ``meldae.infer.WindowResult`` into the arrays (growing them if needed)."""
        stop = int(result.stop)
        if stop > self.n_frames or result.total_frames > self.n_frames:
            self._grow(max(stop, int(result.total_frames)))
        span = slice(int(result.start), stop)
        self.loc[span] = result.loc_scores
        self.state[span] = result.state_scores
        self.face_found[span] = result.face_found
        att = np.asarray(result.attention)
        if self.attention is None:
            self.attention = np.zeros((self.n_frames, *att.shape[1:]), np.float16)
        self.attention[span] = att
        if att.size:
            self.attention_max = max(self.attention_max, float(att.max()))
        self.done = max(self.done, stop)

    def _grow(self, n_frames: int) -> None:
        extra = n_frames - self.n_frames
        self.loc = np.concatenate([self.loc, np.full(extra, np.nan, np.float32)])
        self.state = np.concatenate([self.state, np.full(extra, np.nan, np.float32)])
        self.face_found = np.concatenate([self.face_found, np.zeros(extra, bool)])
        if self.attention is not None:
            pad = np.zeros((extra, *self.attention.shape[1:]), np.float16)
            self.attention = np.concatenate([self.attention, pad])

    def save(self, path: Path) -> None:
        """Write a complete result to ``path`` (.npz) atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = dict(loc=self.loc, state=self.state, face_found=self.face_found,
                      fps=np.array([self.fps.numerator, self.fps.denominator], np.int64),
                      info=np.array(json.dumps(self.info)))
        if self.attention is not None:
            arrays["attention"] = self.attention
        if self.boxes is not None:
            arrays["boxes"] = self.boxes
        atomic_savez(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> ClipScores:
        """Read a result written by :meth:`save` (raises OSError/ValueError/KeyError)."""
        with np.load(path, allow_pickle=False) as data:
            num, den = (int(v) for v in data["fps"])
            scores = cls(loc=data["loc"], state=data["state"], face_found=data["face_found"],
                         fps=Fraction(num, den),
                         attention=data["attention"] if "attention" in data else None,
                         boxes=data["boxes"] if "boxes" in data else None,
                         info=json.loads(str(data["info"])))
        scores.done, scores.complete = scores.n_frames, True
        if scores.attention is not None and scores.attention.size:
            scores.attention_max = float(scores.attention.max())
        return scores


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
