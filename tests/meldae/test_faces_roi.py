"""Searching for the face only near where it was tracked (FaceSettings.roi_face_px)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from meldae.faces import FaceSettings, face_frames
from meldae.faces.detect import Detection, FaceDetector
from meldae.faces.track import FaceTracker, iou
from meldae.video import VideoReader


def test_settings_reject_a_region_face_too_small_to_detect():
    assert FaceSettings(roi_face_px=0).roi_face_px == 0
    assert FaceSettings().roi_face_px == 112
    with pytest.raises(ValueError, match="roi_face_px"):
        FaceSettings(roi_face_px=40)


def test_tracker_recent_box_only_while_the_track_is_fresh():
    tracker = FaceTracker((640, 360))
    assert tracker.recent_box(0) is None
    box = (100.0, 100.0, 200.0, 200.0)
    nxt = [Detection(box, 1.0)]
    assert tracker.update(5, [Detection(box, 1.0)], nxt) == box
    assert tracker.recent_box(6) == box and tracker.recent_box(8) == box
    assert tracker.recent_box(9) is None          # more than 3 frames ago: search everywhere
    assert tracker.recent_box(9, within=4) == box


@pytest.mark.parametrize("detector", ["dlib", "haar"])
def test_near_finds_the_same_face_as_a_whole_frame_search(shared_data, detector):
    if detector == "dlib":
        pytest.importorskip("dlib")
    frame = np.asarray(VideoReader(shared_data / "video" / "WolfgangLanger_Pexels.mp4")[100])
    det = FaceDetector(detector)
    whole = det(frame)
    assert len(whole) == 1
    near = det.near(frame, whole[0].box, 112)
    assert len(near) == 1
    assert iou(near[0].box, whole[0].box) > 0.7          # source pixels, not region pixels
    far = (0.0, 0.0, 40.0, 40.0)                           # a box away from the face
    assert det.near(frame, far, 112) == []


def test_near_on_empty_clipped_or_degenerate_regions_finds_nothing():
    frame = np.zeros((480, 800, 3), np.uint8)
    det = FaceDetector("haar")
    assert det.near(frame, (300.0, 100.0, 500.0, 300.0), 112) == []
    assert det.near(frame, (-150.0, -150.0, 10.0, 10.0), 112) == []   # clipped by the corner
    assert det.near(frame, (799.0, 479.0, 799.0, 479.0), 112) == []   # a zero-size box


def test_pipeline_with_and_without_regions_agrees_on_a_real_video(shared_data):
    path = shared_data / "video" / "single_face.mp4"
    reader = VideoReader(path)
    frames = list(reader.iter_frames())
    base = FaceSettings(crop_size=32)
    with_roi = list(face_frames(iter(frames), reader.size, base))
    without = list(face_frames(iter(frames), reader.size, replace(base, roi_face_px=0)))
    found_roi = np.array([f.face_found for f in with_roi])
    found_all = np.array([f.face_found for f in without])
    assert found_roi.mean() >= 0.95 and found_all.mean() >= 0.95
    ious = [iou(a.box, b.box) for a, b in zip(with_roi, without)
            if a.face_found and b.face_found]
    # The crops show the same face region. Without landmark alignment the boxes come from
    # the detector at two scales (whole frame vs. the region's ~112 px face), whose box
    # sizes differ by up to a pyramid step: IoU 0.79 measured; aligned crops agree > 0.9.
    assert min(ious) > 0.7


def test_region_search_is_used_while_tracking_and_whole_frame_after_a_loss():
    """Counts which search each frame got: whole frame until a track exists and again
    right after the face is lost."""
    calls: list[str] = []
    face = (100.0, 100.0, 200.0, 200.0)

    class Recording:
        def __call__(self, rgb):
            calls.append("whole")
            return [] if int(rgb[0, 0, 0]) == 1 else [Detection(face, 1.0)]

        def near(self, rgb, box, face_px):
            calls.append("near")
            assert box == face and face_px == 112
            return [] if int(rgb[0, 0, 0]) == 1 else [Detection(face, 1.0)]

    frames = []
    for i in range(12):
        image = np.zeros((360, 640, 3), np.uint8)
        image[0, 0, 0] = 1 if 4 <= i <= 8 else 0     # frames 4-8: no face
        frames.append((i, image))
    settings = FaceSettings(crop_size=16, smooth_radius=0, align="off")
    out = list(face_frames(iter(frames), (640, 360), settings, detector=Recording()))
    assert [f.face_found for f in out] == [True] * 4 + [False] * 5 + [True] * 3
    # The tracker runs one frame behind the detector. Frames 0, 1: no track yet; 2-6: near
    # the face (last seen in frame 3 at most 3 frames before); 7-10: whole frame (the face
    # of frame 9 joins the track only once frame 10 is detected); 11: near again.
    assert calls == ["whole"] * 2 + ["near"] * 5 + ["whole"] * 4 + ["near"]
