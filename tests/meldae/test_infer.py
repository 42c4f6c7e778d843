"""Streaming inference: blending, bounded buffers, the worker thread, outputs and the CLI."""

from __future__ import annotations

import math
import threading
import time
import tracemalloc
from dataclasses import replace
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


@pytest.fixture(scope="module")
def tiny_model():
    import torch

    from meldae.model import MELDAE, preset

    torch.manual_seed(0)
    # T = 16 (the preset has 32): the 40-frame test clip then holds several windows.
    return MELDAE(preset("tiny", num_frames=16)).eval()


def test_cached_encoder_runner_matches_whole_windows(tiny_model):
    from meldae.infer.runners import CachedEncoderRunner, WindowRunner, make_runner

    t = tiny_model.cfg.num_frames                                   # 16
    rng = np.random.default_rng(0)
    ring = CropRing(64, (64, 64, 3))
    for i in range(40):
        ring.append(i, rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), True)
    plain = WindowRunner(tiny_model, None)
    cached = make_runner(tiny_model, None, ring.capacity)
    assert isinstance(cached, CachedEncoderRunner)
    for starts in ([0, 8], [16, 24], [30]):                         # 30: padded past frame 39
        a, b = plain.run(ring, starts), cached.run(ring, starts)
        for x, y in zip(a, b):
            assert x.shape == y.shape
            assert np.allclose(x, y, atol=1e-5)
    assert a[2].shape == (1, t, 4, 4)                               # attention (B, T, G, G)
    assert cached.encoded_upto == 40                                # each frame encoded once


# --------------------------------------------------------------------------- videos end to end


@pytest.fixture(scope="module")
def synth_clip(tmp_path_factory):
    """A 40-frame 128x128 synthetic face video (with its ground-truth EAF beside it)."""
    from meldae.data.synth import synthesize

    return synthesize(tmp_path_factory.mktemp("synth"), clips=1, seed=0, frames=40, size=128)[0]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory, tiny_model):
    from meldae.checkpoint import save_checkpoint

    meta = {"postprocessing": {"threshold": 0.25, "min_length": 2, "merge_gap": 1}}
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny", tiny_model, meta)


def test_iter_predict_on_synthetic_video(tiny_model, synth_clip, tmp_path):
    from meldae.infer import iter_predict

    results = list(iter_predict(synth_clip.video_path, tiny_model, device="cpu",
                                cache_dir=tmp_path, batch_size=2))
    assert results[0].start == 0 and results[-1].stop == 40
    assert all(a.stop == b.start for a, b in zip(results, results[1:]))
    assert all(r.total_frames == 40 and r.fps == Fraction(30) for r in results)
    loc = _concat(results, "loc_scores")
    att = _concat(results, "attention")
    faces = _concat(results, "face_found")
    assert loc.shape == (40,) and loc.dtype == np.float32
    assert att.shape == (40, 4, 4) and att.dtype == np.float32
    assert faces.dtype == bool and faces.sum() >= 36          # the drawn face is found
    assert np.all((loc >= 0) & (loc <= 1)) and np.all(loc[~faces] == 0)
    # attention = mean over queries of a distribution over T*G*G cells: within [0, 1] and,
    # per window, summing to 1 over (T, G, G); blending keeps each frame's mass near 1/T.
    per_frame = att[faces].sum(axis=(1, 2))
    assert np.all(per_frame > 0) and np.all(per_frame < 1)
    assert not _crop_threads()


def test_iter_predict_close_releases_worker(tiny_model, synth_clip, tmp_path):
    from meldae.infer import iter_predict

    gen = iter_predict(synth_clip.video_path, tiny_model, device="cpu", cache_dir=tmp_path,
                       batch_size=1, queue_frames=2)
    first = next(gen)
    assert first.start == 0 and first.stop < 40
    gen.close()
    assert not _crop_threads()


