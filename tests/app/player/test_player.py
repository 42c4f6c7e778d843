"""Player and decode worker: frame-exact seeks, newest-request-wins, transport, counters."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from PySide6.QtGui import QImage

from app.player.decode_worker import DecodeWorker, rgb_to_qimage
from app.player.player_widget import PlaybackClock, PlayerWidget, format_time


def qimage_to_rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * height)
    rows = data.reshape(height, image.bytesPerLine())[:, :3 * width]
    return rows.reshape(height, width, 3).copy()   # the QImage's memory goes away


@pytest.fixture(scope="module")
def sequential_frames(clip_video):
    from meldae.video import VideoReader

    with VideoReader(clip_video) as reader:
        return np.stack(list(reader)), reader.fps


def test_format_time_hand_values():
    assert format_time(0) == "00:00:00.000"
    assert format_time(61_005) == "00:01:01.005"
    assert format_time(3_723_456) == "01:02:03.456"


def test_rgb_round_trip_through_qimage():
    frame = np.random.default_rng(0).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(qimage_to_rgb(rgb_to_qimage(frame)), frame)


def test_playback_clock_targets_by_rate(monkeypatch):
    now = [100.0]
    monkeypatch.setattr("app.player.clock.time.monotonic", lambda: now[0])
    clock = PlaybackClock(10, Fraction(30), 0.5)
    now[0] = 102.0          # 2 s at 15 frames/s
    assert clock.target() == 40


def test_worker_seeks_give_the_sequential_frames(qtbot, clip_video, sequential_frames):
    frames, _ = sequential_frames
    worker = DecodeWorker(clip_video)
    got = {}
    worker.frame_decoded.connect(lambda i, img: got.__setitem__(i, qimage_to_rgb(img).copy()))
    with qtbot.waitSignal(worker.opened, timeout=10000) as opened:
        worker.start()
    assert opened.args[0] == len(frames)
    try:
        for idx in (17, 3, 40, 41):
            with qtbot.waitSignal(worker.frame_decoded, timeout=10000):
                worker.request(idx)
            np.testing.assert_array_equal(got[idx], frames[idx])
    finally:
        worker.shutdown()


def test_worker_serves_only_the_newest_request(qtbot, clip_video, sequential_frames):
    frames, _ = sequential_frames
    worker = DecodeWorker(clip_video)
    served = []
    worker.frame_decoded.connect(lambda i, _img: served.append(i))
    with qtbot.waitSignal(worker.opened, timeout=10000):
        worker.start()
    try:
        for idx in range(len(frames)):      # a fast scrub: every frame requested at once
            worker.request(idx)
        qtbot.waitUntil(lambda: bool(served) and served[-1] == len(frames) - 1, timeout=10000)
        assert served == sorted(served)     # never an older frame after a newer one
        assert len(served) < len(frames)    # stale requests were dropped
        assert not worker.busy
    finally:
        worker.shutdown()


@pytest.fixture
def player(qtbot, clip_video):
    widget = PlayerWidget()
    qtbot.addWidget(widget)
    widget.resize(640, 480)
    widget.show()
    with qtbot.waitSignal(widget.video_opened, timeout=10000):
        widget.open_video(clip_video)
    qtbot.waitUntil(lambda: widget.shown_frame == 0, timeout=10000)
    yield widget
    widget.shutdown()


def test_seek_and_steps_show_exact_frames(qtbot, player, sequential_frames):
    frames, fps = sequential_frames
    n = len(frames)
    player.seek(20)
    qtbot.waitUntil(lambda: player.shown_frame == 20, timeout=10000)
    np.testing.assert_array_equal(qimage_to_rgb(player.view.image), frames[20])
    player.step(10)
    player.step(-1)
    assert player.current_frame == 29
    qtbot.waitUntil(lambda: player.shown_frame == 29, timeout=10000)
    assert player.frame_label.text() == f"frame 29 / {n}"
    assert player.time_label.text().startswith("00:00:00.967 / ")   # 29/30 s = 966.67 ms
    player.seek(10_000)
    assert player.current_frame == n - 1
    player.seek(-5)
    assert player.current_frame == 0


def test_playback_advances_and_stops_at_the_end(qtbot, player, sequential_frames):
    frames, _ = sequential_frames
    player.set_speed(2.0)
    assert player.speed == 2.0 and player.speed_combo.currentText() == "2×"
    player.seek(len(frames) - 20)
    with qtbot.waitSignal(player.playing_changed) as started:
        player.play()
    assert started.args == [True]
    qtbot.waitUntil(lambda: not player.is_playing, timeout=10000)
    assert player.current_frame == len(frames) - 1
    player.set_speed(5.0)
    assert player.speed == 2.0          # clamped to the 2× maximum
    player.set_speed(0.01)
    assert player.speed == pytest.approx(0.1)


def test_face_box_follows_the_shown_frame(qtbot, player, sequential_frames):
    frames, _ = sequential_frames
    boxes = np.full((len(frames), 4), np.nan, np.float32)
    boxes[5] = (10, 20, 60, 80)
    player.set_face_boxes(boxes)
    player.seek(5)
    qtbot.waitUntil(lambda: player.shown_frame == 5, timeout=10000)
    assert player.view.face_box == (10.0, 20.0, 60.0, 80.0)
    rect = player.view.inset_source_rect()   # squared around the box centre
    assert (rect.width(), rect.height()) == (60, 60)
    player.seek(6)
    qtbot.waitUntil(lambda: player.shown_frame == 6, timeout=10000)
    assert player.view.face_box is None


def test_corrupt_video_reports_failure(qtbot, corrupt_video):
    widget = PlayerWidget()
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.video_failed, timeout=10000) as failed:
        widget.open_video(corrupt_video)
    assert "broken.mp4" in failed.args[0]
    assert widget.frame_count == 0 and not widget.play_action.isEnabled()
    assert "disabled" in widget.play_button.toolTip()
    widget.shutdown()
