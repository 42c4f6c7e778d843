"""Attention panel: the paper's row bands, the frame shown, the colour range."""

from __future__ import annotations

import numpy as np
import pytest

from app.review.attention_panel import AttentionPanel, clip_range, row_bands


def test_row_bands_match_the_paper_for_a_10x10_grid():
    assert row_bands(10) == [(0, 1, "Forehead"), (2, 3, "Eyes & brows"),
                             (4, 5, "Nose & cheeks"), (6, 7, "Mouth"), (8, 9, "Chin & jaw")]


def test_row_bands_scale_proportionally_for_other_grids():
    # G=4 (tiny preset): row r -> band floor(5r/4): 0, 1, 2, 3
    assert row_bands(4) == [(0, 0, "Forehead"), (1, 1, "Eyes & brows"),
                            (2, 2, "Nose & cheeks"), (3, 3, "Mouth")]
    # G=14: 14 rows over 5 bands, floor(5r/14) -> 3,3,3,3,2 rows
    assert [(a, b) for a, b, _ in row_bands(14)] == [(0, 2), (3, 5), (6, 8), (9, 11), (12, 13)]


@pytest.fixture
def panel(qtbot):
    widget = AttentionPanel()
    qtbot.addWidget(widget)
    widget.resize(360, 360)
    widget.show()
    return widget


def test_shows_the_attention_of_the_current_frame(panel):
    attention = np.arange(3 * 4 * 4, dtype=np.float32).reshape(3, 4, 4) / 100
    panel.set_attention(attention, done=2)
    panel.show_frame(1)
    assert panel.current_frame == 1
    np.testing.assert_allclose(panel.image_item.image, attention[1])
    assert panel.range_mode == "per frame"
    assert panel.value_range == (0.0, pytest.approx(0.31))      # frame 1's maximum
    assert "frame 1" in panel.caption.text() and "per frame" in panel.caption.text()
    ticks = panel.plot.getAxis("left")._tickLevels[0]
    assert [label for _, label in ticks] == ["1 Forehead", "2 Eyes & brows",
                                              "3 Nose & cheeks", "4 Mouth"]


def test_per_clip_range_is_a_percentile_of_the_scored_frames(panel):
    attention = np.zeros((4, 10, 10), np.float32)
    attention[0] = 0.01
    attention[1, 0, 0] = 5.0            # one spike must not set the range
    attention[3] = 9.0                  # not scored yet: ignored
    assert clip_range(attention, 2) == pytest.approx(0.01)
    panel.set_attention(attention, done=2)
    panel.set_range_mode("per clip")
    panel.show_frame(0)
    assert panel.value_range == (0.0, pytest.approx(0.01))
    assert "per clip" in panel.caption.text()


def test_unscored_frame_is_blank(panel):
    attention = np.ones((3, 10, 10), np.float32)
    panel.set_attention(attention, done=1)
    panel.show_frame(2)
    assert panel.image_item.image is None
    assert "not scored yet" in panel.caption.text()
    panel.clear()
    panel.show_frame(0)
    assert panel.image_item.image is None
