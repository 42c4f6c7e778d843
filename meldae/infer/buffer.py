"""A fixed-size ring of face crops: the frames the next windows still need."""

from __future__ import annotations

import numpy as np


class CropRing:
    """Face crops and face flags of the frames ``[base, end)``, in a preallocated ring.

    Memory is ``capacity`` crops, fixed at construction; appending past it without
    releasing old frames first is a programming error.
    """

    def __init__(self, capacity: int, crop_shape: tuple[int, int, int]) -> None:
        """Allocate the ring.

        Args:
            capacity: how many frames it holds at most.
            crop_shape: ``(S, S, 3)``, the shape of one crop.
        """
        self.capacity = int(capacity)
        self._crops = np.zeros((capacity, *crop_shape), dtype=np.uint8)   # (C, S, S, 3)
        self._faces = np.zeros(capacity, dtype=bool)                       # (C,)
        self.base = 0
        self.end = 0

    def append(self, frame_idx: int, crop: np.ndarray, face_found: bool) -> None:
        """Store the next frame, which must be frame ``end``."""
        if frame_idx != self.end:
            raise ValueError(f"frames must arrive in order: expected {self.end}, got {frame_idx}")
        if self.end - self.base >= self.capacity:
            raise OverflowError(f"crop ring full ({self.capacity} frames from {self.base})")
        if crop.shape != self._crops.shape[1:]:
            raise ValueError(f"crop of frame {frame_idx} has shape {crop.shape}, "
                             f"expected {self._crops.shape[1:]}")
        slot = self.end % self.capacity
        self._crops[slot] = crop
        self._faces[slot] = face_found
        self.end += 1

    def release(self, upto: int) -> None:
        """Forget the frames before ``upto``."""
        self.base = max(self.base, min(upto, self.end))

    def window(self, start: int, length: int) -> np.ndarray:
        """Crops of frames ``[start, start + length)``; past ``end`` the last frame repeats.

        Returns:
            ``(length, S, S, 3)`` uint8, a copy.
        """
        if start < self.base or start >= self.end:
            raise IndexError(f"frame {start} is not held (holding [{self.base}, {self.end}))")
        idx = np.minimum(np.arange(start, start + length), self.end - 1) % self.capacity
        return self._crops[idx]

    def faces(self, start: int, stop: int) -> np.ndarray:
        """Face flags of frames ``[start, stop)`` (a copy)."""
        if start < self.base or stop > self.end:
            raise IndexError(f"frames [{start}, {stop}) are not held ([{self.base}, {self.end}))")
        return self._faces[np.arange(start, stop) % self.capacity]

    @property
    def nbytes(self) -> int:
        """Bytes held by the ring (constant for its life)."""
        return self._crops.nbytes + self._faces.nbytes
