"""Streaming inference mechanics: blending, bounded buffers, the worker thread (fake models).

A real tiny model, the outputs and the CLI: test_infer_model.py.
"""

from __future__ import annotations

import math
import threading
import time
import tracemalloc
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

from meldae.infer.blend import StreamBlender, window_weights
from meldae.infer.buffer import CropRing
from meldae.infer.source import CropStream

# --------------------------------------------------------------------------- blending math


def test_hann_weights_hand_values():
    w = window_weights(4, "hann")
    s2 = (1 - math.cos(math.pi / 4)) / 2            # sin^2(pi/8) = 0.146447
    assert np.allclose(w, [s2, 1 - s2, 1 - s2, s2])
    assert np.all(window_weights(7) > 0)            # edges are small, never zero
    assert np.allclose(window_weights(5, "triangular"), [1, 2, 3, 2, 1])
    with pytest.raises(ValueError):
        window_weights(4, "box")


def test_blend_two_overlapping_windows_hand_values():
    # T=4, windows at 0 and 2 over 6 frames; window A says 1, window B says 0.
    blender = StreamBlender(window_weights(4), grid=2, capacity=8)
    blender.add(0, np.ones(4), np.full(4, 0.5), np.ones((4, 2, 2)))
    blender.add(2, np.zeros(4), np.full(4, 0.5), np.zeros((4, 2, 2)))
    span = blender.pop(6)
    s2 = (1 - math.cos(math.pi / 4)) / 2
    # frame 2: A's weight 1-s2 (its 3rd frame), B's weight s2 (its 1st): (1-s2)*1/(1) = 0.853553
    # frame 3: A's weight s2 (its last), B's weight 1-s2: s2 = 0.146447
    assert np.allclose(span.loc_scores, [1, 1, 1 - s2, s2, 0, 0], atol=1e-6)
    assert np.allclose(span.state_scores, 0.5)
    assert np.allclose(span.attention[:, 0, 0], [1, 1, 1 - s2, s2, 0, 0], atol=1e-6)
    assert span.loc_scores.dtype == np.float32 and (span.start, span.stop) == (0, 6)


def test_blend_uniform_is_plain_mean_and_pop_shifts():
    blender = StreamBlender(window_weights(3, "uniform"), grid=1, capacity=4)
    blender.add(0, np.array([0.0, 0.3, 0.6]), np.zeros(3), np.zeros((3, 1, 1)))
    first = blender.pop(1)                       # frame 0 only saw window 0
    assert np.allclose(first.loc_scores, [0.0])
    blender.add(1, np.array([0.9, 0.9, 0.9]), np.zeros(3), np.zeros((3, 1, 1)))
    rest = blender.pop(4)
    assert np.allclose(rest.loc_scores, [(0.3 + 0.9) / 2, (0.6 + 0.9) / 2, 0.9])
    assert blender.base == 4


def test_blend_refuses_uncovered_frames_and_overflow():
    blender = StreamBlender(window_weights(2), grid=1, capacity=4)
    blender.add(0, np.ones(2), np.ones(2), np.ones((2, 1, 1)))
    with pytest.raises(ValueError, match="frame 2"):
        blender.pop(3)
    with pytest.raises(ValueError):
        blender.add(3, np.ones(2), np.ones(2), np.ones((2, 1, 1)))   # beyond the capacity


# --------------------------------------------------------------------------- crop ring


def test_crop_ring_wraps_and_pads_with_last_frame():
    ring = CropRing(4, (1, 1, 3))
    for i in range(6):
        if i == 4:
            ring.release(2)
        ring.append(i, np.full((1, 1, 3), i, np.uint8), face_found=i % 2 == 0)
    assert ring.window(3, 4)[:, 0, 0, 0].tolist() == [3, 4, 5, 5]   # padded past the end
    assert ring.faces(2, 6).tolist() == [True, False, True, False]
    with pytest.raises(OverflowError):
        ring.append(6, np.zeros((1, 1, 3), np.uint8), True)
    with pytest.raises(IndexError):
        ring.window(1, 2)                                            # released


# --------------------------------------------------------------------------- worker thread


