"""LBP-TOP and LBP-SIP features of face-crop sequences, and MDMD-style per-frame scores.

Codes come from scikit-image's ``local_binary_pattern``; this module only arranges the
planes and the histograms.

- **LBP-TOP** (Zhao & Pietikäinen 2007): uniform LBP(P=8, R=1) codes on the three
  orthogonal planes of the video volume: XY (each frame), XT (each row y, an image of t by
  x) and YT (each column x, t by y); 10 bins per plane.
- **LBP-SIP** (Wang et al. 2014, six intersection points): for every pixel, its 4
  neighbours in XY (LBP with P=4, R=1: 16 codes) and its 2 neighbours in time, the same
  pixel in the previous and next frame (LBP with P=2, R=1 on the plane whose columns are
  time: 4 codes); 16 + 4 bins.

A frame's feature is the concatenation of per-block histograms (a ``grid × grid`` split of
the crop) of the codes of the frames ``[t - r, t + r]``, each block's histogram
normalised to sum 1. The spotting score follows MDMD (Wang et al. 2017, main directional
maximal difference): the chi-square distance between the feature of frame ``t`` and the
mean of the features of frames ``t - k`` and ``t + k``, then a contrast step that removes
slow changes (``d(t) - (d(t-k) + d(t+k)) / 2``, floored at 0), normalised by the clip's
maximum. The threshold is chosen on the validation split by the caller.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

METHODS = ("lbp-top", "lbp-sip")


@dataclass(frozen=True)
class LBPSettings:
    """Parameters of the LBP baselines."""

    size: int = 96          # crops are resized to size × size grey images (never up)
    grid: int = 6           # blocks per side for the histograms
    radius_t: int = 1       # r: the histogram of frame t pools codes of frames [t-r, t+r]
    interval: int = 5       # k: frame t is compared with frames t-k and t+k


def _lbp(image: np.ndarray, points: int, method: str) -> np.ndarray:
    from skimage.feature import local_binary_pattern

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return local_binary_pattern(image, points, 1, method=method).astype(np.uint8)


def grey_sequence(crops: np.ndarray, size: int) -> np.ndarray:
    """``(N, S, S, 3)`` uint8 RGB crops → ``(N, size, size)`` uint8 grey frames."""
    import cv2

    out = np.empty((len(crops), size, size), dtype=np.uint8)
    for i, crop in enumerate(crops):
        grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
        if grey.shape != (size, size):
            grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)
        out[i] = grey
    return out


def lbp_top_codes(volume: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Uniform LBP(8, 1) codes on the XY, XT and YT planes of ``(N, H, W)`` uint8 frames.

    Returns:
        Three ``(codes (N, H, W) uint8, number of bins)`` pairs, in XY, XT, YT order.
    """
    n, h, w = volume.shape
    xy = np.stack([_lbp(frame, 8, "uniform") for frame in volume])          # (N, H, W)
    padded = _pad_time(volume)                                             # (N+2, H, W)
    xt = np.empty_like(xy)
    for y in range(h):                                                     # image (t, x)
        xt[:, y, :] = _lbp(padded[:, y, :], 8, "uniform")[1:-1]
    yt = np.empty_like(xy)
    for x in range(w):                                                     # image (t, y)
        yt[:, :, x] = _lbp(padded[:, :, x], 8, "uniform")[1:-1]
    return [(xy, 10), (xt, 10), (yt, 10)]


def _pad_time(volume: np.ndarray) -> np.ndarray:
    """Repeat the first and last frame once: the temporal neighbours of the clip's end
    frames are then the frames themselves, not black (scikit-image reads outside as 0)."""
    return np.pad(volume, ((1, 1), (0, 0), (0, 0)), mode="edge")