def test_predict_and_save_outputs(tiny_model, tiny_checkpoint, synth_clip, tmp_path):
    import shutil

    from meldae.annotations import Source, load_eaf
    from meldae.checkpoint import read_checkpoint_info
    from meldae.infer import load_prediction, predict_video, save_prediction

    info = read_checkpoint_info(tiny_checkpoint)
    pred = predict_video(synth_clip.video_path, tiny_model, device="cpu", cache_dir=tmp_path,
                         checkpoint_info=info, threshold=0.0)
    post = pred.post
    assert (post.threshold, post.min_length, post.merge_gap) == (0.0, 2, 1)   # meta + flag
    # threshold 0: every frame with a face is positive; no segment crosses a face-less frame
    covered = np.zeros(40, bool)
    for onset, offset in pred.segments:
        assert pred.face_found[onset:offset + 1].all()
        covered[onset:offset + 1] = True
    assert covered.sum() >= pred.face_found.sum() - 2          # runs of 1 frame dropped
    # write beside a copy of the clip: the annotator's ground truth must survive
    folder = tmp_path / "clip"
    folder.mkdir()
    shutil.copy(synth_clip.eaf_path, folder / "clip.eaf")
    manual = load_eaf(folder / "clip.eaf", pred.fps)
    npz_path, eaf_path = save_prediction(pred, folder, "clip", media_path=synth_clip.video_path)
    back = load_prediction(npz_path)
    assert np.array_equal(back.loc_scores, pred.loc_scores) and back.fps == Fraction(30)
    assert back.post == pred.post
    assert np.array_equal(back.segments, pred.segments)
    with np.load(npz_path) as data:
        assert data["loc_scores"].dtype == np.float32 and data["face_found"].dtype == bool
        assert data["segments"].shape == (len(pred.segments), 2)
        assert data["attention"].shape == (40, 4, 4) and float(data["fps"]) == 30.0
    doc = load_eaf(eaf_path, pred.fps)
    predicted = [(s.onset, s.offset) for s in doc.segments if s.source == Source.PREDICTED]
    assert predicted == [tuple(s) for s in pred.segments.tolist()]
    kept = [(s.onset, s.offset) for s in doc.segments if s.source == Source.MANUAL]
    assert kept == [(s.onset, s.offset) for s in manual.segments]
    assert (folder / "clip.scores.csv").is_file()
    assert (any(s.source == Source.PREDICTED for s in doc.speaking)
            or pred.state_scores.max() < pred.post.state_threshold)


# --------------------------------------------------------------------------- the CLI


def _meldae(*args, timeout=240):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, "-m", "meldae", *map(str, args)], cwd=root,
                          capture_output=True, text=True, timeout=timeout, check=False)


def _faststart_video(path, frames=30, size=64):
    """An MP4 whose header (moov) comes first: cut short, it still opens but lacks data."""
    import av

    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for _ in range(frames):
            image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())


def _bad_videos(folder, good_video):
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "notes.mp4").write_text("this is not a video\n")
    data = good_video.read_bytes()
    (folder / "cut.mp4").write_bytes(data[: len(data) // 2])             # index (moov) lost
    _faststart_video(folder / "full.tmp")
    data = (folder / "full.tmp").read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])       # header, half the data
    (folder / "full.tmp").unlink()
    return ["empty.mp4", "notes.mp4", "cut.mp4", "truncated.mp4"]


def test_cli_folder_with_bad_files_scores_the_rest(tiny_checkpoint, synth_clip, tmp_path):
    import shutil

    videos, out = tmp_path / "videos", tmp_path / "out"
    videos.mkdir()
    shutil.copy(synth_clip.video_path, videos / "good.mp4")
    bad = _bad_videos(videos, synth_clip.video_path)
    run = _meldae("infer", videos, "--checkpoint", tiny_checkpoint, "--out", out,
                  "--device", "cpu", "--no-progress")
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("meldae: error: ")]
    assert len(errors) == 4
    for name in bad:
        assert sum(name in line for line in errors) == 1
    assert "empty" in next(line for line in errors if "empty.mp4" in line)
    assert "truncated" in next(line for line in errors if "truncated.mp4" in line)
    assert "1 of 5 videos scored" in run.stderr
    failed = next(line for line in run.stderr.splitlines() if line.startswith("meldae: failed:"))
    assert all(name in failed for name in bad) and "good.mp4" not in failed
    assert (out / "good.npz").is_file() and (out / "good.eaf").is_file()
    assert (out / "good.scores.csv").is_file()
    assert not any((out / n.replace(".mp4", ".npz")).exists() for n in bad)
    assert "good.mp4: 40 frames" in run.stdout


