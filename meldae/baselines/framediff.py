"""The plain frame-difference baseline: what a line of numpy finds in the face crops.

No features, no training. On grey face crops (at most ``size`` pixels):

- **ME score** of frame t: the mean absolute difference between frame t and the mean of
  frames t-k and t+k over the whole face, with the same contrast step and clip-maximum
  normalisation as MDMD (``meldae.baselines.lbp.mdmd_scores``): pixels stand where LBP
  histograms stand there.
- **Speaking score** of frame t: the mean absolute difference between frame t and frame t-1
  in the mouth region (rows 62-90 %, columns 30-70 % of an eye-aligned crop), mapped to
  [0, 1) as ``d / (d + median(d))`` (0.5 at the clip's median motion).

Frames without a face score 0. It is the floor a learnt model has to clear: on real faces
it separates speaking from listening well (docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np

#: Mouth region of an eye-aligned face crop, as fractions (top, bottom, left, right).
MOUTH_BOX = (0.62, 0.90, 0.30, 0.70)


def grey_volume(crops: np.ndarray, size: int = 64) -> np.ndarray:
    """(N, S, S, 3) uint8 crops -> (N, s, s) float32 grey, s = min(size, S) (area resize)."""
    import cv2

    n = len(crops)
    side = min(size, int(crops.shape[1])) if n else size
    out = np.empty((n, side, side), np.float32)
    for i in range(n):
        grey = cv2.cvtColor(np.asarray(crops[i]), cv2.COLOR_RGB2GRAY)
        if grey.shape[0] != side:
            grey = cv2.resize(grey, (side, side), interpolation=cv2.INTER_AREA)
        out[i] = grey
    return out


def frame_diff_scores(volume: np.ndarray, interval: int,
                      face_found: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (ME score, speaking score), both (N,) float32 in [0, 1].

    Args:
        volume: (N, s, s) grey frames (``grey_volume``).
        interval: k, the frames compared with frame t for the ME score.
        face_found: (N,) bool; frames without a face score 0.
    """
    n = len(volume)
    if n == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    found = np.ones(n, bool) if face_found is None else np.asarray(face_found, bool)
    idx = np.arange(n)
    before, after = np.maximum(idx - interval, 0), np.minimum(idx + interval, n - 1)
    d = np.abs(volume - 0.5 * (volume[before] + volume[after])).mean(axis=(1, 2))  # (N,)
    d = np.where(found, d, 0.0)
    c = np.maximum(d - 0.5 * (d[before] + d[after]), 0.0)
    peak = c.max()
    loc = c / peak if peak > 0 else c
    side = volume.shape[1]
    top, bottom, left, right = (int(round(f * side)) for f in MOUTH_BOX)
    mouth = volume[:, top:bottom, left:right]
    m = np.abs(mouth - mouth[np.maximum(idx - 1, 0)]).mean(axis=(1, 2))  # (N,)
    m = np.where(found, m, 0.0)
    median = float(np.median(m[found])) if found.any() else 0.0
    state = m / (m + median) if median > 0 else np.zeros(n)
    return loc.astype(np.float32), state.astype(np.float32)
