"""Face detectors: dlib's HOG detector when importable, else OpenCV's Haar cascade.

Both run on a downscaled grey copy of the frame (at most ``detect_max_width`` wide) and
return boxes in the source frame's pixels. ``FaceDetector.near`` searches only a square
around a known face, scaled so that the face is small but still findable: while a face is
tracked this costs a fraction of a whole-frame search (WolfgangLanger_Pexels, 640x360 with
a 260-pixel face: 19 ms per frame for the whole frame, 6-7 ms near the face). Neither needs a download: dlib's HOG model is
built into dlib, the Haar cascade ships with OpenCV.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

# Box scale that maps each detector's box onto a common face box (dlib's: brows to chin).
_BOX_SCALE = {"dlib": 1.0, "haar": 0.84}

# Building dlib's HOG detector takes seconds; keep one per thread (dlib objects are not
# documented as thread-safe).
_per_thread = threading.local()


def _dlib_detector():
    detector = getattr(_per_thread, "dlib", None)
    if detector is None:
        import dlib
        detector = _per_thread.dlib = dlib.get_frontal_face_detector()
    return detector


@dataclass(frozen=True)
class Detection:
    """One detected face: ``box`` = (x0, y0, x1, y1) in source pixels, higher score = surer."""

    box: tuple[float, float, float, float]
    score: float


def dlib_available() -> bool:
    """Whether dlib (``dlib-bin``) can be imported."""
    try:
        import dlib  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_detector(name: str) -> str:
    """The detector ``name`` stands for: "auto" becomes "dlib" when importable, else "haar".

    Raises:
        ValueError: ``name`` is unknown, or "dlib" was asked for and dlib is missing.
    """
    if name == "auto":
        return "dlib" if dlib_available() else "haar"
    if name == "dlib" and not dlib_available():
        raise ValueError("detector 'dlib' asked for but dlib is not installed (dlib-bin)")
    if name not in ("dlib", "haar"):
        raise ValueError(f"unknown face detector {name!r}")
    return name


class FaceDetector:
    """Detects faces in RGB frames with the named backend ("dlib" or "haar")."""

    def __init__(self, name: str = "auto", max_width: int = 640, upsample: int = 0) -> None:
        """Create a detector.

        Args:
            name: "auto", "dlib" or "haar".
            max_width: frames wider than this are downscaled to it before detecting.
            upsample: dlib only: upsample the image this many times (finds smaller faces).
        """
        self.name = resolve_detector(name)
        self.max_width = max_width
        self.upsample = upsample
        if self.name == "dlib":
            self._dlib = _dlib_detector()
        else:
            cascade = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
            self._haar = cv2.CascadeClassifier(str(cascade))
            if self._haar.empty():
                raise RuntimeError(f"{cascade}: OpenCV could not load its Haar cascade")

    def __call__(self, rgb: np.ndarray) -> list[Detection]:
        """Detect faces in one (H, W, 3) uint8 RGB frame; boxes in that frame's pixels."""
        return self._detect_scaled(rgb, min(1.0, self.max_width / rgb.shape[1]))

    def near(self, rgb: np.ndarray, box: tuple[float, float, float, float],
             face_px: int) -> list[Detection]:
        """Detect faces in the square around ``box`` only (side: 2.2 face sizes).

        Args:
            rgb: (H, W, 3) uint8 RGB frame.
            box: (x0, y0, x1, y1) of the face found nearby in a recent frame.
            face_px: the region is downscaled so that a face of ``box``'s size is about
                this many pixels (never upscaled; never finer than a whole-frame search).

        Returns:
            The detections, boxes in ``rgb``'s pixels; faces outside the region are missed.
        """
        height, width = rgb.shape[:2]
        side = max(1.0, float(np.sqrt((box[2] - box[0]) * (box[3] - box[1]))))
        cx, cy, half = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 1.1 * side
        x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
        x1, y1 = min(width, int(np.ceil(cx + half))), min(height, int(np.ceil(cy + half)))
        if x1 - x0 < 16 or y1 - y0 < 16:
            return []
        scale = min(1.0, face_px / side, self.max_width / width)
        found = self._detect_scaled(rgb[y0:y1, x0:x1], scale)
        return [Detection((d.box[0] + x0, d.box[1] + y0, d.box[2] + x0, d.box[3] + y0), d.score)
                for d in found]

    def _detect_scaled(self, rgb: np.ndarray, scale: float) -> list[Detection]:
        """Detections in ``rgb`` downscaled by ``scale``; boxes in ``rgb``'s pixels."""
        height, width = rgb.shape[:2]
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)  # (H, W) uint8: a third of the resizing
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)  # (h, w)
        raw = self._detect_dlib(gray) if self.name == "dlib" else self._detect_haar(gray)
        k = _BOX_SCALE[self.name]
        found = []
        for (x0, y0, x1, y1), score in raw:
            cx, cy = (x0 + x1) / 2 / scale, (y0 + y1) / 2 / scale
            hw, hh = (x1 - x0) / 2 / scale * k, (y1 - y0) / 2 / scale * k
            found.append(Detection((cx - hw, cy - hh, cx + hw, cy + hh), float(score)))
        return found

    def _detect_dlib(self, gray: np.ndarray) -> list[tuple[tuple[int, int, int, int], float]]:
        rects, scores, _ = self._dlib.run(gray, self.upsample, 0.0)
        return [((r.left(), r.top(), r.right() + 1, r.bottom() + 1), s)
                for r, s in zip(rects, scores)]

    def _detect_haar(self, gray: np.ndarray) -> list[tuple[tuple[int, int, int, int], float]]:
        gray = cv2.equalizeHist(gray)
        min_side = max(48, gray.shape[1] // 10)  # smaller faces: rare, slow and mostly false
        boxes, neighbours = self._haar.detectMultiScale2(
            gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
        return [((x, y, x + w, y + h), float(n))
                for (x, y, w, h), n in zip(np.asarray(boxes).reshape(-1, 4), np.ravel(neighbours))]
