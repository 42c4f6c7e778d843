"""Blending the per-frame outputs of overlapping windows, in bounded memory.

Every window of ``T`` frames scores each of its frames; a frame covered by several windows
gets the weighted mean of their scores, with weights that are small at a window's edges
(where the model sees little temporal context) and large in its middle. The blender keeps
only the frames that are not final yet, so its memory depends on the window and the batch,
never on the video's length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def window_weights(num_frames: int, kind: str = "hann") -> np.ndarray:
    """Blending weights of the frames of one window; all strictly positive.

    ``hann``: ``sin(pi * (i + 0.5) / T) ** 2``, a Hann window sampled at the frame centres,
    so the first and last frames get a small but non-zero weight (a frame seen by a single
    window keeps that window's score). ``triangular``: ``min(i + 1, T - i)``. ``uniform``:
    all ones (plain averaging).

    Args:
        num_frames: T, the window length.
        kind: ``"hann"``, ``"triangular"`` or ``"uniform"``.

    Returns:
        ``(T,)`` float64 weights.
    """
    if num_frames < 1:
        raise ValueError(f"a window needs at least one frame, got {num_frames}")
    idx = np.arange(num_frames, dtype=np.float64)
    if kind == "hann":
        return np.sin(np.pi * (idx + 0.5) / num_frames) ** 2
    if kind == "triangular":
        return np.minimum(idx + 1, num_frames - idx)
    if kind == "uniform":
        return np.ones(num_frames)
    raise ValueError(f"unknown blending window {kind!r}: use hann, triangular or uniform")


@dataclass(frozen=True)
class BlendedSpan:
    """Final blended values of the frames ``[start, stop)``."""

    start: int
    stop: int
    loc_scores: np.ndarray     # (stop-start,) float32
    state_scores: np.ndarray   # (stop-start,) float32
    attention: np.ndarray      # (stop-start, G, G) float32


class StreamBlender:
    """Weighted accumulation of window outputs over the frames not yet final.

    The blender holds frames ``[base, base + capacity)``. ``add`` accumulates one window;
    ``pop`` returns the blended values of ``[base, stop)`` and forgets them. ``capacity`` is
    fixed at construction: adding a window beyond it is a programming error (the caller
    must pop first), which keeps memory O(window) by construction.
    """

    def __init__(self, weights: np.ndarray, grid: int, capacity: int) -> None:
        """Create an empty blender.

        Args:
            weights: ``(T,)`` per-frame weights of a window (see ``window_weights``).
            grid: G, the side of the attention grid.
            capacity: how many not-yet-final frames it can hold.
        """
        if capacity < len(weights):
            raise ValueError(f"capacity {capacity} is smaller than the window {len(weights)}")
        self.weights = np.asarray(weights, dtype=np.float64)
        self.capacity = int(capacity)
        self.base = 0
        self._loc = np.zeros(capacity, dtype=np.float64)
        self._state = np.zeros(capacity, dtype=np.float64)
        self._att = np.zeros((capacity, grid, grid), dtype=np.float64)
        self._wsum = np.zeros(capacity, dtype=np.float64)

    def add(self, start: int, loc: np.ndarray, state: np.ndarray, attention: np.ndarray) -> None:
        """Accumulate one window's outputs for frames ``[start, start + len(loc))``.

        Args:
            start: the window's first frame (``>= base``).
            loc: ``(n,)`` localisation scores, ``n <= T`` (a padded window passes only its
                real frames; they take the first ``n`` weights).
            state: ``(n,)`` speaking-state scores.
            attention: ``(n, G, G)`` attention per frame.
        """
        n = len(loc)
        lo = start - self.base
        if lo < 0 or lo + n > self.capacity:
            raise ValueError(
                f"window [{start}, {start + n}) is outside the blender's frames "
                f"[{self.base}, {self.base + self.capacity})"
            )
        w = self.weights[:n]
        self._loc[lo:lo + n] += w * loc
        self._state[lo:lo + n] += w * state
        self._att[lo:lo + n] += w[:, None, None] * attention
        self._wsum[lo:lo + n] += w

    def pop(self, stop: int) -> BlendedSpan:
        """Blended values of frames ``[base, stop)``; those frames are then forgotten.

        Raises:
            ValueError: when a frame in the span received no window at all.
        """
        n = stop - self.base
        if n < 0 or n > self.capacity:
            raise ValueError(f"cannot pop up to {stop}: holding [{self.base}, {self.base + self.capacity})")
        wsum = self._wsum[:n]
        if np.any(wsum <= 0):
            missing = self.base + int(np.argmax(wsum <= 0))
            raise ValueError(f"frame {missing} was not covered by any window")
        span = BlendedSpan(
            start=self.base,
            stop=stop,
            loc_scores=(self._loc[:n] / wsum).astype(np.float32),
            state_scores=(self._state[:n] / wsum).astype(np.float32),
            attention=(self._att[:n] / wsum[:, None, None]).astype(np.float32),
        )
        if n:
            for buf in (self._loc, self._state, self._att, self._wsum):
                buf[: self.capacity - n] = buf[n:].copy()   # shift the pending frames to the front
                buf[self.capacity - n:] = 0
        self.base = stop
        return span

    @property
    def nbytes(self) -> int:
        """Bytes held by the accumulation buffers (constant for a blender's life)."""
        return sum(b.nbytes for b in (self._loc, self._state, self._att, self._wsum))
