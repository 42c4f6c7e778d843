"""Scrubbing support in meldae.video: seeks that land on the keyframe, interruptible reads,
the frame cache around the playhead, previews and the scrub proxy."""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np
import pytest

from meldae.video import ReadInterrupted, VideoReader
from meldae.video.frame_cache import FrameCache
from meldae.video.proxy import (PROXY_GOP, iter_build_proxy, needs_proxy, open_proxy,
                                proxy_path)
from meldae.video.scrub import PREVIEW_FIT, ScrubPreviewer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # video_samples (importlib mode)
from video_samples import write_long_gop  # noqa: E402

N_FRAMES, KEYINT = 90, 30


@pytest.fixture(scope="module")
def long_gop(tmp_path_factory) -> Path:
    """90 frames of H.264 with B-frames and a keyframe every 30 frames (MP4)."""
    return write_long_gop(tmp_path_factory.mktemp("scrub") / "long_gop.mp4", N_FRAMES, KEYINT,
                          (96, 64), ":bframes=3:b-adapt=0")


@pytest.fixture(scope="module")
def sequential(long_gop) -> list[np.ndarray]:
    with av.open(str(long_gop)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_keyframes_and_a_seek_that_lands_on_its_keyframe(long_gop, sequential):
    reader = VideoReader(long_gop, cache_bytes=1)
    assert reader.keyframes == [0, 30, 60]
    assert np.array_equal(reader[65], sequential[65])
    # Decoding started at keyframe 60, not one GOP earlier: the cursor's recent frames are
    # frame 0 (read on open) and the frames from 60 on.
    assert sorted(reader._cursor.recent) == [0, 60, 61, 62, 63, 64, 65]


def test_interrupted_read_leaves_the_reader_exact(long_gop, sequential):
    reader = VideoReader(long_gop, cache_bytes=1)
    asked = []
    with pytest.raises(ReadInterrupted) as err:
        reader.read(50, interrupt=lambda: asked.append(1) or len(asked) >= 3)
    assert err.value.frame_idx == 50 and len(asked) == 3
    for i in (50, 51, 12, 89):
        assert np.array_equal(reader.read(i, interrupt=lambda: False), sequential[i])


def test_fit_scales_down_keeping_the_aspect(long_gop):
    reader = VideoReader(long_gop)
    small = reader.read(10, fit=(48, 48))
    assert small.shape == (32, 48, 3)
    assert reader.read(10, fit=(1000, 1000)).shape == (64, 96, 3)   # never scaled up
    frames = list(reader.iter_frames(0, 3, fit=(48, 48)))
    assert [i for i, _ in frames] == [0, 1, 2] and frames[0][1].shape == (32, 48, 3)


def _frame(value: int, nbytes: int = 1000) -> np.ndarray:
    return np.full(nbytes, value % 256, np.uint8)


def test_frame_cache_stays_within_its_budget_around_the_playhead():
    cache = FrameCache(budget_bytes=5000)
    cache.set_center(100)
    for i in range(90, 111):
        cache.put(i, _frame(i))
        assert cache.nbytes <= 5000
    assert len(cache) == 5
    # Evicted the frames farthest from frame 100; kept the closest.
    assert cache.frame_indices() == [98, 99, 100, 101, 102]
    cache.set_center(200)
    cache.put(200, _frame(200))
    assert 200 in cache and cache.nbytes <= 5000 and 98 not in cache


def test_frame_cache_lookup_nearest_and_counters():
    cache = FrameCache(budget_bytes=10_000)
    assert cache.nearest(5) is None
    for i in (10, 20, 40):
        cache.put(i, _frame(i))
    assert cache.get(20)[0] == 20 and cache.get(21) is None
    assert (cache.hits, cache.misses) == (1, 1)
    assert cache.nearest(14)[0] == 10 and cache.nearest(15)[0] == 10   # tie: the earlier
    assert cache.nearest(31)[0] == 40 and cache.nearest(99)[0] == 40
    cache.put(20, _frame(1, 2000))          # replacing a frame counts its new size only
    assert cache.nbytes == 4000


def test_frame_cache_prefetch_radius_follows_the_frame_size():
    cache = FrameCache(budget_bytes=256 * 2**20)
    assert cache.prefetch_radius(1920 * 1080 * 3) == 10     # a quarter of the budget a side
    assert cache.prefetch_radius(96 * 64 * 3) == 30         # capped
    with pytest.raises(ValueError):
        FrameCache(0)


def test_previews_cache_then_keyframe_then_proxy(long_gop, sequential, tmp_path):
    cache = FrameCache()
    previewer = ScrubPreviewer(long_gop, cache)
    try:
        stand_in = previewer.preview(40)       # nothing cached: the nearest keyframe, 30
        assert (stand_in.requested, stand_in.frame_idx, stand_in.source) == (40, 30, "keyframe")
        assert not stand_in.exact
        assert np.array_equal(stand_in.image, sequential[30])   # smaller than PREVIEW_FIT
        assert previewer.preview(52).frame_idx == 60
        cache.put(44, sequential[44])
        near = previewer.preview(40)           # a cached frame nearer than any keyframe
        assert (near.frame_idx, near.source, near.exact) == (44, "cache", False)
        assert previewer.preview(44).exact
        out = proxy_path(long_gop, root=tmp_path)
        progress = list(iter_build_proxy(VideoReader(long_gop), out))
        assert progress[-1].done == progress[-1].total == N_FRAMES
        previewer.attach_proxy(open_proxy(out, N_FRAMES))
        proxied = previewer.preview(40)
        assert (proxied.frame_idx, proxied.source) == (40, "proxy")
        errors = [np.abs(proxied.image.astype(int) - f).mean() for f in sequential]
        assert int(np.argmin(errors)) == 40    # the proxy's frame 40 is the original's 40
    finally:
        previewer.close()
    assert max(PREVIEW_FIT) >= 960


def test_proxy_is_short_gop_and_only_for_long_gop_videos(long_gop, tmp_path):
    reader = VideoReader(long_gop)
    assert needs_proxy(reader.keyframes, len(reader))
    assert not needs_proxy(list(range(0, 90, PROXY_GOP)), 90)
    out = proxy_path(long_gop, root=tmp_path)
    assert out.parent == tmp_path / "proxies" and not out.exists()
    list(iter_build_proxy(reader, out))
    proxy = open_proxy(out, len(reader))
    assert len(proxy) == N_FRAMES and proxy.size == (96, 64)
    gaps = np.diff(proxy.keyframes + [N_FRAMES])
    assert gaps.max() <= PROXY_GOP
    assert open_proxy(out, N_FRAMES + 1) is None            # another video's length
    assert open_proxy(tmp_path / "missing.mp4", N_FRAMES) is None


def test_cancelled_proxy_build_leaves_no_file(long_gop, tmp_path):
    out = proxy_path(long_gop, root=tmp_path)
    calls = []
    progress = list(iter_build_proxy(VideoReader(long_gop), out,
                                     cancelled=lambda: calls.append(1) or len(calls) > 40))
    assert progress[-1].done < N_FRAMES
    assert not out.exists() and not list(out.parent.iterdir())
    builder = iter_build_proxy(VideoReader(long_gop), out)
    next(builder)
    builder.close()                                          # the consumer went away
    assert not list(out.parent.iterdir())
