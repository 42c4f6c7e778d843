"""Exact conversion between frame indices and milliseconds.

Frame indices are the truth inside the program; milliseconds exist only at the ELAN
boundary. Both directions round half up with exact rational arithmetic, so
``ms_to_frame(frame_to_ms(i, fps), fps) == i`` for every frame rate below 1000 fps
(the millisecond error is at most 0.5 ms, i.e. less than half a frame).
"""

from __future__ import annotations

import math
from fractions import Fraction

COMMON_FPS: dict[str, Fraction] = {
    "23.976": Fraction(24000, 1001),
    "25": Fraction(25),
    "29.97": Fraction(30000, 1001),
    "30": Fraction(30),
    "50": Fraction(50),
    "59.94": Fraction(60000, 1001),
    "60": Fraction(60),
}


def as_fps(value: float | int | str | Fraction) -> Fraction:
    """Return ``value`` as an exact frame rate, recognising NTSC rates given as floats.

    Args:
        value: a frame rate such as ``Fraction(30000, 1001)``, ``29.97`` or ``"30000/1001"``.

    Raises:
        ValueError: when the value is not a positive rate.
    """
    if isinstance(value, Fraction):
        fps = value
    elif isinstance(value, str) and "/" in value:
        num, den = value.split("/", 1)
        fps = Fraction(int(num), int(den))
    else:
        as_float = float(value)
        fps = Fraction(as_float).limit_denominator(1001)
        for exact in COMMON_FPS.values():
            if abs(float(exact) - as_float) < 5e-3:
                fps = exact
                break
    if fps <= 0:
        raise ValueError(f"frame rate must be positive, got {value!r}")
    return fps


def frame_to_ms(frame_idx: int, fps: Fraction) -> int:
    """Start time in whole milliseconds of frame ``frame_idx`` (rounded half up)."""
    # floor(frame * 1000 * den / num + 1/2) in integers: this runs for every annotation.
    num, den = fps.numerator, fps.denominator
    return (2000 * int(frame_idx) * den + num) // (2 * num)


def ms_to_frame(ms: int | float, fps: Fraction) -> int:
    """The frame whose start time is nearest to ``ms`` milliseconds (rounded half up)."""
    num, den = fps.numerator, fps.denominator
    if isinstance(ms, int) or float(ms).is_integer():
        return (2 * int(ms) * num + 1000 * den) // (2000 * den)
    return math.floor(Fraction(ms) * fps / 1000 + Fraction(1, 2))
