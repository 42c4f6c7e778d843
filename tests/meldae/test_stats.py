"""``clip_statistics`` / ``meldae stats``: MEs by speaking state and the duration bins."""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source, save_eaf
from meldae.data import DataError, clip_statistics, format_statistics, plot_statistics, speaking_context
from meldae.data.stats import BIN_LABELS, duration_bin


def make_video(path: Path, n_frames: int, fps: Fraction) -> Path:
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(n_frames):
            img = np.full((32, 32, 3), i * 10, dtype=np.uint8)  # (H, W, 3)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        container.mux(stream.encode(None))
    return path


@pytest.fixture()
def folder(tmp_path) -> Path:
    """Two annotated clips at 25 and 50 fps, one clip without annotations."""
    make_video(tmp_path / "a.mp4", 3, Fraction(25))
    make_video(tmp_path / "b.mp4", 3, Fraction(50))
    make_video(tmp_path / "c.mp4", 3, Fraction(25))
    save_eaf(ClipAnnotations(
        segments=[
            Segment(0, 9, label="micro:joy"),    # 0.4 s; frames 0-4 speaking: 5/10 tie -> speaking
            Segment(10, 24),                      # 0.6 s; 10/15 speaking -> speaking
            Segment(30, 104, label="macro"),      # 3.0 s (upper edge inclusive): listening
            Segment(200, 299, source=Source.PREDICTED, review=ReviewState.ACCEPTED),  # 4.0 s
            Segment(400, 410, source=Source.PREDICTED),                  # unreviewed: not counted
            Segment(500, 510, source=Source.PREDICTED, review=ReviewState.REJECTED),  # not counted
        ],
        speaking=[Segment(0, 4), Segment(15, 24), Segment(250, 300, source=Source.PREDICTED)],
    ), tmp_path / "a.eaf", 25)
    save_eaf(ClipAnnotations(
        segments=[Segment(0, 24, label="micro:joy")],   # 25 frames at 50 fps = 0.5 s -> first bin
        speaking=[Segment(0, 11)],                       # 12/25 speaking -> listening
    ), tmp_path / "b.eaf", 50)
    return tmp_path


def test_context_rule():
    mask = np.array([1, 1, 0, 0, 1, 0], dtype=bool)
    assert speaking_context(Segment(0, 3), mask)          # 2 of 4: tie -> speaking
    assert not speaking_context(Segment(1, 3), mask)      # 1 of 3
    assert speaking_context(Segment(0, 0), mask)
    assert not speaking_context(Segment(5, 5), mask)


def test_duration_bins():
    assert [duration_bin(s) for s in (0.0, 0.2, 0.5, 0.50001, 1.0, 2.9, 3.0, 3.04, 60)] == \
        [0, 0, 0, 1, 1, 5, 5, 6, 6]
    assert len(BIN_LABELS) == 7


def test_clip_statistics(folder):
    stats = clip_statistics(folder)
    assert (stats.n_clips, stats.n_annotated, len(stats.subjects)) == (3, 2, 3)
    assert stats.n_me == 5
    assert (stats.me_speaking, stats.me_listening) == (2, 3)
    assert stats.duration_bins == [2, 1, 0, 0, 0, 1, 1]
    assert stats.durations_s == pytest.approx([0.4, 0.6, 3.0, 4.0, 0.5])
    assert stats.types == {"micro": 2, "macro": 1, "": 2}
    assert stats.speaking_s == pytest.approx((5 + 10) / 25 + 12 / 50)
    text = format_statistics(stats)
    assert "speaking        2   40.0%" in text
    assert "listening       3   60.0%" in text
    assert "0-0.5s          2   40.0%" in text
    assert ">3.0s           1   20.0%" in text
    assert "micro           2" in text


def test_plots(folder, tmp_path):
    paths = plot_statistics(clip_statistics(folder), tmp_path / "plots")
    assert [p.name for p in paths] == ["speaking_states.png", "durations.png"]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(DataError, match="no clips"):
        clip_statistics(tmp_path)
    with pytest.raises(DataError, match="not a folder"):
        clip_statistics(tmp_path / "missing")
    make_video(tmp_path / "x.mp4", 2, Fraction(30))
    stats = clip_statistics(tmp_path)
    assert stats.n_me == 0 and "micro-expressions (confirmed): 0" in format_statistics(stats)
    assert len(plot_statistics(stats, tmp_path / "p")) == 2           # no division by zero


def test_cli_stats(folder, tmp_path, capsys):
    from meldae.cli import dataset_cmds

    parser = argparse.ArgumentParser()
    dataset_cmds.register(parser.add_subparsers())
    args = parser.parse_args(["stats", str(folder), "--plots", str(tmp_path / "figs")])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "by speaking state (Fig. 1):" in out and "wrote" in out
    assert (tmp_path / "figs" / "durations.png").is_file()
