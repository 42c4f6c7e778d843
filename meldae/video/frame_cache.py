"""A memory-bounded cache of decoded frames around the playhead.

Scrubbing and frame stepping ask again and again for frames near where the annotator is.
``FrameCache`` keeps decoded RGB frames keyed by frame index, within a byte budget. When the
budget is exceeded it evicts the frames *farthest from the playhead* (``set_center``), not
the least recently used ones: after a seek, the neighbours decoded ahead of time are what the
next Left/Right key needs, even though nobody has looked at them yet.

The cache is shared by a decoding thread (which fills it) and the GUI thread (which reads it
without waiting for a decoder), so every method takes a lock; the arrays themselves are
read-only and may be handed out freely.
"""

from __future__ import annotations

import bisect
import threading

import numpy as np

DEFAULT_BUDGET_BYTES = 256 * 1024 * 1024
MAX_PREFETCH_RADIUS = 30   # frames each side of the playhead decoded ahead of time


class FrameCache:
    """Decoded frames by index, evicting the farthest from the playhead past a byte budget.

    Attributes:
        budget_bytes: the most memory the cached frames may hold.
        hits: lookups (``get``) that found their frame.
        misses: lookups that did not.
    """

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        """Create an empty cache.

        Args:
            budget_bytes: the memory budget; at least one frame is always kept.
        """
        if budget_bytes <= 0:
            raise ValueError(f"the frame cache budget must be positive, not {budget_bytes}")
        self.budget_bytes = int(budget_bytes)
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._frames: dict[int, np.ndarray] = {}
        self._keys: list[int] = []       # sorted frame indices, for ``nearest``
        self._nbytes = 0
        self._center = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)

    def __contains__(self, frame_idx: object) -> bool:
        with self._lock:
            return frame_idx in self._frames

    @property
    def nbytes(self) -> int:
        """Bytes held by the cached frames now (never above ``budget_bytes`` for long)."""
        with self._lock:
            return self._nbytes

    @property
    def center(self) -> int:
        """The playhead the cache keeps its frames around."""
        with self._lock:
            return self._center

    def frame_indices(self) -> list[int]:
        """The cached frame indices, ascending."""
        with self._lock:
            return list(self._keys)

    def get(self, frame_idx: int) -> np.ndarray | None:
        """The cached frame ``frame_idx``, or None (counts a hit or a miss)."""
        with self._lock:
            frame = self._frames.get(frame_idx)
            if frame is None:
                self.misses += 1
            else:
                self.hits += 1
            return frame

    def nearest(self, frame_idx: int) -> tuple[int, np.ndarray] | None:
        """The cached frame closest to ``frame_idx`` (ties: the earlier), or None if empty."""
        with self._lock:
            if not self._keys:
                return None
            pos = bisect.bisect_left(self._keys, frame_idx)
            candidates = self._keys[max(0, pos - 1):pos + 1]
            best = min(candidates, key=lambda k: (abs(k - frame_idx), k))
            return best, self._frames[best]

    def put(self, frame_idx: int, frame: np.ndarray) -> None:
        """Keep ``frame`` as frame ``frame_idx``, then evict down to the budget."""
        frame_idx = int(frame_idx)
        with self._lock:
            old = self._frames.get(frame_idx)
            if old is not None:
                self._nbytes -= old.nbytes
            else:
                bisect.insort(self._keys, frame_idx)
            self._frames[frame_idx] = frame
            self._nbytes += frame.nbytes
            self._evict()

    def set_center(self, frame_idx: int) -> None:
        """Move the playhead; frames far from it are the first to go."""
        with self._lock:
            self._center = int(frame_idx)
            self._evict()

    def clear(self) -> None:
        """Forget every frame (the counters stay)."""
        with self._lock:
            self._frames.clear()
            self._keys.clear()
            self._nbytes = 0

    def prefetch_radius(self, frame_bytes: int) -> int:
        """How many frames each side of the playhead fit in the budget (capped).

        Half the budget is spent on the window, so the frames of the previous position
        are not all evicted the moment a new window fills.
        """
        per_side = self.budget_bytes // (4 * max(1, frame_bytes))
        return int(max(1, min(MAX_PREFETCH_RADIUS, per_side)))

    def _evict(self) -> None:
        # Called with the lock held. Never evicts the last frame: one frame always fits.
        while self._nbytes > self.budget_bytes and len(self._keys) > 1:
            first, last = self._keys[0], self._keys[-1]
            victim = first if abs(first - self._center) >= abs(last - self._center) else last
            self._keys.remove(victim)
            self._nbytes -= self._frames.pop(victim).nbytes
