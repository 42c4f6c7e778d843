"""Face smoothing radii, rotated crops and eye alignment (meldae.faces.track, .crop, .align)."""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from meldae.faces import FaceSettings, cache_folder, crop_square
from meldae.faces.align import (EyeLocator, aligned_square, box_eyes, eyes_to_similarity,
                               five_point_model_path, plausible, resolve_align)
from meldae.faces.crop import crop_rotated, face_frames
from meldae.faces.detect import FaceDetector
from meldae.faces.track import TrackedBox, smooth_params, smooth_series
from meldae.video import VideoReader

sys.path.insert(0, str(Path(__file__).resolve().parent))   # face_samples (importlib mode)
from face_samples import boxes as _boxes, write_blank_video as _write_blank_video  # noqa: E402

FAST = FaceSettings(crop_size=32)


def test_smooth_series_median_removes_outliers_without_lag():
    # Size 50 with one-frame detector jumps to 60 (frames 3 and 7): a 1-frame median removes
    # them entirely; the centre ramps linearly and stays exact (a median has no lag there).
    params = [(10 + 2 * i, 20.0, 60.0 if i in (3, 7) else 50.0) for i in range(11)]
    window = _boxes(params)
    for centre in range(11):
        got = smooth_params(window, centre, 2, scale_radius=4, median_radius=1)
        assert got == pytest.approx((10 + 2 * centre, 20.0, 50.0))
    # Without the median the jump leaks into the neighbours' size.
    assert smooth_params(window, 4, 2, scale_radius=4)[2] > 50.5


def test_smooth_series_uses_a_radius_per_component():
    # Component 0 alternates 0/4 (quantisation-like); radius 0 keeps it raw, radius 6 takes
    # it near its mean 2. Component 1 is a line: exact for any radius.
    values = [np.array([4.0 * (i % 2), 3.0 * i]) for i in range(13)]
    window = [TrackedBox(i, (0, 0, 1, 1), 0) for i in range(13)]
    raw = smooth_series(window, values, 6, (0, 6))
    assert raw == pytest.approx((0.0, 18.0))
    smooth = smooth_series(window, values, 6, (6, 6))
    assert abs(smooth[0] - 2.0) < 0.3 and smooth[1] == pytest.approx(18.0)
    assert smooth_series(window, values[:6] + [None] + values[7:], 6, (6, 6)) is None


def test_longer_scale_radius_reduces_size_jitter_from_pyramid_levels():
    # dlib's box sizes flip between pyramid levels 1.2x apart (226 / 271 px) while the face
    # keeps its size: the size smoother's frame-to-frame change drops with the radius.
    rng = np.random.default_rng(1)
    sizes = np.where(rng.uniform(size=120) < 0.3, 271.0, 226.0)
    window = _boxes([(160.0, 160.0, s) for s in sizes])

    def steps(scale_radius):
        got = [smooth_params(window, i, 8, scale_radius)[2] for i in range(120)]
        return np.abs(np.diff(got)).max()

    assert steps(32) < 0.6 * steps(8)


