"""Square face crops from a frame, and the per-frame face pipeline (detect, track, smooth, crop)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from meldae.faces.detect import Detection, FaceDetector
from meldae.faces.settings import FaceFrame, FaceSettings
from meldae.faces.track import FaceTracker, TrackedBox, smooth_params


def crop_square(frame: np.ndarray, cx: float, cy: float, side: float,
                size: int) -> np.ndarray:
    """The square of ``side`` source pixels centred on (cx, cy), resized to ``size``.

    Parts outside the frame are black. Downscaling averages pixels (INTER_AREA) from the
    region rounded to whole source pixels (less than one crop pixel of error); upscaling
    interpolates at sub-pixel positions.

    Args:
        frame: (H, W, 3) uint8 RGB.
        cx, cy: the square's centre in source pixels.
        side: the square's side in source pixels.
        size: the crop's side in pixels.

    Returns:
        (size, size, 3) uint8 RGB.
    """
    if side <= 0:
        raise ValueError(f"crop side must be positive, not {side}")
    scale = size / side
    x0, y0 = cx - side / 2, cy - side / 2
    if scale >= 1.0:
        m = np.array([[scale, 0.0, -x0 * scale], [0.0, scale, -y0 * scale]])
        return cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    height, width = frame.shape[:2]
    ix0, iy0 = int(round(x0)), int(round(y0))
    iside = max(1, int(round(side)))
    region = np.zeros((iside, iside, 3), dtype=np.uint8)
    sx0, sy0 = max(0, ix0), max(0, iy0)
    sx1, sy1 = min(width, ix0 + iside), min(height, iy0 + iside)
    if sx1 > sx0 and sy1 > sy0:
        region[sy0 - iy0:sy1 - iy0, sx0 - ix0:sx1 - ix0] = frame[sy0:sy1, sx0:sx1]
    return cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA)


def _tracked(frames: Iterable[tuple[int, np.ndarray]], detector: FaceDetector,
             tracker: FaceTracker) -> Iterator[tuple[np.ndarray, TrackedBox]]:
    """Detect in every frame and track, one frame behind (the tracker looks one frame ahead)."""
    pending: tuple[int, np.ndarray, list[Detection]] | None = None
    for frame_idx, frame in frames:
        detections = detector(frame)
        if pending is not None:
            idx, prev, dets = pending
            yield prev, TrackedBox(idx, tracker.update(idx, dets, detections), tracker.track_id)
        pending = (frame_idx, frame, detections)
    if pending is not None:
        idx, prev, dets = pending
        yield prev, TrackedBox(idx, tracker.update(idx, dets, None), tracker.track_id)


def face_frames(frames: Iterable[tuple[int, np.ndarray]], frame_size: tuple[int, int],
                settings: FaceSettings, detector: FaceDetector | None = None
                ) -> Iterator[FaceFrame]:
    """Run the face pipeline over ``(frame_idx, rgb)`` pairs, yielding one FaceFrame each.

    Memory is bounded: at most ``smooth_radius + 2`` frames are held at a time.

    Args:
        frames: frames in increasing order of index, e.g. ``VideoReader.iter_frames()``.
        frame_size: (width, height) of the frames.
        settings: the face settings.
        detector: a detector to reuse; by default one made from ``settings``.
    """
    detector = detector or FaceDetector(settings.detector, settings.detect_max_width,
                                        settings.upsample)
    tracker = FaceTracker(frame_size, settings.min_iou, settings.reacquire_after)
    radius = settings.smooth_radius
    boxes: deque[TrackedBox] = deque(maxlen=2 * radius + 1)
    images: deque[np.ndarray] = deque()
    for frame, tracked in _tracked(frames, detector, tracker):
        boxes.append(tracked)
        images.append(frame)
        if len(images) > radius:
            yield _crop_centre(boxes, len(boxes) - 1 - radius, images.popleft(), settings)
    while images:
        yield _crop_centre(boxes, len(boxes) - len(images), images.popleft(), settings)


def _crop_centre(boxes: deque[TrackedBox], centre: int, frame: np.ndarray,
                 settings: FaceSettings) -> FaceFrame:
    window = list(boxes)
    me = window[centre]
    params = smooth_params(window, centre, settings.smooth_radius)
    size = settings.crop_size
    if params is None:
        return FaceFrame(me.frame_idx, np.zeros((size, size, 3), np.uint8), False, None)
    cx, cy, face = (float(v) for v in params)
    side = face * (1.0 + 2.0 * settings.margin)
    crop = crop_square(frame, cx, cy, side, size)
    box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    return FaceFrame(me.frame_idx, crop, True, box)