def test_cli_single_bad_file_exits_2(tiny_checkpoint, tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("hello\n")
    run = _meldae("infer", text, "--checkpoint", tiny_checkpoint, "--device", "cpu",
                  "--no-progress")
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("meldae:")]
    assert lines == [f"meldae: error: {text}: " + lines[0].split(f"{text}: ", 1)[1]]
    assert not (tmp_path / "notes.npz").exists()


def test_cli_bad_checkpoint_and_device(tmp_path, synth_clip):
    run = _meldae("infer", synth_clip.video_path, "--checkpoint", tmp_path / "missing",
                  "--device", "cpu", "--no-progress")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "missing" in run.stderr and "meldae: error:" in run.stderr


def test_cli_video_without_face(shared_data, tiny_checkpoint, tmp_path):
    video = shared_data / "video" / "no_face.mp4"
    run = _meldae("infer", video, "--checkpoint", tiny_checkpoint, "--out", tmp_path,
                  "--device", "cpu", "--no-progress")
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "no face found" in run.stderr and "no_face.mp4" in run.stderr
    with np.load(tmp_path / "no_face.npz") as data:
        assert len(data["loc_scores"]) == 95
        assert not data["face_found"].any()
        assert np.all(data["loc_scores"] == 0) and np.all(data["state_scores"] == 0)
        assert data["segments"].shape == (0, 2)
    from meldae.annotations import load_eaf

    doc = load_eaf(tmp_path / "no_face.eaf", Fraction(24))
    assert doc.segments == [] and doc.speaking == []


@pytest.mark.gpu
def test_cuda_bf16_matches_cpu(synth_clip, tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    from meldae.infer import iter_predict
    from meldae.model import MELDAE, preset

    torch.manual_seed(0)
    model = MELDAE(preset("tiny")).eval()
    cpu = list(iter_predict(synth_clip.video_path, model, device="cpu", cache_dir=tmp_path))
    gpu = list(iter_predict(synth_clip.video_path, model, device="auto", cache_dir=tmp_path))
    assert next(model.parameters()).device.type == "cuda"
    a, b = _concat(cpu, "loc_scores"), _concat(gpu, "loc_scores")
    assert a.shape == b.shape == (40,)
    assert np.allclose(a, b, atol=0.03)                       # bf16 autocast on CUDA
    assert np.allclose(_concat(cpu, "attention"), _concat(gpu, "attention"), atol=0.01)


def test_proposals_of_a_prediction_hand_values():
    from meldae.annotations import Source
    from meldae.infer import VideoPrediction
    from meldae.postprocess import PostProcessing
    from meldae.scores import ClipScores

    loc = np.array([0, 0.6, 0.9, 0.6, 0, 0], np.float32)
    state = np.array([0.2, 0.7, 0.8, 0.4, 0.9, 0.9], np.float32)
    faces = np.array([True, True, True, True, True, False])
    pred = VideoPrediction(ClipScores.from_arrays(loc, state * faces, faces, Fraction(25)),
                           PostProcessing(threshold=0.5))
    assert pred.segments.tolist() == [[1, 3]]
    doc = pred.proposals.to_annotations()
    (me,) = doc.segments
    assert (me.onset, me.offset, me.apex) == (1, 3, 2) and me.source == Source.PREDICTED
    assert me.score == pytest.approx(0.7)                    # mean of 0.6, 0.9, 0.6
    # speaking: state >= 0.5 on frames 1-2 and 4; frame 5 has no face (state 0)
    assert [(s.onset, s.offset) for s in doc.speaking] == [(1, 2), (4, 4)]
    # with the state threshold chosen on validation (0.3): frames 1-4
    doc = replace(pred, post=replace(pred.post, state_threshold=0.3)).proposals.to_annotations()
    assert [(s.onset, s.offset) for s in doc.speaking] == [(1, 4)]


def test_resolve_device():
    import torch

    from meldae.infer import DeviceError, resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(DeviceError, match="unknown device|unsupported"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            resolve_device("cuda")
