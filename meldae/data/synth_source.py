"""Inject synthetic speech and micro-expression motion into real face footage.

``SourceFace`` takes a real video of one face, finds the face (``meldae.faces`` detector:
dlib HOG, else Haar), and for every planned clip cuts a square around the face, then warps
small regions of the real face with ``cv2.remap`` and smooth Gaussian displacement fields
placed where a face box puts the features (dlib's box runs from the brows to the chin):

* speaking: the lower lip and the jaw move down (and the upper lip up) with the planned
  syllable-rate opening; the mouth corners follow the mouth width;
* MEs: a few pixels of brow raise, inner-brow lowering, lower-lid raise (squint) or
  lip-corner pull, with the planned onset-apex-offset profile;
* distractors: the planned head drift/nods (a global warp) and lighting flicker; the real
  footage brings its own blinks and gaze.

The real face's own expressions and speech are not annotated: ground truth describes only
the injected motion.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from meldae.data.synth_timeline import ClipPlan

log = logging.getLogger(__name__)

DETECT_EVERY = 2            # detect on every 2nd frame, interpolate between
CROP_FACE_SIDES = 2.2       # the output square is this many face widths wide


def _no_face_error(path: Path, reason: str) -> Exception:
    from meldae.data.clipfolder import DataError

    return DataError(f"{path}: {reason}")


class SourceFace:
    """A real face video prepared for motion injection at one output size."""

    def __init__(self, path: Path, size: int) -> None:
        from meldae.video import VideoReader

        self.path = Path(path)
        self.size = int(size)
        with VideoReader(self.path) as reader:
            self.n_source = len(reader)
            self.frame_size = reader.size               # (width, height)
        if self.n_source == 0:
            raise _no_face_error(self.path, "the video has no frames")
        self.face_half_width = self.size / CROP_FACE_SIDES / 2

    def _detect(self, start: int, stop: int) -> np.ndarray:
        """(stop - start, 4) face boxes, interpolated between detections; raises without any."""
        from meldae.faces.detect import FaceDetector
        from meldae.video import VideoReader

        detector = FaceDetector("auto")
        boxes = np.full((stop - start, 4), np.nan)
        with VideoReader(self.path) as reader:
            for frame_idx, rgb in reader.iter_frames(start, stop):
                k = frame_idx - start
                if k % DETECT_EVERY and frame_idx != stop - 1:
                    continue
                found = detector(rgb)
                if found:
                    best = max(found, key=lambda d: (d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))
                    boxes[k] = best.box
        have = np.flatnonzero(~np.isnan(boxes[:, 0]))
        if len(have) == 0:
            raise _no_face_error(self.path, f"no face found in frames {start}-{stop - 1}")
        if len(have) < 0.5 * len(range(0, stop - start, DETECT_EVERY)):
            log.warning("%s: a face in only %d of the frames checked", self.path, len(have))
        for col in range(4):
            boxes[:, col] = np.interp(np.arange(stop - start), have, boxes[have, col])
        kernel = np.ones(5) / 5
        padded = np.pad(boxes, ((2, 2), (0, 0)), mode="edge")
        return np.stack([np.convolve(padded[:, c], kernel, "valid") for c in range(4)], 1)

    def frames(self, plan: ClipPlan, rng: np.random.Generator) -> Iterator[np.ndarray]:
        """The clip's (size, size, 3) uint8 RGB frames with the plan's motion injected."""
        from meldae.video import VideoReader

        n = plan.n_frames
        used = min(n, self.n_source)
        start = int(rng.integers(0, self.n_source - used + 1))
        mirror = bool(rng.uniform() < 0.5)
        boxes = self._detect(start, start + used)
        centre = np.median((boxes[:, :2] + boxes[:, 2:]) / 2, axis=0)
        side = float(np.median(boxes[:, 2] - boxes[:, 0])) * CROP_FACE_SIDES
        side = min(side, *self.frame_size)              # stay inside the frame
        limit = np.array(self.frame_size, float) - side
        origin = np.clip(centre - side / 2, 0, limit)
        scale = self.size / side
        crops = []
        with VideoReader(self.path) as reader:
            for _, rgb in reader.iter_frames(start, start + used):
                crops.append(self._cut(rgb, origin, scale, mirror))
        face_boxes = (boxes - np.concatenate([origin, origin])) * scale
        if mirror:
            face_boxes[:, [0, 2]] = self.size - face_boxes[:, [2, 0]]
        warper = MotionWarper(self.size)
        for frame_idx in range(n):
            k = _ping_pong(frame_idx, used)
            yield warper.apply(crops[k], face_boxes[k], plan.state_kwargs(frame_idx))

    def _cut(self, rgb: np.ndarray, origin: np.ndarray, scale: float, mirror: bool) -> np.ndarray:
        matrix = np.array([[scale, 0, -origin[0] * scale], [0, scale, -origin[1] * scale]])
        out = cv2.warpAffine(rgb, matrix, (self.size, self.size), flags=cv2.INTER_AREA,
                             borderMode=cv2.BORDER_REPLICATE)
        return out[:, ::-1].copy() if mirror else out


def _ping_pong(frame_idx: int, length: int) -> int:
    """Index into a sequence played forwards, then backwards, then forwards ..."""
    if length <= 1:
        return 0
    period = 2 * (length - 1)
    k = frame_idx % period
    return k if k < length else period - k


# Features in a dlib-style face box (x, y as fractions of its width and height).
_BROW = ((0.28, 0.17), (0.72, 0.17))
_INNER_BROW = ((0.40, 0.20), (0.60, 0.20))
_LOWER_LID = ((0.30, 0.42), (0.70, 0.42))
_MOUTH_CORNER = ((0.33, 0.79), (0.67, 0.79))
_MOUTH_Y = 0.78


class MotionWarper:
    """Builds and applies the per-frame displacement field at one image size."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.grid = np.arange(size, dtype=np.float32)
        self.map_x, self.map_y = np.meshgrid(self.grid, self.grid)

    def _blob(self, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
        gx = np.exp(-0.5 * ((self.grid - cx) / sx) ** 2)
        gy = np.exp(-0.5 * ((self.grid - cy) / sy) ** 2)
        return np.outer(gy, gx).astype(np.float32)            # (H, W)

    def field(self, box: np.ndarray, st: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """(dx, dy) in pixels, where each output pixel's content moves to."""
        x0, y0, x1, y1 = (float(v) for v in box)
        w, h = x1 - x0, y1 - y0
        a = w / 2
        dx = np.zeros((self.size, self.size), np.float32)
        dy = np.zeros_like(dx)

        def at(p):
            return x0 + p[0] * w, y0 + p[1] * h

        mouth_y = y0 + _MOUTH_Y * h
        below = 1 / (1 + np.exp(np.clip((mouth_y - self.grid) / (0.015 * h), -50, 50)))  # (H,)
        lower = self._blob(x0 + w / 2, mouth_y + 0.2 * h, 0.28 * w, 0.2 * h) * below[:, None]
        dy += lower * (st["jaw"] + 0.75 * st["mouth_open"]) * a
        upper = self._blob(x0 + w / 2, mouth_y - 0.04 * h, 0.2 * w, 0.05 * h) * (1 - below)[:, None]
        dy -= upper * 0.25 * st["mouth_open"] * a
        for i, side in enumerate(("l", "r")):
            sign = -1 if i == 0 else 1
            cx, cy = at(_MOUTH_CORNER[i])
            corner = self._blob(cx, cy, 0.08 * w, 0.07 * h)
            dx += corner * sign * (0.8 * st[f"lip_pull_{side}"] + 0.35 * st["mouth_width"]) * a
            dy -= corner * 0.6 * st[f"lip_pull_{side}"] * a
            cx, cy = at(_BROW[i])
            dy -= self._blob(cx, cy, 0.14 * w, 0.07 * h) * st[f"brow_raise_{side}"] * a
            cx, cy = at(_INNER_BROW[i])
            inner = self._blob(cx, cy, 0.08 * w, 0.06 * h) * st[f"brow_lower_{side}"] * a
            dy += 0.9 * inner
            dx -= sign * 0.5 * inner
            cx, cy = at(_LOWER_LID[i])
            dy -= self._blob(cx, cy, 0.09 * w, 0.035 * h) * st[f"squint_{side}"] * a
        return dx, dy

    def apply(self, rgb: np.ndarray, box: np.ndarray, st: dict[str, float]) -> np.ndarray:
        """Warp one frame: local motion, then head drift/rotation, then lighting."""
        dx, dy = self.field(box, st)
        c = self.size / 2
        theta = np.deg2rad(st["head_rot"])
        # Rigid head motion as a field too, so one remap does everything.
        dx += st["head_dx"] + (self.map_x - c) * (np.cos(theta) * st["head_scale"] - 1) \
            - (self.map_y - c) * np.sin(theta)
        dy += st["head_dy"] + (self.map_x - c) * np.sin(theta) \
            + (self.map_y - c) * (np.cos(theta) * st["head_scale"] - 1)
        out = cv2.remap(rgb, self.map_x - dx, self.map_y - dy, cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)
        if abs(st["light"] - 1.0) > 1e-4:
            out = cv2.convertScaleAbs(out, alpha=st["light"])
        return out
