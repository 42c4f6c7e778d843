"""Choosing the subject's face in each frame, and smoothing its box over time.

The tracker keeps one face: the largest, most central one when a track starts, then the
detection with the best overlap (IoU) with the track's last box. A frame whose detections
do not continue the track is flagged as having no face; nothing is interpolated. A track
only starts on a detection that the next frame confirms (IoU with one of its detections),
which removes one-frame false positives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from meldae.faces.detect import Detection

Box = tuple[float, float, float, float]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes; 0 when either is empty."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def salience(box: Box, frame_size: tuple[int, int]) -> float:
    """How likely a face is the subject: its size, less for faces far from the centre."""
    width, height = frame_size
    side = np.sqrt(max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1]))
    dx = ((box[0] + box[2]) / 2 - width / 2) / width
    dy = ((box[1] + box[3]) / 2 - height / 2) / height
    return float(side * (1.0 - min(1.0, np.hypot(dx, dy))))


class FaceTracker:
    """Picks the subject's box in each frame, in order (one tracker per video)."""

    def __init__(self, frame_size: tuple[int, int], min_iou: float = 0.3,
                 reacquire_after: int = 24) -> None:
        """Create a tracker.

        Args:
            frame_size: (width, height) of the frames.
            min_iou: the overlap with the track's last box a detection needs to continue it.
            reacquire_after: frames without the subject after which any face may start a track.
        """
        self.frame_size = frame_size
        self.min_iou = min_iou
        self.reacquire_after = reacquire_after
        self.track_id = -1            # increments each time a new track starts
        self._last_box: Box | None = None
        self._last_seen = -10**9

    def update(self, frame_idx: int, detections: Sequence[Detection],
               next_detections: Sequence[Detection] | None) -> Box | None:
        """The subject's box in frame ``frame_idx``, or None when it is not found there.

        Args:
            frame_idx: frames must come in increasing order.
            detections: this frame's detections.
            next_detections: the next frame's detections (None at the end of the video).
        """
        boxes = [d.box for d in detections]
        if self._last_box is not None and frame_idx - self._last_seen <= self.reacquire_after:
            best = max(boxes, key=lambda b: iou(b, self._last_box), default=None)
            if best is not None and iou(best, self._last_box) >= self.min_iou:
                return self._keep(frame_idx, best)
            return None
        nxt = [d.box for d in next_detections or ()]
        confirmed = [b for b in boxes if any(iou(b, n) >= self.min_iou for n in nxt)]
        if not confirmed:
            return None
        self.track_id += 1
        return self._keep(frame_idx, max(confirmed, key=lambda b: salience(b, self.frame_size)))

    def recent_box(self, frame_idx: int, within: int = 3) -> Box | None:
        """The track's last box when it was seen at most ``within`` frames before
        ``frame_idx`` (where to search for the face next), else None."""
        if self._last_box is None or frame_idx - self._last_seen > within:
            return None
        return self._last_box

    def _keep(self, frame_idx: int, box: Box) -> Box:
        self._last_box, self._last_seen = box, frame_idx
        return box


@dataclass(frozen=True)
class TrackedBox:
    """A frame's raw box from the tracker, with the track it belongs to.

    ``eyes`` = (left x, left y, right x, right y) eye centres in source pixels when
    landmark alignment is on and a box was found; None otherwise.
    """

    frame_idx: int
    box: Box | None
    track_id: int
    eyes: tuple[float, float, float, float] | None = None


def box_to_params(box: Box) -> np.ndarray:
    """(x0, y0, x1, y1) -> (cx, cy, size) with size = sqrt(width * height)."""
    x0, y0, x1, y1 = box
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2, np.sqrt((x1 - x0) * (y1 - y0))])


def _local_linear(t: np.ndarray, p: np.ndarray, radius: int) -> np.ndarray:
    """The value at t = 0 of a Gaussian-weighted (sigma radius / 2) linear fit of p(t)."""
    if radius == 0 or len(np.unique(t)) < 2:
        return p[t == 0][0]
    w = np.exp(-0.5 * (t / max(radius / 2, 0.5)) ** 2)  # (K,)
    design = np.stack([np.ones_like(t), t], axis=1)  # (K, 2)
    sw = np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(design * sw, p * sw, rcond=None)  # (2, D)
    return coef[0]


def _median_filtered(t: np.ndarray, p: np.ndarray, radius: int) -> np.ndarray:
    """Each row of p (K, D) replaced by the median of the rows within ``radius`` frames.

    Near the ends of ``t`` the radius shrinks so that the neighbourhood stays symmetric (a
    one-sided median would lag behind steady motion).
    """
    reach = np.minimum(radius, np.minimum(t - t.min(), t.max() - t))  # (K,)
    near = np.abs(t[:, None] - t[None, :]) <= reach[:, None]  # (K, K)
    stacked = np.where(near[:, :, None], p[None, :, :], np.nan)  # (K, K, D)
    return np.nanmedian(stacked, axis=1)  # (K, D)


def smooth_series(window: Sequence[TrackedBox], values: Sequence[np.ndarray | None],
                  centre: int, radii: Sequence[int], median_radius: int = 0
                  ) -> np.ndarray | None:
    """Smooth per-frame vectors over time, each component with its own radius.

    ``values[k]`` (D,) belongs to ``window[k]`` (None: no value). Only the frames of the
    centre's track take part. Their values are first median-filtered over
    ``median_radius`` frames each side (removes isolated detector outliers; a median has no
    lag on monotone motion), then component ``d`` is fitted with a Gaussian-weighted local
    linear fit over ``radii[d]`` frames each side, whose value at the centre frame is
    returned. A linear fit has no lag for steady motion, even where the window is one-sided
    (the start or end of a track), unlike a moving average.

    Returns:
        (D,) the smoothed vector, or None when ``values[centre]`` is None.
    """
    me = window[centre]
    if values[centre] is None:
        return None
    radii_arr = np.asarray(radii, int)  # (D,)
    reach = int(radii_arr.max()) + median_radius
    keep = [k for k, item in enumerate(window) if values[k] is not None
            and item.track_id == me.track_id and abs(item.frame_idx - me.frame_idx) <= reach]
    t = np.array([window[k].frame_idx - me.frame_idx for k in keep], float)  # (K,)
    p = np.stack([np.asarray(values[k], float) for k in keep])  # (K, D)
    if median_radius > 0:
        p = _median_filtered(t, p, median_radius)
    out = np.empty(len(radii_arr))
    for radius in np.unique(radii_arr):
        cols = radii_arr == radius
        near = np.abs(t) <= radius
        out[cols] = _local_linear(t[near], p[near][:, cols], int(radius))
    return out


def smooth_params(window: Sequence[TrackedBox], centre: int, radius: int,
                  scale_radius: int | None = None, median_radius: int = 0
                  ) -> np.ndarray | None:
    """The smoothed (cx, cy, size) of ``window[centre]``; None when it has no box.

    The centre is fitted over ``radius`` frames each side, the size over ``scale_radius``
    (default: ``radius``; a face's size changes slowly, and dlib's boxes jump between
    pyramid levels 1.2x apart, so a longer radius for the size removes most of its jitter).
    See ``smooth_series``. ``radius == 0`` returns the raw box (no smoothing at all).
    """
    me = window[centre]
    if me.box is None:
        return None
    if radius == 0:
        return box_to_params(me.box)
    values = [None if item.box is None else box_to_params(item.box) for item in window]
    size_radius = radius if scale_radius is None else scale_radius
    return smooth_series(window, values, centre, (radius, radius, size_radius), median_radius)
