"""Optional landmark alignment: dlib's 5-point landmarks put the eyes at fixed crop positions.

The 5-point model (public domain) ships in the ``face-recognition-models`` package (the
``landmarks`` extra). Its file is located without importing that package (whose
``__init__`` needs ``pkg_resources``); its 68-point model (non-commercial) is never used.
Without the package, alignment is off and crops follow the smoothed detector box.

An eye pair gives a similarity (eye midpoint, inter-ocular distance, roll angle); the
pipeline smooths it over time like the boxes and cuts a square rotated by the roll angle,
so the head's rigid roll, scale and translation are removed from the crops.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from pathlib import Path

import numpy as np

ALIGN_MODES = ("auto", "off", "landmarks")
INSTALL_HINT = "pip install meldae-studio[landmarks]"
MODEL_FILE = "shape_predictor_5_face_landmarks.dat"

# Face geometry measured on dlib HOG boxes (median over WolfgangLanger_Pexels.mp4,
# single_face.mp4 and two synthetic clips): box side / inter-ocular distance 2.30-2.68,
# box centre below the eye midpoint by 0.43-0.57 inter-ocular distances.
FACE_PER_IOD = 2.45
CENTRE_BELOW_EYES = 0.5

_per_thread = threading.local()


def five_point_model_path() -> Path | None:
    """The 5-point landmark model file of ``face-recognition-models``; None when absent."""
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "models" / MODEL_FILE
        if path.is_file():
            return path
    return None


def _dlib_importable() -> bool:
    try:
        import dlib  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_align(mode: str) -> str:
    """The alignment ``mode`` stands for: "landmarks" or "off".

    "auto" becomes "landmarks" when dlib and the 5-point model are installed, else "off".

    Raises:
        ValueError: ``mode`` is unknown, or "landmarks" was asked for and dlib or the
            model is missing (the message names ``pip install meldae-studio[landmarks]``).
    """
    if mode not in ALIGN_MODES:
        raise ValueError(f"align must be one of {ALIGN_MODES}, not {mode!r}")
    if mode == "off":
        return "off"
    available = _dlib_importable() and five_point_model_path() is not None
    if mode == "landmarks" and not available:
        raise ValueError("align='landmarks' needs dlib's 5-point landmark model, which is not "
                         f"installed: {INSTALL_HINT}")
    return "landmarks" if available else "off"


class EyeLocator:
    """Finds the two eye centres inside a face box with dlib's 5-point shape predictor."""

    def __init__(self) -> None:
        """Load the model (once per thread).

        Raises:
            ValueError: the model or dlib is not installed.
        """
        resolve_align("landmarks")
        predictor = getattr(_per_thread, "predictor", None)
        if predictor is None:
            import dlib
            predictor = dlib.shape_predictor(str(five_point_model_path()))
            _per_thread.predictor = predictor
        self._predictor = predictor

    def __call__(self, rgb: np.ndarray, box: tuple[float, float, float, float]
                 ) -> tuple[float, float, float, float]:
        """(left x, left y, right x, right y) eye centres in source pixels, left = image left.

        Implausible landmarks (see ``plausible``) are replaced by ``box_eyes(box)``.

        Args:
            rgb: (H, W, 3) uint8 RGB frame.
            box: the face box (x0, y0, x1, y1) in source pixels.
        """
        import dlib

        x0, y0, x1, y1 = (int(round(v)) for v in box)
        # Only the region around the box goes to dlib (it converts what it is given; a
        # whole frame costs twice as much), with a margin for the predictor's outer samples.
        pad = max(8, (x1 - x0) // 2)
        ox, oy = max(0, x0 - pad), max(0, y0 - pad)
        region = np.ascontiguousarray(rgb[oy:max(oy, y1 + pad), ox:max(ox, x1 + pad)])
        shape = self._predictor(region, dlib.rectangle(x0 - ox, y0 - oy, max(x0, x1 - 1) - ox,
                                                       max(y0, y1 - 1) - oy))
        pts = np.array([(shape.part(k).x + ox, shape.part(k).y + oy)
                        for k in range(4)], float)  # (4, 2) source pixels
        a, b = pts[0:2].mean(0), pts[2:4].mean(0)   # the model's eyes: points 0-1 and 2-3
        left, right = (a, b) if a[0] <= b[0] else (b, a)
        eyes = float(left[0]), float(left[1]), float(right[0]), float(right[1])
        return eyes if plausible(eyes, box) else box_eyes(box)


def plausible(eyes: tuple[float, float, float, float],
              box: tuple[float, float, float, float]) -> bool:
    """Whether eyes fit a face box: 0.2-0.8 box sides apart, inside it, rolled < 60 deg."""
    ex, ey, iod, angle = eyes_to_similarity(eyes)
    side = math.sqrt(max(0.0, (box[2] - box[0]) * (box[3] - box[1])))
    inside = box[0] <= ex <= box[2] and box[1] <= ey <= box[3]
    return inside and 0.2 * side <= iod <= 0.8 * side and abs(angle) < math.radians(60)


def box_eyes(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Where the eyes of an upright face in a detector box sit on average (the fallback)."""
    side = math.sqrt(max(0.0, (box[2] - box[0]) * (box[3] - box[1])))
    iod = side / FACE_PER_IOD
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2 - CENTRE_BELOW_EYES * iod
    return cx - iod / 2, cy, cx + iod / 2, cy


def eyes_to_similarity(eyes: tuple[float, float, float, float]) -> np.ndarray:
    """(left x, left y, right x, right y) -> (mid x, mid y, inter-ocular distance, roll rad)."""
    lx, ly, rx, ry = eyes
    return np.array([(lx + rx) / 2, (ly + ry) / 2, math.hypot(rx - lx, ry - ly),
                     math.atan2(ry - ly, rx - lx)])


def aligned_square(similarity: np.ndarray, margin: float) -> tuple[float, float, float, float]:
    """The crop square (centre x, centre y, side, roll rad) for an eye similarity.

    The square is ``FACE_PER_IOD`` inter-ocular distances (a detector box) plus ``margin``
    per side, centred ``CENTRE_BELOW_EYES`` inter-ocular distances below the eye midpoint
    along the face's own vertical axis, and rotated by the roll angle.
    """
    ex, ey, iod, angle = (float(v) for v in similarity)
    down = CENTRE_BELOW_EYES * iod
    cx, cy = ex - math.sin(angle) * down, ey + math.cos(angle) * down
    return cx, cy, iod * FACE_PER_IOD * (1.0 + 2.0 * margin), angle
