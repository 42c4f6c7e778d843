"""meldae.faces: tracking, smoothing, crops, the crop cache, and the pipeline on real videos."""

from __future__ import annotations

import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import meldae.faces as faces
from meldae.faces import FaceSettings, cache_folder, crop_square, iter_face_crops, load_face_crops
from meldae.faces.crop import face_frames
from meldae.faces.detect import Detection, FaceDetector, dlib_available
from meldae.faces.track import FaceTracker, TrackedBox, iou, salience, smooth_params
from meldae.video import VideoError, VideoReader

sys.path.insert(0, str(Path(__file__).resolve().parent))   # face_samples (importlib mode)
from face_samples import boxes as _boxes, write_blank_video as _write_blank_video  # noqa: E402

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

