"""The settings and results of the face pipeline (plain frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

# Bump when a change to the code changes the crops: old cache entries are then never read.
CODE_VERSION = 2   # 2: separate size smoothing radius, median prefilter, landmark alignment

DETECTORS = ("auto", "dlib", "haar")
ALIGNS = ("auto", "off", "landmarks")


@dataclass(frozen=True)
class FaceSettings:
    """How faces are detected, tracked, stabilised and cropped (all part of the cache key)."""

    crop_size: int = 224            # side of the square RGB crops, pixels
    detector: str = "auto"          # "auto" (dlib HOG when importable, else Haar) | "dlib" | "haar"
    detect_max_width: int = 640     # frames are downscaled to at most this width to detect
    upsample: int = 0               # dlib: image pyramid upsamplings (1 finds faces >= 40 px)
    margin: float = 0.25            # context around the face box, per side, in face sizes
    smooth_radius: int = 8          # frames each side in the position smoother (0: no smoothing)
    min_iou: float = 0.3            # a detection continues the track when IoU >= this
    reacquire_after: int = 24       # frames without the face before any face may start a track
    align: str = "auto"             # "auto" (landmarks if installed, else off), "off", "landmarks"
    scale_radius: int = 32          # frames each side in the size smoother (face size is slow)
    median_radius: int = 2          # median prefilter of the raw boxes, frames each side
    roi_face_px: int = 112          # while tracking, detect only near the face, scaled so it is
                                    # about this many pixels (0: search the whole frame always)

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            raise ValueError(f"detector must be one of {DETECTORS}, not {self.detector!r}")
        if self.crop_size < 8 or self.detect_max_width < 64:
            raise ValueError("crop_size must be >= 8 and detect_max_width >= 64")
        if self.align not in ALIGNS:
            raise ValueError(f"align must be one of {ALIGNS}, not {self.align!r}")
        if min(self.margin, self.smooth_radius, self.scale_radius, self.median_radius,
               self.upsample) < 0:
            raise ValueError("margin, smooth_radius, scale_radius, median_radius and upsample "
                             "must be >= 0")
        if self.roi_face_px and self.roi_face_px < 80:
            raise ValueError("roi_face_px must be 0 (off) or >= 80 (the detectors' smallest face)")
        if not 0 < self.min_iou <= 1 or self.reacquire_after < 1:
            raise ValueError("min_iou must be in (0, 1] and reacquire_after >= 1")

    @property
    def lookahead(self) -> int:
        """Frames the smoother looks ahead (the pipeline holds this many + 2 frames)."""
        if self.smooth_radius == 0:
            return 0
        return max(self.smooth_radius, self.scale_radius) + self.median_radius


@dataclass(frozen=True)
class FaceFrame:
    """One frame's result.

    ``box`` is the square region of the source frame the crop shows (after stabilisation,
    margin included), ``x0, y0, x1, y1`` in source pixels; None when no face was found.
    With landmark alignment the crop shows that square rotated about its centre by the
    head's (smoothed) roll angle.
    """

    frame_idx: int
    crop: np.ndarray                                   # (S, S, 3) uint8 RGB; zeros when no face
    face_found: bool
    box: tuple[float, float, float, float] | None


@dataclass(frozen=True)
class FaceCrops:
    """A whole video's crops, memory-mapped from the cache."""

    crops: np.ndarray          # (N, S, S, 3) uint8, a read-only memmap
    face_found: np.ndarray     # (N,) bool
    boxes: np.ndarray          # (N, 4) float32 crop regions, NaN where no face
    fps: Fraction
