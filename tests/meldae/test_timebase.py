"""Frame <-> millisecond conversion: exact round trips at the common frame rates."""

from __future__ import annotations

from fractions import Fraction

import pytest

from meldae.timebase import COMMON_FPS, as_fps, frame_to_ms, ms_to_frame

RATES = [Fraction(24000, 1001), Fraction(25), Fraction(30000, 1001), Fraction(30),
         Fraction(50), Fraction(60000, 1001), Fraction(60)]


@pytest.mark.parametrize("fps", RATES, ids=[f"{float(r):.3f}" for r in RATES])
def test_round_trip_exact_every_frame_near_start(fps):
    for frame_idx in range(10_000):
        assert ms_to_frame(frame_to_ms(frame_idx, fps), fps) == frame_idx


@pytest.mark.parametrize("step", [11, 101])
@pytest.mark.parametrize("fps", RATES, ids=[f"{float(r):.3f}" for r in RATES])
def test_round_trip_exact_up_to_200000_prime_steps(fps, step):
    previous = -1
    for frame_idx in range(0, 200_001, step):
        ms = frame_to_ms(frame_idx, fps)
        assert ms_to_frame(ms, fps) == frame_idx
        assert ms > previous  # distinct frames never share a millisecond
        previous = ms


def test_hand_computed_values():
    assert frame_to_ms(1, Fraction(25)) == 40
    assert frame_to_ms(1, Fraction(30000, 1001)) == 33        # 33.367 ms
    assert frame_to_ms(2, Fraction(30000, 1001)) == 67        # 66.733 ms
    assert frame_to_ms(3, Fraction(24000, 1001)) == 125       # 125.125 ms
    assert frame_to_ms(1, Fraction(60000, 1001)) == 17        # 16.683 ms
    assert ms_to_frame(66, Fraction(30000, 1001)) == 2        # 1.978 frames
    assert ms_to_frame(49, Fraction(30)) == 1                 # 1.47 frames
    assert ms_to_frame(50, Fraction(30)) == 2                 # exactly 1.5 rounds up


def test_frame_boundaries_cover_consecutive_ms_ranges():
    # a one-frame segment written as [ms(i), ms(i+1)) is never empty, and reads back as frame i
    fps = Fraction(30000, 1001)
    for frame_idx in range(0, 5000):
        start, end = frame_to_ms(frame_idx, fps), frame_to_ms(frame_idx + 1, fps)
        assert end > start
        assert ms_to_frame(start, fps) == frame_idx
        assert ms_to_frame(end, fps) - 1 == frame_idx


def test_as_fps_recognises_ntsc_floats_and_strings():
    assert as_fps(29.97) == Fraction(30000, 1001)
    assert as_fps(23.976) == Fraction(24000, 1001)
    assert as_fps("60000/1001") == Fraction(60000, 1001)
    assert as_fps(25) == Fraction(25)
    assert as_fps(Fraction(200)) == Fraction(200)
    assert set(COMMON_FPS.values()) == set(RATES)
    with pytest.raises(ValueError):
        as_fps(0)
