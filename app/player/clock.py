"""The playback clock: which frame is due now, from the wall clock and the speed."""

from __future__ import annotations

import time
from fractions import Fraction


class PlaybackClock:
    """Which frame should be on screen while playing at ``speed`` (wall clock based)."""

    def __init__(self, start_frame: int, fps: Fraction, speed: float) -> None:
        self.start_frame = start_frame
        self.rate = float(fps) * speed
        self.t0 = time.monotonic()

    def target(self) -> int:
        """The frame due now."""
        return self.start_frame + int((time.monotonic() - self.t0) * self.rate)

    def position(self) -> float:
        """Where playback is now, in (fractional) frames."""
        return self.start_frame + (time.monotonic() - self.t0) * self.rate

    def shift(self, frames: float) -> None:
        """Move the clock ``frames`` ahead (negative: back), e.g. to follow the audio."""
        self.t0 -= frames / self.rate if self.rate else 0.0
