"""Scrubbing: a stand-in at once then the exact frame, stepping from the cache, a bounded
cache, and the scrub proxy (used for previews; its build stops when the clip closes)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from app.player import scrub_worker
from app.player.player_widget import PlayerWidget
from meldae.paths import cache_dir
from meldae.video import VideoReader

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # video_samples (importlib mode)
from video_samples import write_long_gop  # noqa: E402

N_FRAMES, KEYINT = 150, 60
EXACT_DELAY_S = 0.4   # an exact decode made as slow as a long-GOP 1080p seek


@pytest.fixture(scope="module")
def long_gop_video(tmp_path_factory) -> Path:
    """150 frames of H.264 (B-frames), a keyframe every 60 frames: a long-GOP clip."""
    return write_long_gop(tmp_path_factory.mktemp("scrub") / "long_gop.mp4", N_FRAMES, KEYINT,
                          (128, 96), bar=4)


@pytest.fixture(scope="module")
def frames(long_gop_video) -> list[np.ndarray]:
    with av.open(str(long_gop_video)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def qimage_to_rgb(image) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * height)
    return data.reshape(height, image.bytesPerLine())[:, :3 * width].reshape(
        height, width, 3).copy()


@pytest.fixture
def slow_exact(monkeypatch):
    """Make the DecodeWorker's exact reads slow (the previews' reads stay fast)."""
    original = VideoReader.read

    def read(self, frame_idx, interrupt=None, fit=None):
        if fit is None and interrupt is not None:   # only the DecodeWorker passes interrupt
            time.sleep(EXACT_DELAY_S)
        return original(self, frame_idx, interrupt, fit)

    monkeypatch.setattr(VideoReader, "read", read)


def open_player(qtbot, video: Path, use_proxy: bool | None = False,
                cache_budget: int | None = None) -> PlayerWidget:
    """A shown player with ``video`` open on frame 0 (``use_proxy`` None: the default)."""
    player = PlayerWidget()
    qtbot.addWidget(player)
    if use_proxy is not None:
        player.scrubber.use_proxy = use_proxy
    if cache_budget is not None:
        player.scrubber.cache_budget_bytes = cache_budget
    player.resize(480, 360)
    player.show()
    with qtbot.waitSignal(player.video_opened, timeout=10000):
        player.open_video(video)
    qtbot.waitUntil(lambda: player.shown_frame == 0, timeout=10000)
    return player


def test_drag_shows_a_stand_in_at_once_then_the_exact_frame(qtbot, long_gop_video, frames,
                                                            slow_exact):
    player = open_player(qtbot, long_gop_video)
    try:
        previews, exact = [], []
        player.preview_shown.connect(lambda *args: previews.append((time.monotonic(), *args)))
        player.frame_shown.connect(lambda i: exact.append((time.monotonic(), i)))
        t0 = time.monotonic()
        for frame_idx in (80, 90, 100, 110):      # a drag: requests faster than decoding
            player.seek(frame_idx)
            qtbot.wait(16)
        qtbot.waitUntil(lambda: any(p[1] == 110 for p in previews), timeout=5000)
        when, _, shown, source = next(p for p in previews if p[1] == 110)
        assert (shown, source) == (120, "keyframe")    # the nearest keyframe
        assert player.view.note == "≈ frame 120" and player.shown_frame != 110
        assert when - t0 < EXACT_DELAY_S              # before any exact decode could finish
        qtbot.waitUntil(lambda: player.shown_frame == 110, timeout=5000)   # the drag rests
        rest = [t for t, i in exact if i == 110][0]
        assert rest - t0 < 0.5 + 4 * EXACT_DELAY_S    # not after every stale exact decode
        assert player.view.note == ""
        np.testing.assert_array_equal(qimage_to_rgb(player.view.image), frames[110])
        assert not [i for _, i in exact if i in (80, 90, 100)]   # stale frames never shown
    finally:
        player.shutdown()


def test_stepping_both_ways_is_served_from_the_cache(qtbot, long_gop_video, frames):
    player = open_player(qtbot, long_gop_video)
    try:
        player.seek(100)
        qtbot.waitUntil(lambda: player.shown_frame == 100, timeout=5000)
        cache = player.scrubber.cache
        qtbot.waitUntil(lambda: all(i in cache for i in range(95, 106)), timeout=10000)
        hits = cache.hits
        for step, expected in ((1, 101), (1, 102), (-1, 101), (-1, 100), (-1, 99), (-1, 98)):
            player.step(step)
            # Shown synchronously from the cache: no decoder round trip, no event loop.
            assert player.shown_frame == expected
            np.testing.assert_array_equal(qimage_to_rgb(player.view.image), frames[expected])
        assert cache.hits - hits >= 6   # (the worker counts its own look-ups too)
    finally:
        player.shutdown()


def test_the_frame_cache_stays_within_its_budget(qtbot, long_gop_video):
    frame_bytes = 128 * 96 * 3
    player = open_player(qtbot, long_gop_video, cache_budget=12 * frame_bytes)
    try:
        cache = player.scrubber.cache
        for frame_idx in (30, 140, 70, 10, 75):
            player.seek(frame_idx)
            qtbot.waitUntil(lambda: player.shown_frame == frame_idx, timeout=5000)
            qtbot.wait(100)
            assert cache.nbytes <= cache.budget_bytes == 12 * frame_bytes
        # 3 frames a side are prefetched (a quarter of the budget each); to make room,
        # the frames farthest from the playhead went first (those around 140 and 10).
        qtbot.waitUntil(lambda: all(i in cache for i in range(72, 79)), timeout=5000)
        kept = cache.frame_indices()
        assert len(kept) <= 12 and not [i for i in kept if i >= 130 or i <= 15]
    finally:
        player.shutdown()


def test_proxy_is_built_in_the_background_and_serves_the_previews(qtbot, long_gop_video,
                                                                   frames, slow_exact):
    player = open_player(qtbot, long_gop_video, use_proxy=True)
    try:
        qtbot.waitUntil(lambda: player.scrubber.proxy_worker is not None, timeout=5000)
        qtbot.waitUntil(lambda: player.scrubber.proxy_worker.isFinished(), timeout=20000)
        assert len(list((cache_dir() / "proxies").glob("*.mp4"))) == 1
        with qtbot.waitSignal(player.scrubber.proxy_ready, timeout=5000):
            player.seek(30)            # the proxy is attached before the next preview
        with qtbot.waitSignal(player.preview_shown, timeout=5000) as shown:
            player.seek(75)
        assert shown.args == [75, 75, "proxy"]          # the right frame, not a stand-in
        image = qimage_to_rgb(player.view.image)
        errors = [np.abs(image.astype(int) - f).mean() for f in frames]
        assert int(np.argmin(errors)) == 75
        qtbot.waitUntil(lambda: player.shown_frame == 75, timeout=5000)
        np.testing.assert_array_equal(qimage_to_rgb(player.view.image), frames[75])
    finally:
        player.shutdown()


def test_closing_the_clip_stops_the_proxy_build_cleanly(qtbot, long_gop_video, monkeypatch):
    real = scrub_worker.iter_build_proxy

    def slow_build(video, out, cancelled):   # 20 ms a frame: still running at close
        yield from real(video, out, cancelled=lambda: time.sleep(0.02) or cancelled())

    monkeypatch.setattr(scrub_worker, "iter_build_proxy", slow_build)
    player = open_player(qtbot, long_gop_video, use_proxy=True)
    # polled, not waitSignal: pytest-qt's disconnect of a signal the proxy thread is emitting
    # deadlocked twice in PySide (GC holding the GIL in the GUI thread)
    qtbot.waitUntil(lambda: player.scrubber.proxy_worker is not None
                    and player.scrubber.proxy_worker.isRunning(), timeout=10000)
    worker = player.scrubber.proxy_worker
    assert worker.isRunning()
    player.close_video()                          # returns at once; the build stops
    qtbot.waitUntil(worker.isFinished, timeout=5000)
    assert not player.scrubber.proxy_building
    assert not list((cache_dir() / "proxies").iterdir())   # no partial or final proxy
    player.shutdown()


def test_proxies_can_be_switched_off_from_the_environment(qtbot, long_gop_video, monkeypatch):
    monkeypatch.setenv("MELDAE_SCRUB_PROXY", "0")
    player = open_player(qtbot, long_gop_video, use_proxy=None)
    try:
        assert player.scrubber.use_proxy is False
        player.seek(100)
        qtbot.waitUntil(lambda: player.shown_frame == 100, timeout=5000)
        assert player.scrubber.proxy_worker is None
        assert not (cache_dir() / "proxies").exists()
    finally:
        player.shutdown()


def test_dragging_the_timeline_previews_then_rests_on_the_exact_frame(
        qtbot, window, long_gop_video, frames, slow_exact, drag, to_view):
    with qtbot.waitSignal(window.clip_opened, timeout=60000):
        window.open_path(long_gop_video)
    player, timeline = window.player, window.timeline
    qtbot.waitUntil(lambda: player.shown_frame == 0, timeout=10000)
    previews = []
    player.preview_shown.connect(lambda *args: previews.append(args))
    drag(timeline.plot_widget.viewport(), to_view(timeline, 20.5, 0.2),
         to_view(timeline, 100.5, 0.2), steps=8)
    assert player.current_frame == 100 and timeline.playhead_frame == 100
    assert previews and all(p[2] in ("keyframe", "cache", "proxy") for p in previews)
    qtbot.waitUntil(lambda: player.shown_frame == 100, timeout=10000)   # the rest
    np.testing.assert_array_equal(qimage_to_rgb(player.view.image), frames[100])
