"""One scoring path: ClipScores filled by the engine (validation, evaluate, infer, the app)."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from meldae.scores import ClipScores

sys.path.insert(0, str(Path(__file__).resolve().parent))   # train_fakes (importlib mode)
from train_fakes import T, one_thread, tiny_model_cfg, val_clips  # noqa: E402


def _result(start, stop, total, value, windows=((0, 0),), me=(0.5,)):
    from meldae.infer import WindowResult

    n = stop - start
    return WindowResult(start=start, stop=stop, total_frames=total, fps=Fraction(25),
                        loc_scores=np.full(n, value, np.float32),
                        state_scores=np.full(n, 1 - value, np.float32),
                        face_found=np.ones(n, bool),
                        attention=np.full((n, 2, 2), value, np.float32),
                        windows=np.asarray(windows, np.int64), window_me=np.asarray(me, np.float32))


def test_collect_fills_in_order_and_trims_to_the_frames_decoded():
    # the header said 8 frames; only 6 decoded (the last result says so)
    results = [_result(0, 4, 8, 0.2, [(0, 4)], [0.1]), _result(4, 6, 6, 0.6, [(2, 6)], [0.7])]
    seen = []
    scores = ClipScores.collect(results, "clip", progress=lambda d, t: seen.append((d, t)))
    assert scores.complete and scores.n_frames == 6 and scores.name == "clip"
    np.testing.assert_allclose(scores.loc, [0.2] * 4 + [0.6] * 2)
    np.testing.assert_allclose(scores.state, [0.8] * 4 + [0.4] * 2)
    assert scores.attention.shape == (6, 2, 2) and scores.fps == Fraction(25)
    assert scores.windows.tolist() == [[0, 4], [2, 6]]
    np.testing.assert_allclose(scores.window_me, [0.1, 0.7])
    assert seen == [(4, 8), (6, 6)]
    arrays = scores.score_arrays()
    assert set(arrays) == {"loc_scores", "state_scores", "face_found", "fps", "fps_fraction"}
    assert arrays["loc_scores"].dtype == np.float32 and arrays["fps_fraction"].tolist() == [25, 1]


def test_from_arrays_is_a_complete_score_without_an_me_head():
    scores = ClipScores.from_arrays([0.1, 0.9], name="b")
    assert scores.complete and scores.done == 2 and scores.face_found.tolist() == [True, True]
    assert scores.state is None and scores.windows is None and scores.window_me is None
    assert scores.score_arrays()["state_scores"].tolist() == [0.0, 0.0]


def test_validation_scores_come_from_the_engine_with_window_me():
    import torch

    from meldae.data.windows import window_starts
    from meldae.model import MELDAE
    from meldae.postprocess import PostProcessing
    from meldae.train.measure import clip_me_probability, measure
    from meldae.train.validate import score_clips

    with one_thread():
        torch.manual_seed(0)
        model = MELDAE(tiny_model_cfg()).eval()
        clip = val_clips(1, frames=10)[0]
        (scores,) = score_clips(model, [clip], stride=3, batch_size=2)
        starts = window_starts(10, T, 3)                                  # [0, 3, 6]
        assert scores.windows.tolist() == [[s, s + T] for s in starts]
        frames = torch.from_numpy(np.stack([clip.crops[s:s + T] for s in starts]))
        with torch.no_grad():
            out = model(model.prepare(frames), need_attention=False)
    np.testing.assert_allclose(scores.window_me, torch.sigmoid(out.me_logit).numpy(), atol=1e-5)
    assert scores.loc.shape == (10,) and scores.attention is None and scores.complete
    # Acc_ME is per clip: the clip's probability is the max over its windows; it has an ME
    assert clip_me_probability(scores) == pytest.approx(float(scores.window_me.max()))
    expected = 1.0 if scores.window_me.max() >= 0.5 else 0.0
    assert measure([clip], [scores], PostProcessing())["acc_me"] == expected


@pytest.fixture(scope="module")
def scored_folder(tmp_path_factory):
    """A one-clip synthetic folder and a tiny checkpoint with stored post-processing."""
    import torch

    from meldae.checkpoint import save_checkpoint
    from meldae.data.synth import synthesize
    from meldae.model import MELDAE, preset

    folder = tmp_path_factory.mktemp("folder")
    (clip,) = synthesize(folder, clips=1, seed=0, frames=40, size=128)
    torch.manual_seed(0)
    model = MELDAE(preset("tiny", num_frames=16)).eval()
    meta = {"postprocessing": {"threshold": 0.25, "min_length": 2, "merge_gap": 1,
                               "state_threshold": 0.4, "source": "test"}}
    checkpoint = save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny", model, meta)
    return folder, clip, checkpoint


def test_evaluate_and_infer_scores_agree(scored_folder, tmp_path, capsys):
    """``meldae evaluate --scores-out`` and ``meldae infer`` give the same scores (1e-5)."""
    from meldae.cli import main

    folder, clip, checkpoint = scored_folder
    with one_thread():
        assert main(["evaluate", str(folder), "--checkpoint", str(checkpoint), "--split", "all",
                     "--device", "cpu", "--scores-out", str(tmp_path / "eval")]) == 0
        assert main(["infer", str(clip.video_path), "--checkpoint", str(checkpoint),
                     "--out", str(tmp_path / "infer"), "--device", "cpu", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "threshold 0.25, min_length 2, merge_gap 1 (test)" in out
    with np.load(tmp_path / "eval" / f"{clip.name}.npz") as ev, \
            np.load(tmp_path / "infer" / f"{clip.video_path.stem}.npz") as inf:
        assert ev["loc_scores"].shape == inf["loc_scores"].shape == (40,)
        assert ev["loc_scores"].dtype == np.float32
        np.testing.assert_allclose(ev["loc_scores"], inf["loc_scores"], atol=1e-5)
        np.testing.assert_allclose(ev["state_scores"], inf["state_scores"], atol=1e-5)
        np.testing.assert_array_equal(ev["face_found"], inf["face_found"])
        assert ev["fps_fraction"].tolist() == inf["fps_fraction"].tolist()
        assert float(inf["threshold"]) == 0.25 and float(inf["state_threshold"]) == 0.4
        assert ev["loc_scores"].std() > 0                        # real scores, not a constant


def test_acc_me_counts_clips_not_windows():
    """Two clips, five windows: one clip with an ME whose best window says 0.9 (right), one
    without whose windows stay low but one reaches 0.6 (wrong). Per window this would be 3/5
    or so; per clip it is 1/2."""
    from fractions import Fraction

    from meldae.postprocess import PostProcessing
    from meldae.scores import ClipScores
    from meldae.train.measure import measure
    from meldae.train.validate import EvalClip

    def clip(name, me):
        return EvalClip(name=name, crops=np.zeros((8, 4, 4, 3), np.uint8), face_found=np.ones(8, bool),
                        me_segments=me, speaking=np.zeros(8, bool), fps=Fraction(30))

    def scores(name, window_me):
        s = ClipScores.from_arrays(np.zeros(8, np.float32), np.zeros(8, np.float32),
                                   face_found=np.ones(8, bool), fps=30, name=name)
        s.windows = np.array([[0, 4], [2, 6], [4, 8]][:len(window_me)], np.int64)
        s.window_me = np.asarray(window_me, np.float32)
        return s

    clips = [clip("a", [(1, 2)]), clip("b", [])]
    result = measure(clips, [scores("a", [0.1, 0.9, 0.2]), scores("b", [0.6, 0.1])], PostProcessing())
    assert result["acc_me"] == pytest.approx(0.5)