def _crop_frames(n, size=4, faces=None):
    for i in range(n):
        yield SimpleNamespace(frame_idx=i, crop=np.full((size, size, 3), i % 256, np.uint8),
                              face_found=True if faces is None else bool(faces[i]))


def _crop_threads():
    return [t for t in threading.enumerate() if t.name.startswith("meldae-crops")]


def test_crop_stream_delivers_in_order_and_reraises():
    with CropStream(lambda: _crop_frames(50), maxsize=4) as stream:
        assert [f.frame_idx for f in stream] == list(range(50))

    def broken():
        yield from _crop_frames(3)
        raise RuntimeError("decoder exploded")

    with CropStream(broken, maxsize=2) as stream:
        got = []
        with pytest.raises(RuntimeError, match="exploded"):
            for f in stream:
                got.append(f.frame_idx)
    assert got == [0, 1, 2]
    assert not _crop_threads()


def test_crop_stream_close_stops_producer_and_closes_source():
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield SimpleNamespace(frame_idx=i, crop=np.zeros((2, 2, 3), np.uint8),
                                      face_found=True)
                i += 1
        finally:
            closed.set()

    stream = CropStream(endless, maxsize=3)
    first = next(iter(stream))
    assert first.frame_idx == 0
    t0 = time.monotonic()
    stream.close()
    assert time.monotonic() - t0 < 2.0
    assert closed.is_set() and not stream.alive and not _crop_threads()


# --------------------------------------------------------------------------- engine, fake model


class _FakeModel:
    """A stand-in with the MELDAE interface whose outputs are known by hand.

    mode "pixel": a frame's score is 0.1 + 0.8 * (its crop's value / 255), whatever window
    sees it, so blending must return exactly that. mode "position": the score of the j-th
    frame of a window is (j + 1) / (T + 1), so blending gives a weighted mean of positions.
    Attention of query q is q everywhere: its mean over N queries is (N - 1) / 2.
    """

    def __init__(self, t=4, g=2, n_queries=3, mode="position"):
        self.cfg = SimpleNamespace(num_frames=t, region_grid=g, img_size=4)
        self.n_queries, self.mode, self.calls = n_queries, mode, []

    def prepare(self, crops):
        return crops.permute(0, 1, 4, 2, 3).float()          # (B, T, 3, S, S)

    def __call__(self, frames):
        import torch

        b, t = frames.shape[:2]
        self.calls.append(b)
        if self.mode == "pixel":
            p = 0.1 + 0.8 * frames[:, :, 0, 0, 0] / 255       # (B, T)
        else:
            p = (torch.arange(t, dtype=torch.float32) + 1).expand(b, t) / (t + 1)
        logit = torch.log(p / (1 - p))
        g, n = self.cfg.region_grid, self.n_queries
        att = torch.arange(n, dtype=torch.float32).view(1, n, 1, 1, 1).expand(b, n, t, g, g)
        return SimpleNamespace(loc_logits=logit, state_logits=-logit, attention=att)


def _run_fake(model, n, stride=2, batch=2, faces=None, crop=4):
    import torch

    from meldae.infer.engine import predict_frames

    return list(predict_frames(lambda: _crop_frames(n, crop, faces), model, torch.device("cpu"),
                               crop_size=crop, total_frames=n, fps=Fraction(25), stride=stride,
                               batch_size=batch, queue_frames=3))


def _concat(results, field):
    return np.concatenate([getattr(r, field) for r in results])


def test_engine_blends_windows_with_hand_values():
    # T=4, stride 2, n=7: windows at 0, 2 and the end-aligned one at 3.
    results = _run_fake(_FakeModel(mode="position"), n=7)
    s2 = (1 - math.cos(math.pi / 4)) / 2
    w = [s2, 1 - s2, 1 - s2, s2]
    p = [0.2, 0.4, 0.6, 0.8]
    expected = [
        p[0], p[1],
        (w[2] * p[2] + w[0] * p[0]) / (w[2] + w[0]),
        (w[3] * p[3] + w[1] * p[1] + w[0] * p[0]) / (w[3] + w[1] + w[0]),
        (w[2] * p[2] + w[1] * p[1]) / (w[2] + w[1]),                       # = 0.5
        (w[3] * p[3] + w[2] * p[2]) / (w[3] + w[2]),
        p[3],
    ]
    assert np.allclose(_concat(results, "loc_scores"), expected, atol=1e-6)
    assert np.allclose(_concat(results, "state_scores"), 1 - np.array(expected), atol=1e-6)
    att = _concat(results, "attention")
    assert att.shape == (7, 2, 2) and np.allclose(att, 1.0)   # mean of queries 0, 1, 2


