"""bench/me_visibility.py: the oracle detectors that bound what the real-face benchmark can show."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))   # bench_scripts (importlib mode)
from bench_scripts import VIDEOS, load_bench  # noqa: E402


def _bench():
    return load_bench("me_visibility")


def test_spread_covers_every_frame_of_each_placement():
    bench = _bench()
    y = np.array([0.0, 3.0, 1.0, 0.0])            # one value per start of a 3-frame event
    assert bench._spread(y, 3).tolist() == [0.0, 3.0, 3.0, 3.0, 1.0, 0.0]


def test_suppression_keeps_the_strongest_of_overlapping_intervals():
    kept = _bench()._suppress([(1.0, 0, 9), (2.0, 5, 14), (0.5, 20, 29), (0.9, 15, 19)])
    assert kept == [(2.0, 5, 14), (0.9, 15, 19), (0.5, 20, 29)]


def test_best_f1_is_perfect_when_the_peaks_are_the_mes():
    bench = _bench()
    gts = [[(10, 19), (40, 49)], [(5, 14)]]
    proposals = [[(5.0, 10, 19), (4.0, 40, 49), (1.0, 70, 79)], [(3.0, 5, 14), (2.0, 30, 39)]]
    assert bench.best_f1(proposals, gts) == 1.0    # any threshold in (2, 3] keeps exactly the MEs


@pytest.mark.skipif(not (VIDEOS / "single_face.mp4").is_file(), reason="needs ../shared/data/video")
def test_the_oracle_sees_large_injected_mes_on_a_real_face():
    """At 3x on the man's footage (two short clips), knowing each ME's image change ranks ME
    frames well above the rest; the energy of the change does not (the face's own motion is as
    large)."""
    r = _bench().measure(VIDEOS / "single_face.mp4", 3.0, clips=2, seed=3, window=4,
                         mes_per_10s=8.0, frames=120, size=160)
    assert r["mes"] >= 2 and 0 < r["me_frame_share"] < 0.5
    assert r["matched_spacetime"] > 0.75 and r["matched_spacetime"] > r["frame_energy"] + 0.15
    assert 0.0 <= r["f1_spacetime_best"] <= 1.0
