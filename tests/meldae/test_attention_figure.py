"""``meldae attention``: the enhancer's attention per query group over the face crop
(paper Figs. 6-8), on a tiny model."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from meldae.attention import (AttentionError, attention_figure, parse_frames, plot_attention,
                              query_groups, row_bands)

sys.path.insert(0, str(Path(__file__).resolve().parent))   # train_fakes (importlib mode)
from train_fakes import S, T, one_thread, tiny_model_cfg  # noqa: E402


@pytest.fixture(scope="module")
def model():
    from meldae.model import MELDAE

    torch.manual_seed(0)
    from meldae.model import preset

    return MELDAE(preset("tiny", img_size=S, num_frames=8, region_grid=2, num_queries=6)).eval()


def _crops(n=20):
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (n, S, S, 3), dtype=np.uint8)


def test_parse_frames_and_groups():
    assert parse_frames("12:15") == (12, 15) and parse_frames("7") == (7, 7)
    for bad in ("5:3", "a:b", "-1:2", "1:2:3"):
        with pytest.raises(AttentionError, match="A:B"):
            parse_frames(bad)
    assert query_groups(16, 4) == [(0, 3), (4, 7), (8, 11), (12, 15)]
    assert query_groups(6, 4) == [(0, 1), (2, 2), (3, 3), (4, 5)]   # contiguous, all 6
    assert query_groups(3, 8) == [(0, 0), (1, 1), (2, 2)]
    assert row_bands(10)[1] == (2, 3, "Eyes & brows")


def test_maps_are_the_models_attention_averaged_per_group(model):
    crops = _crops()
    fig = attention_figure(model, crops, 10, 13, groups=3, max_frames=8)
    # The window of T=8 frames is centred on 10..13 -> frames 8..15.
    assert fig.window == (8, 16) and fig.frames == [10, 11, 12, 13]
    with torch.no_grad():
        att = model(model.prepare(crops[8:16][None])).attention[0].numpy()  # (N, T, G, G)
    G = att.shape[-1]
    expected = att[0:2, 2:6].mean(axis=0) * (8 * G * G)                   # queries 1-2, frames 10-13
    np.testing.assert_allclose(fig.maps[0], expected, rtol=1e-5)
    assert fig.maps.shape == (3, 4, G, G) and fig.groups == [(0, 1), (2, 3), (4, 5)]
    np.testing.assert_array_equal(fig.crops[0], crops[10])


def test_window_stays_inside_the_video_and_columns_are_capped(model):
    fig = attention_figure(model, _crops(), 16, 19, groups=2, max_frames=3)
    assert fig.window == (12, 20) and fig.frames == [16, 18, 19]


def test_bad_requests(model):
    from meldae.model import MELDAE

    with pytest.raises(AttentionError, match="frames 0..19"):
        attention_figure(model, _crops(), 18, 20)
    with pytest.raises(AttentionError, match="at most 8 frames"):
        attention_figure(model, _crops(), 0, 8)
    with pytest.raises(AttentionError, match="no ME enhancer"):
        attention_figure(MELDAE(tiny_model_cfg(use_enhancer=False)), _crops(), 0, 1)


def test_png_has_one_cell_per_group_and_frame(model, tmp_path):
    from PIL import Image

    fig = attention_figure(model, _crops(), 2, 5, groups=2)
    small = plot_attention(fig, tmp_path / "a.png")
    wide = plot_attention(attention_figure(model, _crops(), 0, 7, groups=4), tmp_path / "b.png")
    a, b = Image.open(small), Image.open(wide)
    assert a.format == "PNG" and b.width > a.width and b.height > a.height  # 4x8 cells vs 2x4
    pixels = np.asarray(b.convert("RGB"), dtype=float)
    assert pixels.std() > 10                                   # drawn, not blank


@pytest.mark.slow
def test_attention_command_on_a_video(tmp_path, capsys, monkeypatch):
    from meldae.checkpoint import save_checkpoint
    from meldae.cli import main
    from meldae.data import synthesize
    from meldae.model import MELDAE

    monkeypatch.setenv("MELDAE_CACHE_DIR", str(tmp_path / "cache"))
    (info,) = synthesize(tmp_path / "data", clips=1, seed=2, frames=16, size=128)
    torch.manual_seed(0)
    ck = save_checkpoint(tmp_path / "ck" / "m", MELDAE(tiny_model_cfg()))
    with one_thread():
        status = main(["attention", str(info.video_path), "--checkpoint", str(ck), "--frames",
                       f"4:{4 + T - 1}", "--out", str(tmp_path / "att.png")])
    assert status == 0 and (tmp_path / "att.png").read_bytes()[:4] == b"\x89PNG"
    assert "4 query groups over 4 frames" in capsys.readouterr().out
    status = main(["attention", str(info.video_path), "--checkpoint", str(ck), "--frames", "9:2",
                   "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert status == 2 and "A:B" in err and not (tmp_path / "x.png").exists()
