"""LBP-TOP / LBP-SIP baselines: codes, histograms, MDMD scores, tuning on validation."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from meldae.baselines import (
    LBPSettings,
    block_histograms,
    chi_square,
    frame_features,
    lbp_sip_codes,
    lbp_top_codes,
    mdmd_scores,
    scores_for,
    tune_on_validation,
)
from meldae.baselines.spot import feature_cache
from meldae.train.measure import PostProcessing, measure
from meldae.train.validate import EvalClip

sys.path.insert(0, str(Path(__file__).resolve().parent))   # train_fakes (importlib mode)
from train_fakes import make_synth_folder  # noqa: E402


def test_lbp_sip_codes_by_hand():
    # Every pixel brightens by 10 per frame, all pixels of a frame equal.
    n, h, w = 5, 6, 6
    volume = (np.arange(n)[:, None, None] * 10 + 50 + np.zeros((n, h, w))).astype(np.uint8)
    (xy, xy_bins), (temporal, t_bins) = lbp_sip_codes(volume)
    assert (xy_bins, t_bins) == (16, 4)
    # A flat frame: the 4 neighbours equal the centre (>=): all 4 bits set, 0b1111.
    assert np.all(xy[:, 1:-1, 1:-1] == 15)
    # The next frame is brighter (bit 0 set), the previous darker (bit 1 clear): code 1.
    assert np.all(temporal[1:-1] == 1)
    # The end frames see themselves beyond the clip (edge padding): first frame: next
    # brighter, "previous" equal (>=, set): 0b11; last frame: next equal, previous darker.
    assert np.all(temporal[0] == 3) and np.all(temporal[-1] == 1)


def test_lbp_top_codes_on_a_flat_volume():
    volume = np.full((4, 6, 6), 77, np.uint8)
    planes = lbp_top_codes(volume)
    assert [bins for _, bins in planes] == [10, 10, 10]
    xy, xt, yt = (codes for codes, _ in planes)
    # Uniform LBP(8, 1): all 8 neighbours >= centre is the uniform pattern numbered P = 8.
    assert np.all(xy[:, 1:-1, 1:-1] == 8)
    assert np.all(xt[1:-1, :, 1:-1] == 8) and np.all(yt[1:-1, 1:-1, :] == 8)


def test_block_histograms_count_codes_per_block():
    codes = np.array([[[0, 1, 2, 2],
                       [1, 1, 2, 0],
                       [0, 0, 0, 0],
                       [2, 2, 2, 1]]], np.uint8)
    hist = block_histograms(codes, bins=3, grid=2)
    assert hist.shape == (1, 4, 3)
    assert hist[0].tolist() == [[1, 3, 0],    # top-left: 0, 1, 1, 1
                                [1, 0, 3],    # top-right: 2, 2, 2, 0
                                [2, 0, 2],    # bottom-left: 0, 0, 2, 2
                                [2, 1, 1]]    # bottom-right: 0, 0, 2, 1


def test_chi_square_by_hand():
    a = np.array([[1.0, 0.0], [0.5, 0.5]])
    b = np.array([[0.0, 1.0], [0.5, 0.5]])
    assert chi_square(a, b).tolist() == [2.0, 0.0]
    assert chi_square(np.zeros((1, 3)), np.zeros((1, 3))).tolist() == [0.0]


def test_mdmd_scores_peak_on_a_short_change():
    features = np.tile(np.array([1.0, 0.0]), (30, 1))
    features[14:17] = [0.0, 1.0]                  # frames 14-16 differ from their context
    scores = mdmd_scores(features, interval=4)
    assert scores.max() == 1.0 and 14 <= int(np.argmax(scores)) <= 16
    assert np.all(scores[:8] == 0) and np.all(scores[23:] == 0)
    no_face = np.ones(30, bool)
    no_face[14:17] = False
    assert mdmd_scores(features, 4, no_face)[14:17].tolist() == [0.0, 0.0, 0.0]


def _clip_with_blob(name: str, onset: int, offset: int, n: int = 40, seed: int = 0):
    """A static textured face with a bright patch during [onset, offset]."""
    rng = np.random.default_rng(seed)
    base = rng.integers(60, 200, (32, 32, 3), dtype=np.uint8)
    crops = np.repeat(base[None], n, axis=0)
    crops[onset:offset + 1, 8:16, 8:16] = 255
    return EvalClip(name, crops, np.ones(n, bool), [(onset, offset)],
                    np.arange(n) < n // 2)


@pytest.mark.parametrize("method", ["lbp-top", "lbp-sip"])
def test_features_are_normalised_histograms(method):
    clip = _clip_with_blob("c", 10, 14)
    feats = frame_features(clip.crops, method, LBPSettings(size=32, grid=4))
    planes = 3 if method == "lbp-top" else 2
    assert feats.shape[0] == 40
    np.testing.assert_allclose(feats.sum(axis=1), planes * 16, rtol=1e-5)


@pytest.mark.parametrize("method", ["lbp-top", "lbp-sip"])
def test_tuned_on_validation_finds_the_change_on_another_clip(method):
    settings = LBPSettings(size=32, grid=4)
    val = [_clip_with_blob("val", 12, 17, seed=1)]
    k, post, val_metrics = tune_on_validation(val, method, settings, intervals=(3, 5))
    assert val_metrics["f1"] == 1.0
    test = [_clip_with_blob("test", 25, 30, seed=2)]
    scores = scores_for(test, feature_cache(test, method, settings), k)
    assert int(np.argmax(scores[0].loc)) in range(25, 31)
    assert measure(test, scores, post)["f1"] == 1.0
    # A threshold above every score finds nothing: the metric is not trivially 1.
    assert measure(test, scores, PostProcessing(threshold=1.01))["f1"] == 0.0


@pytest.mark.slow
def test_baseline_command_tunes_on_val_and_reports_test(tmp_path, capsys):
    from meldae.cli import main

    data = tmp_path / "data"
    infos = make_synth_folder(data)
    status = main(["baseline", "lbp-sip", str(data), "--crop-size", "64",
                   "--json", str(tmp_path / "b.json")])
    assert status == 0
    report = json.loads((tmp_path / "b.json").read_text())
    test_names = sorted(c.name for c in infos)[-2:]          # the last subject's two clips
    assert [c["clip"] for c in report["clips"]] == test_names
    assert report["method"] == "lbp-sip" and report["interval"] in (2, 3, 5, 8)
    assert "validation split (2 clips)" in report["postprocessing"]["source"]
    assert "acc_me" not in report["overall"]                 # a baseline has no ME head
    assert capsys.readouterr().out.splitlines()[-1].startswith("overall")
    # A held-out folder scored whole, with threshold and k chosen on another folder's val.
    held = tmp_path / "held"
    shutil.copytree(data, held)
    status = main(["baseline", "lbp-sip", str(held), "--split", "all", "--tune-on", str(data),
                   "--crop-size", "64", "--json", str(tmp_path / "h.json")])
    assert status == 0
    held_report = json.loads((tmp_path / "h.json").read_text())
    assert len(held_report["clips"]) == len(infos)
    assert f"of {data})" in held_report["postprocessing"]["source"]
    assert held_report["postprocessing"]["threshold"] == report["postprocessing"]["threshold"]
