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

    def _keep(self, frame_idx: int, box: Box) -> Box:
        self._last_box, self._last_seen = box, frame_idx
        return box


@dataclass(frozen=True)
class TrackedBox:
    """A frame's raw box from the tracker, with the track it belongs to."""

    frame_idx: int
    box: Box | None
    track_id: int


def box_to_params(box: Box) -> np.ndarray:
    """(x0, y0, x1, y1) -> (cx, cy, size) with size = sqrt(width * height)."""
    x0, y0, x1, y1 = box
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2, np.sqrt((x1 - x0) * (y1 - y0))])


def smooth_params(window: Sequence[TrackedBox], centre: int, radius: int) -> np.ndarray | None:
    """The smoothed (cx, cy, size) of ``window[centre]``; None when it has no box.

    A Gaussian-weighted local linear fit over the boxes of the same track within ``radius``
    frames. A linear fit has no lag for steady motion, even where the window is one-sided
    (the start or end of a track), unlike a moving average.
    """
    me = window[centre]
    if me.box is None:
        return None
    if radius == 0:
        return box_to_params(me.box)
    t, p = [], []
    for item in window:
        dt = item.frame_idx - me.frame_idx
        if item.box is not None and item.track_id == me.track_id and abs(dt) <= radius:
            t.append(float(dt))
            p.append(box_to_params(item.box))
    t_arr, p_arr = np.array(t), np.stack(p)  # (K,), (K, 3)
    w = np.exp(-0.5 * (t_arr / max(radius / 2, 0.5)) ** 2)
    if len(set(t)) < 2:
        return p_arr[t_arr == 0][0]
    design = np.stack([np.ones_like(t_arr), t_arr], axis=1)  # (K, 2)
    sw = np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(design * sw, p_arr * sw, rcond=None)  # (2, 3)
    return coef[0]  # the fit's value at dt = 0