@pytest.mark.parametrize("n", [1, 3, 4, 5, 9, 16, 23])
@pytest.mark.parametrize("stride,batch", [(1, 1), (2, 2), (3, 3), (4, 2)])
def test_engine_covers_every_frame_once_in_order(n, stride, batch):
    results = _run_fake(_FakeModel(mode="pixel"), n=n, stride=stride, batch=batch)
    assert results[0].start == 0 and results[-1].stop == n
    for prev, nxt in zip(results, results[1:]):
        assert prev.stop == nxt.start and nxt.stop > nxt.start
    for r in results:
        assert len(r.loc_scores) == len(r.face_found) == r.stop - r.start
        assert r.total_frames == n and r.fps == Fraction(25)
    # every window agrees on a frame's score, so blending must give it back exactly
    expected = 0.1 + 0.8 * (np.arange(n) % 256) / 255
    assert np.allclose(_concat(results, "loc_scores"), expected, atol=1e-6)


def test_engine_batches_windows_and_zeroes_faceless_frames():
    model = _FakeModel(mode="pixel")
    faces = np.array([True] * 10 + [False] * 5 + [True] * 5)
    results = _run_fake(model, n=20, stride=2, batch=3, faces=faces)
    loc = _concat(results, "loc_scores")
    assert _concat(results, "face_found").tolist() == faces.tolist()
    assert np.all(loc[~faces] == 0) and np.all(loc[faces] > 0.09)
    assert np.all(_concat(results, "attention")[~faces] == 0)
    assert max(model.calls) == 3                       # several windows per forward pass
    assert sum(model.calls) == 9                       # starts 0, 2, ..., 16: nine windows


def test_engine_close_stops_worker_thread():
    import torch

    from meldae.infer.engine import predict_frames

    gen = predict_frames(lambda: _crop_frames(10_000), _FakeModel(mode="pixel"),
                         torch.device("cpu"), crop_size=4, total_frames=10_000, fps=Fraction(30),
                         stride=2, batch_size=2, queue_frames=4)
    first = next(gen)
    assert first.start == 0
    assert _crop_threads()
    gen.close()
    assert not _crop_threads()


def _peak_numpy_bytes(n):
    import torch

    from meldae.infer.engine import predict_frames

    tracemalloc.start()
    done = 0
    for r in predict_frames(lambda: _crop_frames(n, 8), _FakeModel(t=8, mode="pixel"),
                            torch.device("cpu"), crop_size=8, total_frames=n, fps=Fraction(30),
                            stride=4, batch_size=2, queue_frames=4):
        done = r.stop                                  # results are consumed, not kept
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert done == n
    return peak


def test_engine_memory_does_not_grow_with_length():
    short, long = _peak_numpy_bytes(400), _peak_numpy_bytes(4000)
    assert long < 1.2 * short + 64 * 1024


def test_engine_buffers_sized_by_window_not_video():
    from meldae.infer.engine import _Engine, _Plan
    from meldae.infer.runners import WindowRunner

    plan = _Plan(num_frames=32, stride=16, batch=4, grid=10)
    engine = _Engine(plan, WindowRunner(_FakeModel(t=32, g=10), None), (160, 160, 3))
    # B*S + 2T = 128 frames whatever the video's length
    assert engine.ring.capacity == engine.blender.capacity == 128
    assert engine.ring.nbytes == 128 * (160 * 160 * 3 + 1)
    assert engine.blender.nbytes == 128 * (3 + 100) * 8


# --------------------------------------------------------------------------- the real model