def test_crop_rotated_matches_crop_square_and_undoes_a_rotation():
    rng = np.random.default_rng(0)
    frame = cv2.resize(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8), (400, 300),
                       interpolation=cv2.INTER_CUBIC)  # smooth, high-contrast texture
    assert np.array_equal(crop_rotated(frame, 200, 150, 120, 0.0, 60),
                          crop_square(frame, 200, 150, 120, 60))
    # Rotate the frame by 20 degrees about (200, 150); cutting the rotated square with the
    # same roll gives back the upright crop (interior compared: the borders interpolate).
    angle = np.radians(20)
    m = cv2.getRotationMatrix2D((200, 150), -20, 1.0)  # OpenCV: positive = anticlockwise
    rolled = cv2.warpAffine(frame, m, (400, 300), flags=cv2.INTER_LINEAR)
    for side, size in ((120, 60), (60, 120)):  # the downscaling and the upscaling paths
        upright = crop_square(frame, 200, 150, side, size).astype(float)
        undone = crop_rotated(rolled, 200, 150, side, angle, size).astype(float)
        inner = slice(size // 8, -size // 8)
        assert np.abs(undone[inner, inner] - upright[inner, inner]).mean() < 3.0
        wrong = crop_rotated(rolled, 200, 150, side, -angle, size).astype(float)
        assert np.abs(wrong[inner, inner] - upright[inner, inner]).mean() > 30.0
        # Both paths agree with crop_square on where pixels are: a half-pixel shift of the
        # upright crop already differs by ~6 on this texture; resampling alone by < 2.5.
        near_zero = crop_rotated(frame, 200, 150, side, 1e-9, size).astype(float)
        assert np.abs(near_zero[inner, inner] - upright[inner, inner]).mean() < 2.5


def test_align_falls_back_without_the_landmark_package(monkeypatch, shared_data, tmp_path):
    path = _write_blank_video(tmp_path / "blank.avi")
    had_model, before = resolve_align("auto") == "landmarks", cache_folder(path, FAST)
    monkeypatch.setitem(sys.modules, "face_recognition_models", None)  # import fails
    assert five_point_model_path() is None
    assert resolve_align("auto") == "off" and resolve_align("off") == "off"
    with pytest.raises(ValueError, match=re.escape("pip install meldae-studio[landmarks]")):
        resolve_align("landmarks")
    with pytest.raises(ValueError, match="landmarks"):
        list(face_frames(iter([]), (96, 64), FaceSettings(align="landmarks")))
    with pytest.raises(ValueError):
        FaceSettings(align="68-points")
    # "auto" is keyed by what it resolves to: aligned and unaligned crops never mix.
    assert (cache_folder(path, FAST) != before) == had_model
    # Without the package, "auto" crops are exactly the unaligned ones.
    frames = [(i, f) for i, f in VideoReader(shared_data / "video" / "single_face.mp4")
              .iter_frames(0, 6)]
    settings = FaceSettings(crop_size=32, smooth_radius=2, scale_radius=3)
    auto = list(face_frames(iter(frames), (640, 360), settings))
    off = list(face_frames(iter(frames), (640, 360), replace(settings, align="off")))
    assert all(a.face_found for a in auto)
    assert all(np.array_equal(a.crop, o.crop) and a.box == o.box for a, o in zip(auto, off))


def test_eye_geometry_hand_computed():
    # Eyes 50 px apart, level, at y = 100: midpoint (125, 100); the crop square is 2.45 * 50
    # (a detector box) * 1.5 (margin 0.25 per side) wide, centred 25 px below the eyes.
    sim = eyes_to_similarity((100.0, 100.0, 150.0, 100.0))
    assert sim == pytest.approx((125, 100, 50, 0))
    assert aligned_square(sim, 0.25) == pytest.approx((125, 125, 183.75, 0))
    # Rolled by 90 degrees (the right eye below the left): "down" the face points to -x.
    rolled = eyes_to_similarity((100.0, 100.0, 100.0, 150.0))
    assert aligned_square(rolled, 0.0) == pytest.approx((75, 125, 122.5, np.pi / 2))
    box = (0.0, 0.0, 122.5, 122.5)
    assert box_eyes(box) == pytest.approx((36.25, 36.25, 86.25, 36.25))
    assert plausible(box_eyes(box), box)
    assert not plausible((60.0, 60.0, 62.0, 60.0), box)       # 2 px apart
    assert not plausible((60.0, 60.0, 60.0, 110.0), box)      # rolled 90 degrees


needs_landmarks = pytest.mark.skipif(
    resolve_align("auto") != "landmarks",
    reason="dlib's 5-point landmark model is not installed (pip install meldae-studio[landmarks])")


@needs_landmarks
def test_cache_key_follows_the_alignment(tmp_path):
    path = _write_blank_video(tmp_path / "blank.avi")
    aligned = cache_folder(path, replace(FAST, align="landmarks"))
    assert aligned != cache_folder(path, replace(FAST, align="off"))
    assert cache_folder(path, FAST) != cache_folder(path, replace(FAST, align="off"))


def _eye_angle(crop: np.ndarray) -> float:
    """The eye line's angle in an aligned crop (degrees), by the 5-point model."""
    size, face = crop.shape[0], crop.shape[0] / 1.5  # the face box spans side / (1 + 2 margin)
    lo, hi = (size - face) / 2, (size + face) / 2
    lx, ly, rx, ry = EyeLocator()(crop, (lo, lo, hi, hi))
    return float(np.degrees(np.arctan2(ry - ly, rx - lx)))


@needs_landmarks
def test_alignment_removes_a_synthetic_roll(shared_data):
    # One real frame rolled from -12 to +12 degrees over 20 frames about the face.
    frame = np.asarray(VideoReader(shared_data / "video" / "single_face.mp4")[10])
    rolls = np.linspace(-12, 12, 20)
    frames = [(i, cv2.warpAffine(frame, cv2.getRotationMatrix2D((300, 180), -r, 1.0),
                                 (640, 360))) for i, r in enumerate(rolls)]
    eyes = EyeLocator()(frame, FaceDetector("dlib")(frame)[0].box)
    upright = np.degrees(np.arctan2(eyes[3] - eyes[1], eyes[2] - eyes[0]))
    settings = FaceSettings(crop_size=128, detector="dlib")
    aligned = list(face_frames(iter(frames), (640, 360), settings))
    assert all(f.face_found for f in aligned)
    angles = np.array([_eye_angle(f.crop) for f in aligned])
    assert np.abs(angles).max() < 2.5 and angles.std() < 1.0
    # Unaligned, the crops keep the roll: their eye line turns with it.
    plain = list(face_frames(iter(frames), (640, 360), replace(settings, align="off")))
    turned = np.array([_eye_angle(f.crop) for f in plain])
    assert turned == pytest.approx(rolls + upright, abs=2.5)
    # Scale is fixed by the eyes: the crop side tracks the inter-ocular distance.
    sides = np.array([f.box[2] - f.box[0] for f in aligned])
    assert sides.std() / sides.mean() < 0.02
