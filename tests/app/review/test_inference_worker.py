"""Scores: accumulation window by window, the cache, and the live worker on a tiny model."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from meldae.project.score_cache import ScoreCache, file_fingerprint, score_key
from meldae.scores import ClipScores


def window(start, stop, total, value, grid=2):
    from meldae.infer import WindowResult

    n = stop - start
    return WindowResult(start=start, stop=stop, total_frames=total, fps=Fraction(30),
                        loc_scores=np.full(n, value, np.float32),
                        state_scores=np.full(n, 1 - value, np.float32),
                        face_found=np.ones(n, bool),
                        attention=np.full((n, grid, grid), value / 4, np.float32))


def test_clip_scores_fill_in_order_and_grow():
    scores = ClipScores.empty(6, Fraction(30))
    assert np.isnan(scores.loc).all() and scores.done == 0
    scores.add(window(0, 4, 6, 0.8))
    assert scores.done == 4
    np.testing.assert_allclose(scores.loc[:4], 0.8)
    assert np.isnan(scores.loc[4:]).all()
    assert scores.attention.shape == (6, 2, 2) and scores.attention.dtype == np.float16
    assert scores.attention_max == pytest.approx(0.2)
    # the decoder found more frames than the header said: arrays grow
    scores.add(window(4, 8, 8, 0.4))
    assert scores.n_frames == 8 and scores.done == 8
    np.testing.assert_allclose(scores.state[4:], 0.6)


def test_score_cache_round_trip_and_lru(tmp_path):
    cache = ScoreCache(tmp_path / "scores", capacity=1)
    scores = ClipScores.empty(4, Fraction(30000, 1001))
    scores.add(window(0, 4, 4, 0.5))
    scores.boxes = np.array([[1, 2, 3, 4]] * 4, np.float32)
    scores.info = {"meta": {"threshold": 0.3}}
    cache.put("a", scores)
    assert cache.path("a").is_file()
    other = ClipScores.empty(2, Fraction(25))
    other.add(window(0, 2, 2, 0.1))
    cache.put("b", other)                      # evicts "a" from memory, not from disk
    loaded = cache.get("a")
    assert loaded is not scores and loaded.complete and loaded.done == 4
    assert loaded.fps == Fraction(30000, 1001)
    np.testing.assert_allclose(loaded.loc, 0.5)
    np.testing.assert_array_equal(loaded.boxes[0], [1, 2, 3, 4])
    assert loaded.info == {"meta": {"threshold": 0.3}}
    assert cache.get("missing") is None


def test_damaged_cache_file_is_a_miss(tmp_path):
    cache = ScoreCache(tmp_path)
    cache.path("bad").write_bytes(b"not an npz")
    assert cache.get("bad") is None


def test_keys_follow_content_and_checkpoint(tmp_path):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"a" * 5000)
    ckpt = tmp_path / "m.safetensors"
    ckpt.write_bytes(b"weights")
    ckpt.with_suffix(".json").write_text("{}")
    key = score_key(video, ckpt)
    assert key == score_key(video, ckpt)
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(video.read_bytes())
    assert score_key(copy, ckpt) == key       # content, not name
    video.write_bytes(b"a" * 4999 + b"b")
    assert score_key(video, ckpt) != key
    assert file_fingerprint(video) != file_fingerprint(copy)
    ckpt.with_suffix(".json").write_text('{"x": 1}')
    assert score_key(copy, ckpt) != key


def test_missing_demo_model_is_reported_not_raised(qtbot, clip_video, monkeypatch, tmp_path):
    from app.review.inference_worker import ScoreController

    monkeypatch.setattr("meldae.project.score_cache.demo_checkpoint", lambda: tmp_path / "none.safetensors")
    monkeypatch.setattr("meldae.paths.demo_checkpoint", lambda: tmp_path / "none.safetensors")
    controller = ScoreController(checkpoint=None)
    with qtbot.waitSignal(controller.model_missing, timeout=5000) as missing:
        controller.start(clip_video, 48, Fraction(30))
    assert "demo model is missing" in missing.args[0]
    assert not controller.running


@pytest.mark.slow
def test_live_scores_then_cache_hit(qtbot, clip_video, tiny_checkpoint):
    pytest.importorskip("meldae.faces", reason="the face pipeline is needed to score")
    from app.review.inference_worker import ScoreController

    controller = ScoreController(checkpoint=tiny_checkpoint, device="cpu")
    progress = []
    controller.progress.connect(lambda done, total: progress.append((done, total)))
    with qtbot.waitSignal(controller.completed, timeout=120000) as done:
        controller.start(clip_video, 48, Fraction(30))
        assert controller.running
    scores = done.args[0]
    assert scores.complete and scores.done == scores.n_frames == 48
    assert np.isfinite(scores.loc).all() and ((scores.loc >= 0) & (scores.loc <= 1)).all()
    assert scores.attention.shape == (48, 4, 4)           # tiny preset: G = 4
    assert progress and progress[-1][0] == 48
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert controller.cache.path(controller.key).is_file()
    # a second controller (a new app run) finds the scores on disk: no worker at all
    again = ScoreController(checkpoint=tiny_checkpoint, device="cpu")
    with qtbot.waitSignal(again.completed, timeout=2000) as cached:
        again.start(clip_video, 48, Fraction(30))
        assert not again.running
    np.testing.assert_allclose(cached.args[0].loc, scores.loc)
    controller.shutdown()
    again.shutdown()


@pytest.mark.slow
def test_cancel_stops_the_worker(qtbot, clip_video, tiny_checkpoint):
    pytest.importorskip("meldae.faces", reason="the face pipeline is needed to score")
    from app.review.inference_worker import ScoreController

    controller = ScoreController(checkpoint=tiny_checkpoint, device="cpu")
    completed = []
    controller.completed.connect(completed.append)
    controller.start(clip_video, 48, Fraction(30))
    controller.cancel()
    assert not controller.running
    qtbot.wait(200)
    controller.shutdown()        # waits: the worker must end promptly
    assert completed == []
