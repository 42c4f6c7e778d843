"""Square face crops from a frame, and the per-frame face pipeline (detect, track, smooth,
align, crop)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from meldae.faces.align import EyeLocator, aligned_square, eyes_to_similarity, resolve_align
from meldae.faces.detect import Detection, FaceDetector
from meldae.faces.settings import FaceFrame, FaceSettings
from meldae.faces.track import FaceTracker, TrackedBox, smooth_params, smooth_series


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
    if scale >= 1.0:  # pixel-edge coordinates: crop = scale * (src + 0.5 - x0) - 0.5
        m = np.array([[scale, 0.0, (0.5 - x0) * scale - 0.5],
                      [0.0, scale, (0.5 - y0) * scale - 0.5]])
        return cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    iside = max(1, int(round(side)))
    region = _region(frame, int(round(x0)), int(round(y0)), iside)
    return cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA)


def _region(frame: np.ndarray, ix0: int, iy0: int, iside: int) -> np.ndarray:
    """The (iside, iside, 3) square of ``frame`` from (ix0, iy0); black outside the frame."""
    height, width = frame.shape[:2]
    region = np.zeros((iside, iside, 3), dtype=np.uint8)
    sx0, sy0 = max(0, ix0), max(0, iy0)
    sx1, sy1 = min(width, ix0 + iside), min(height, iy0 + iside)
    if sx1 > sx0 and sy1 > sy0:
        region[sy0 - iy0:sy1 - iy0, sx0 - ix0:sx1 - ix0] = frame[sy0:sy1, sx0:sx1]
    return region


def crop_rotated(frame: np.ndarray, cx: float, cy: float, side: float, angle: float,
                 size: int) -> np.ndarray:
    """The square of ``side`` source pixels centred on (cx, cy) and rotated by ``angle``.

    The crop's x axis runs along (cos angle, sin angle) in the frame (y down), so a head
    rolled by ``angle`` comes out upright. ``angle == 0`` is exactly ``crop_square``.
    When downscaling, the region is first shrunk with INTER_AREA (no aliasing), then
    rotated with a near-unit-scale bilinear warp. Parts outside the frame are black.

    Args:
        frame: (H, W, 3) uint8 RGB.
        cx, cy: the square's centre in source pixels.
        side: the square's side in source pixels.
        angle: the roll angle in radians.
        size: the crop's side in pixels.

    Returns:
        (size, size, 3) uint8 RGB.
    """
    if angle == 0:
        return crop_square(frame, cx, cy, side, size)
    if side <= 0:
        raise ValueError(f"crop side must be positive, not {side}")
    scale = size / side
    cos, sin = np.cos(angle), np.sin(angle)
    # source -> crop, pixel indices, R = [[cos, -sin], [sin, cos]]:
    # crop = scale * R^T (src + 0.5 - c) + size / 2 - 0.5  (c in pixel-edge coordinates)
    to_crop = np.array([[scale * cos, scale * sin, 0.0], [-scale * sin, scale * cos, 0.0],
                        [0.0, 0.0, 1.0]])
    to_crop[:2, 2] = size / 2 - 0.5 - to_crop[:2, :2] @ np.array([cx - 0.5, cy - 0.5])
    image = frame
    if scale < 1.0:  # shrink the bounding square of the rotated crop first
        half = side / 2 * (abs(cos) + abs(sin)) + 2.0 / scale
        ix0, iy0 = int(np.floor(cx - half)), int(np.floor(cy - half))
        iside = int(np.ceil(2 * half)) + 1
        small = max(1, int(round(iside * scale)))
        image = cv2.resize(_region(frame, ix0, iy0, iside), (small, small),
                           interpolation=cv2.INTER_AREA)
        f = small / iside
        # shrunk pixel q <-> source: src = (q + 0.5) / f - 0.5 + i0 (pixel-centre convention)
        from_small = np.array([[1 / f, 0.0, 0.5 / f - 0.5 + ix0],
                               [0.0, 1 / f, 0.5 / f - 0.5 + iy0], [0.0, 0.0, 1.0]])
        to_crop = to_crop @ from_small
    return cv2.warpAffine(image, to_crop[:2], (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def _tracked(frames: Iterable[tuple[int, np.ndarray]], detector: FaceDetector,
             tracker: FaceTracker, eyes: EyeLocator | None = None, roi_face_px: int = 0
             ) -> Iterator[tuple[np.ndarray, TrackedBox]]:
    """Detect in every frame and track, one frame behind (the tracker looks one frame ahead).

    With an ``EyeLocator``, every tracked box also gets its eye centres. With
    ``roi_face_px``, a frame whose face was tracked in the last frames is searched only
    near that face (``FaceDetector.near``); the whole frame is searched again as soon as
    the face is lost.
    """
    pending: tuple[int, np.ndarray, list[Detection]] | None = None

    def finish(idx: int, frame: np.ndarray, dets: list[Detection],
               nxt: list[Detection] | None) -> tuple[np.ndarray, TrackedBox]:
        box = tracker.update(idx, dets, nxt)
        found_eyes = eyes(frame, box) if eyes is not None and box is not None else None
        return frame, TrackedBox(idx, box, tracker.track_id, found_eyes)

    for frame_idx, frame in frames:
        recent = tracker.recent_box(frame_idx) if roi_face_px else None
        detections = detector(frame) if recent is None else detector.near(frame, recent,
                                                                          roi_face_px)
        if pending is not None:
            yield finish(*pending, detections)
        pending = (frame_idx, frame, detections)
    if pending is not None:
        yield finish(*pending, None)


def face_frames(frames: Iterable[tuple[int, np.ndarray]], frame_size: tuple[int, int],
                settings: FaceSettings, detector: FaceDetector | None = None
                ) -> Iterator[FaceFrame]:
    """Run the face pipeline over ``(frame_idx, rgb)`` pairs, yielding one FaceFrame each.

    Memory is bounded: at most ``settings.lookahead + 2`` frames are held at a time.

    Args:
        frames: frames in increasing order of index, e.g. ``VideoReader.iter_frames()``.
        frame_size: (width, height) of the frames.
        settings: the face settings.
        detector: a detector to reuse; by default one made from ``settings``.

    Raises:
        ValueError: ``settings.align`` is "landmarks" and the landmark model is missing.
    """
    eyes = EyeLocator() if resolve_align(settings.align) == "landmarks" else None
    detector = detector or FaceDetector(settings.detector, settings.detect_max_width,
                                        settings.upsample)
    tracker = FaceTracker(frame_size, settings.min_iou, settings.reacquire_after)
    ahead = settings.lookahead
    boxes: deque[TrackedBox] = deque(maxlen=2 * ahead + 1)
    images: deque[np.ndarray] = deque()
    for frame, tracked in _tracked(frames, detector, tracker, eyes, settings.roi_face_px):
        boxes.append(tracked)
        images.append(frame)
        if len(images) > ahead:
            yield _crop_centre(boxes, len(boxes) - 1 - ahead, images.popleft(), settings)
    while images:
        yield _crop_centre(boxes, len(boxes) - len(images), images.popleft(), settings)


def _crop_centre(boxes: deque[TrackedBox], centre: int, frame: np.ndarray,
                 settings: FaceSettings) -> FaceFrame:
    window = list(boxes)
    me = window[centre]
    size = settings.crop_size
    if me.box is None:
        return FaceFrame(me.frame_idx, np.zeros((size, size, 3), np.uint8), False, None)
    if me.eyes is not None:
        cx, cy, side, angle = _aligned(window, centre, settings)
    else:
        params = smooth_params(window, centre, settings.smooth_radius, settings.scale_radius,
                               settings.median_radius)
        cx, cy, face = (float(v) for v in params)
        side, angle = face * (1.0 + 2.0 * settings.margin), 0.0
    crop = crop_rotated(frame, cx, cy, side, angle, size)
    box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    return FaceFrame(me.frame_idx, crop, True, box)


def _aligned(window: list[TrackedBox], centre: int, settings: FaceSettings
             ) -> tuple[float, float, float, float]:
    """The smoothed, eye-aligned crop square (cx, cy, side, roll) of ``window[centre]``."""
    values = [None if item.eyes is None else eyes_to_similarity(item.eyes) for item in window]
    r = settings.smooth_radius
    if r == 0:
        similarity = values[centre]
    else:  # (mid x, mid y, inter-ocular distance, roll): the distance is a size
        similarity = smooth_series(window, values, centre, (r, r, settings.scale_radius, r),
                                   settings.median_radius)
    return aligned_square(similarity, settings.margin)
