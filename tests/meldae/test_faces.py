"""meldae.faces: tracking, smoothing, crops, the crop cache, and the pipeline on real videos."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import meldae.faces as faces
from meldae.faces import FaceSettings, cache_folder, crop_square, iter_face_crops, load_face_crops
from meldae.faces.align import (EyeLocator, aligned_square, box_eyes, eyes_to_similarity,
                               five_point_model_path, plausible, resolve_align)
from meldae.faces.crop import crop_rotated, face_frames
from meldae.faces.detect import Detection, FaceDetector, dlib_available
from meldae.faces.track import (FaceTracker, TrackedBox, iou, salience, smooth_params,
                                smooth_series)
from meldae.video import VideoError, VideoReader

FAST = FaceSettings(crop_size=32)


def _det(x0, y0, x1, y1, score=1.0) -> Detection:
    return Detection((float(x0), float(y0), float(x1), float(y1)), score)


def test_iou_and_salience_hand_computed():
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    # A 40 px face at the centre of 200x100 scores 40; offset by 50 px (a quarter width): 30.
    assert salience((80, 30, 120, 70), (200, 100)) == pytest.approx(40.0)
    assert salience((130, 30, 170, 70), (200, 100)) == pytest.approx(30.0)


def test_tracker_starts_on_confirmed_salient_face_and_keeps_it():
    tracker = FaceTracker((200, 100), min_iou=0.3, reacquire_after=3)
    big, small = _det(80, 20, 140, 80), _det(10, 10, 40, 40)
    # A one-frame false positive (not in the next frame) starts nothing: the frame is flagged.
    assert tracker.update(0, [_det(150, 5, 190, 45)], [big]) is None
    assert tracker.update(1, [small, big], [small, big]) == big.box
    # The other person grows larger, but the track follows IoU continuity.
    moved = _det(84, 22, 144, 82)
    assert tracker.update(2, [_det(0, 0, 100, 100), moved], None) == moved.box
    # The subject missed: flagged, never guessed, even though another face is visible.
    assert tracker.update(3, [small], [small]) is None
    assert tracker.update(4, [moved], [moved]) == moved.box
    assert tracker.track_id == 0
    # After more than reacquire_after frames without the subject, any face may start a track.
    for i in range(5, 8):
        assert tracker.update(i, [small], [small]) is None
    assert tracker.update(8, [small], [small]) == small.box
    assert tracker.track_id == 1


def _boxes(params, track_id=0):
    return [TrackedBox(i, (cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2), track_id)
            for i, (cx, cy, s) in enumerate(params)]


def test_smoother_has_no_lag_on_linear_motion_even_at_edges():
    window = _boxes([(10 + 3 * i, 50 - 2 * i, 40 + i) for i in range(7)])
    for centre in range(7):  # one-sided windows at both ends included
        expected = (10 + 3 * centre, 50 - 2 * centre, 40 + centre)
        assert smooth_params(window, centre, 3) == pytest.approx(expected)


def test_smoother_reduces_jitter_and_respects_tracks_and_gaps():
    rng = np.random.default_rng(0)
    noisy = [(100 + rng.normal(0, 2), 100 + rng.normal(0, 2), 50) for _ in range(40)]
    window = _boxes(noisy)
    raw = np.array([p[0] for p in noisy])
    smoothed = np.array([smooth_params(window[max(0, i - 3):i + 4], min(i, 3), 3)[0]
                         for i in range(40)])
    assert np.std(np.diff(smoothed)) < 0.5 * np.std(np.diff(raw))
    # Other tracks and frames without a face do not take part.
    mixed = _boxes([(0, 0, 10)] * 3) + [TrackedBox(3, (90, 90, 110, 110), 1)]
    assert smooth_params(mixed, 3, 3) == pytest.approx((100, 100, 20))
    assert smooth_params([TrackedBox(0, None, 0)], 0, 3) is None


def test_crop_square_hand_computed():
    frame = np.zeros((40, 60, 3), np.uint8)
    frame[10:30, 20:40] = 200  # a 20x20 block
    frame[10:20, 20:30, 0] = 50
    # Exactly the block, downscaled 2x: INTER_AREA averages 2x2 pixels.
    crop = crop_square(frame, 30, 20, 20, 10)
    assert crop.shape == (10, 10, 3) and crop.dtype == np.uint8
    assert crop[0, 0].tolist() == [50, 200, 200] and crop[9, 9].tolist() == [200, 200, 200]
    # Same size: identity (upscale path, scale 1).
    assert np.array_equal(crop_square(frame, 30, 20, 20, 20), frame[10:30, 20:40])
    # Outside the frame is black: a square centred on the top-left corner.
    corner = crop_square(frame, 0, 0, 20, 20)
    assert not corner[:10].any() and not corner[:, :10].any()
    with pytest.raises(ValueError):
        crop_square(frame, 0, 0, 0, 10)


def _write_blank_video(path: Path, n: int = 12) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for i in range(n):
            img = np.full((64, 96, 3), 20 * (i % 10), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_pipeline_memory_is_bounded(tmp_path):
    path = _write_blank_video(tmp_path / "blank.avi", 30)
    reader = VideoReader(path)
    pulled = []

    def counting():
        for item in reader.iter_frames():
            pulled.append(item[0])
            yield item

    settings = FaceSettings(crop_size=16, smooth_radius=3, scale_radius=5, median_radius=1,
                            detector="haar")
    assert settings.lookahead == 6  # max(3, 5) + 1
    assert FaceSettings(smooth_radius=0).lookahead == 0
    for face in face_frames(counting(), reader.size, settings):
        assert len(pulled) - face.frame_idx <= settings.lookahead + 2
        assert not face.face_found and face.box is None and not face.crop.any()
    assert len(pulled) == 30


def test_cache_second_pass_decodes_nothing(tmp_path, monkeypatch):
    path = _write_blank_video(tmp_path / "blank.avi")
    progress = []
    crops = load_face_crops(path, FAST, progress=lambda done, total: progress.append((done, total)))
    assert progress[-1] == (12, 12) and len(progress) == 12
    assert crops.crops.shape == (12, 32, 32, 3) and crops.fps == Fraction(25)
    assert not crops.face_found.any() and np.isnan(crops.boxes).all()
    assert not crops.crops.flags.writeable
    folder = cache_folder(path, FAST)
    assert folder.parent.parent == Path(faces.default_cache_dir())
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]  # no temp left
    monkeypatch.setattr(faces, "VideoReader", lambda *a: pytest.fail("decoded a cached video"))
    again = list(iter_face_crops(path, FAST))
    assert [f.frame_idx for f in again] == list(range(12))
    assert load_face_crops(path, FAST).crops.shape == (12, 32, 32, 3)


def test_cache_key_follows_content_and_settings_not_name(tmp_path):
    path = _write_blank_video(tmp_path / "a.avi")
    copy = tmp_path / "renamed.avi"
    shutil.copy(path, copy)
    assert cache_folder(path, FAST) == cache_folder(copy, FAST)
    assert cache_folder(path, FAST) != cache_folder(path, FaceSettings(crop_size=33))
    assert cache_folder(path, FAST) != cache_folder(path, FaceSettings(crop_size=32, margin=0.3))
    other = _write_blank_video(tmp_path / "b.avi", n=13)
    assert cache_folder(path, FAST) != cache_folder(other, FAST)


def test_stopping_early_leaves_no_cache_entry(tmp_path):
    path = _write_blank_video(tmp_path / "blank.avi")
    stream = iter_face_crops(path, FAST)
    next(stream)
    stream.close()
    crops_root = cache_folder(path, FAST).parent
    assert list(crops_root.iterdir()) == []


def test_bad_video_raises_video_error(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("hello")
    with pytest.raises(VideoError, match="notes.mp4"):
        load_face_crops(bad, FAST)
    with pytest.raises(ValueError):
        FaceSettings(detector="mtcnn")


def test_faces_does_not_import_torch():
    code = "import sys, meldae.faces; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("detector", ["haar", "dlib"])
def test_detectors_find_the_face_in_a_real_frame(shared_data, detector):
    if detector == "dlib" and not dlib_available():
        pytest.skip("dlib not installed")
    frame = VideoReader(shared_data / "video" / "single_face.mp4")[10]
    found = FaceDetector(detector)(frame)
    assert len(found) == 1
    x0, y0, x1, y1 = found[0].box
    assert 100 < x1 - x0 < 300 and 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 360


def test_real_videos_face_found(shared_data):
    single = load_face_crops(shared_data / "video" / "single_face.mp4", FaceSettings(crop_size=64))
    assert single.face_found.mean() >= 0.95
    found = single.boxes[single.face_found]
    assert (found[:, 2] - found[:, 0] > 150).all()  # crops of a ~180 px face plus margin
    none = load_face_crops(shared_data / "video" / "no_face.mp4", FaceSettings(crop_size=64))
    assert len(none.face_found) == 95 and not none.face_found.any()


@pytest.mark.slow
def test_wolfgang_face_in_every_frame(shared_data):
    crops = load_face_crops(shared_data / "video" / "WolfgangLanger_Pexels.mp4",
                            FaceSettings(crop_size=64))
    assert crops.face_found.mean() >= 0.95


def _two_people_video(shared_data: Path, path: Path) -> Path:
    """10 frames, 1280x360: the subject at left; another person at right who grows larger."""
    src = VideoReader(shared_data / "video" / "single_face.mp4")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1280, 360, "yuv420p"
        for i in range(10):
            canvas = np.zeros((360, 1280, 3), np.uint8)
            canvas[:, :640] = src[20 + i]
            scale = 0.8 if i < 5 else 1.2
            other = cv2.resize(np.asarray(src[50 + i]), None, fx=scale, fy=scale)
            h, w = min(360, other.shape[0]), min(640, other.shape[1])
            canvas[:h, 640:640 + w] = other[:h, :w]
            for packet in stream.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_two_people_keep_one_track(shared_data, tmp_path):
    path = _two_people_video(shared_data, tmp_path / "two.mp4")
    settings = FaceSettings(crop_size=32, detect_max_width=1280)
    reader = VideoReader(path)
    detector = FaceDetector(settings.detector, settings.detect_max_width)
    found = detector(reader[7])
    assert len(found) == 2  # both faces are found, the other person's is the larger ...
    largest = max(found, key=lambda d: d.box[2] - d.box[0])
    assert largest.box[0] > 640
    results = list(iter_face_crops(path, settings))
    assert all(f.face_found for f in results)
    centres = [(f.box[0] + f.box[2]) / 2 for f in results]
    assert all(c < 640 for c in centres)  # ... but the subject's track is kept throughout


def test_detection_on_large_frames_maps_back_to_source_pixels(shared_data):
    frame = np.asarray(VideoReader(shared_data / "video" / "single_face.mp4")[10])
    small = FaceDetector("auto")(frame)[0].box
    large = FaceDetector("auto")(cv2.resize(frame, (2560, 1440)))[0].box  # detected at 640
    assert large == pytest.approx(tuple(4 * v for v in small), abs=8)


def test_auto_falls_back_to_haar_without_dlib(monkeypatch, tmp_path):
    from meldae.faces.detect import resolve_detector

    path = _write_blank_video(tmp_path / "blank.avi")
    had_dlib, before = dlib_available(), cache_folder(path, FAST)
    monkeypatch.setitem(sys.modules, "dlib", None)  # makes `import dlib` raise ImportError
    assert resolve_detector("auto") == "haar"
    assert FaceDetector("auto").name == "haar"
    with pytest.raises(ValueError, match="dlib"):
        FaceDetector("dlib")
    # "auto" is keyed by the detector it resolves to: dlib and Haar crops never mix.
    assert (cache_folder(path, FAST) != before) == had_dlib


# --- stabilisation: separate radii, median prefilter, landmark alignment -------------------

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
