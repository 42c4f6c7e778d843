"""Streaming inference with a real (tiny) model: runners, iter_predict, outputs and the CLI.

The blending, buffer and engine mechanics with fake models are in test_infer.py.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest

from meldae.infer.buffer import CropRing


def _crop_threads():
    return [t for t in threading.enumerate() if t.name.startswith("meldae-crops")]


def _concat(results, field):
    return np.concatenate([getattr(r, field) for r in results])


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
