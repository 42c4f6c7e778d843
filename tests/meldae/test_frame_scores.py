"""Frame-level AUC and the frame-difference baseline, against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from meldae.baselines import frame_diff_scores
from meldae.metrics import frame_auc


def test_frame_auc_hand_values():
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ordered right
    assert frame_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert frame_auc([0.5, 0.5], [0, 1]) == pytest.approx(0.5)            # a tie counts half
    assert frame_auc([0.9, 0.1, 0.2], [0, 1, 1]) == pytest.approx(0.0)
    assert frame_auc([np.array([0.2, 0.9]), np.array([0.1])], [np.array([0, 1]), np.array([0])]) == 1.0
    assert frame_auc([0.3, 0.4], [1, 1]) is None                          # one class only
    with pytest.raises(ValueError, match="2 scores for 3 labels"):
        frame_auc([0.1, 0.2], [0, 1, 0])


def test_frame_diff_scores_find_mouth_motion_and_a_short_event():
    rng = np.random.default_rng(0)
    n, side = 60, 32
    volume = np.repeat(rng.uniform(0, 255, (1, side, side)).astype(np.float32), n, axis=0)
    volume += rng.normal(0, 0.5, volume.shape).astype(np.float32)        # sensor noise
    top, bottom, left, right = (int(round(f * side)) for f in (0.62, 0.90, 0.30, 0.70))
    for t in range(10, 30):                                               # speech: the mouth moves
        volume[t, top:bottom, left:right] += 40 * (t % 2)
    volume[45:48, 4:12, 4:12] += 30                                       # a 3-frame event up left
    found = np.ones(n, bool)
    found[55:] = False
    loc, state = frame_diff_scores(volume, interval=3, face_found=found)
    assert loc.shape == state.shape == (n,) and loc.dtype == np.float32
    assert state[11:30].min() > state[35:44].max()              # frame 10 equals frame 9
    assert 0 <= state.min() and state.max() < 1
    assert loc[45:48].max() > 5 * loc[34:42].max()
    assert np.all(loc[55:] == 0) and np.all(state[55:] == 0)              # no face: no score
    empty_loc, empty_state = frame_diff_scores(np.zeros((0, side, side), np.float32), 3)
    assert empty_loc.shape == empty_state.shape == (0,)