def lbp_sip_codes(volume: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """LBP-SIP codes of ``(N, H, W)`` uint8 frames: 4 XY neighbours and 2 temporal ones.

    Returns:
        ``(XY codes (N, H, W), 16)`` and ``(temporal codes (N, H, W), 4)``.
    """
    n, h, w = volume.shape
    xy = np.stack([_lbp(frame, 4, "default") for frame in volume])          # (N, H, W)
    padded = _pad_time(volume)                                             # (N+2, H, W)
    temporal = np.empty_like(xy)
    for y in range(h):
        # Image with x along rows and t along columns: P=2, R=1 samples the pixel itself
        # one column (one frame) before and after.
        image = np.ascontiguousarray(padded[:, y, :].T)                     # (W, N+2)
        temporal[:, y, :] = _lbp(image, 2, "default")[:, 1:-1].T
    return [(xy, 16), (temporal, 4)]


def block_histograms(codes: np.ndarray, bins: int, grid: int) -> np.ndarray:
    """Per-frame, per-block code counts: ``(N, H, W)`` → ``(N, grid*grid, bins)`` float32."""
    n, h, w = codes.shape
    ys = np.minimum(np.arange(h) * grid // h, grid - 1)
    xs = np.minimum(np.arange(w) * grid // w, grid - 1)
    block = (ys[:, None] * grid + xs[None, :]).ravel()                     # (H*W,)
    flat = block[None, :] * bins + codes.reshape(n, -1).astype(np.int64)  # (N, H*W)
    offsets = (np.arange(n) * grid * grid * bins)[:, None]
    counts = np.bincount((flat + offsets).ravel(), minlength=n * grid * grid * bins)
    return counts.reshape(n, grid * grid, bins).astype(np.float32)


def frame_features(crops: np.ndarray, method: str,
                   settings: LBPSettings = LBPSettings()) -> np.ndarray:
    """The per-frame feature vectors of a clip.

    Args:
        crops: ``(N, S, S, 3)`` uint8 face crops.
        method: ``lbp-top`` or ``lbp-sip``.
        settings: sizes and radii.

    Returns:
        ``(N, F)`` float32; every block histogram sums to 1 (0 for an empty clip).
    """
    if method not in METHODS:
        raise ValueError(f"unknown baseline {method!r}; choose {' or '.join(METHODS)}")
    if len(crops) == 0:
        return np.zeros((0, 0), np.float32)
    volume = grey_sequence(crops, min(settings.size, int(crops.shape[1])))
    if len(volume) == 0:
        return np.zeros((0, 0), np.float32)
    planes = lbp_top_codes(volume) if method == "lbp-top" else lbp_sip_codes(volume)
    parts = []
    r = settings.radius_t
    for codes, bins in planes:
        hist = block_histograms(codes, bins, settings.grid)                 # (N, B, bins)
        csum = np.concatenate([np.zeros_like(hist[:1]), np.cumsum(hist, axis=0)])
        idx = np.arange(len(hist))
        lo, hi = np.maximum(idx - r, 0), np.minimum(idx + r + 1, len(hist))
        pooled = csum[hi] - csum[lo]                                         # (N, B, bins)
        pooled /= np.maximum(pooled.sum(axis=2, keepdims=True), 1e-12)
        parts.append(pooled.reshape(len(hist), -1))
    return np.concatenate(parts, axis=1).astype(np.float32)


def chi_square(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise chi-square distance ``sum((a-b)^2 / (a+b))`` (0/0 counts as 0)."""
    num = (a - b) ** 2
    den = a + b
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0).sum(axis=1)


def mdmd_scores(features: np.ndarray, interval: int,
                face_found: np.ndarray | None = None) -> np.ndarray:
    """Per-frame spotting scores in [0, 1] from per-frame features.

    ``d(t) = chi2(F(t), (F(t-k) + F(t+k)) / 2)`` (indices clamped to the clip), then
    ``c(t) = max(0, d(t) - (d(t-k) + d(t+k)) / 2)``, divided by the clip's maximum.
    Frames without a face score 0.
    """
    n = len(features)
    if n == 0:
        return np.zeros(0, np.float32)
    idx = np.arange(n)
    before, after = np.maximum(idx - interval, 0), np.minimum(idx + interval, n - 1)
    d = chi_square(features, 0.5 * (features[before] + features[after]))
    if face_found is not None:
        d = np.where(np.asarray(face_found, bool), d, 0.0)
    c = np.maximum(d - 0.5 * (d[before] + d[after]), 0.0)
    peak = c.max()
    return (c / peak if peak > 0 else c).astype(np.float32)
