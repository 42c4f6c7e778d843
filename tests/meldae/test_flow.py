"""Region flow (meldae.model.flow): known shifts are measured where they happen."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from meldae.model import MELDAE, preset
from meldae.model.flow import FLOW_CHANNELS, FLOW_REFERENCES, RegionFlow


def _texture(size: int, seed: int = 0) -> np.ndarray:
    """A smooth random grey texture (size, size) in [0, 1]."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 1, (size, size)).astype(np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 2.0) * 4 - 1.5


def _shifted(image: np.ndarray, dx: float, dy: float, box: tuple[int, int, int, int]) -> np.ndarray:
    """``image`` whose content inside ``box`` (x0, y0, x1, y1) moved by (dx, dy) pixels."""
    import cv2

    h, w = image.shape
    moved = cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h),
                           flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    out = image.copy()
    x0, y0, x1, y1 = box
    out[y0:y1, x0:x1] = moved[y0:y1, x0:x1]
    return out


def _frames(images: list[np.ndarray]) -> torch.Tensor:
    """Grey images -> (1, T, 3, S, S)."""
    x = torch.from_numpy(np.stack(images)).float()          # (T, S, S)
    return x[None, :, None].expand(1, len(images), 3, *x.shape[1:]).contiguous()


def test_a_shift_inside_one_region_is_measured_there_and_only_there():
    size, grid = 64, 4
    base = _texture(size)
    cell = (16, 32, 32, 48)                    # region (row 2, column 1) of the 4x4 grid
    moved = _shifted(base, dx=0.0, dy=-0.8, box=cell)
    flow = RegionFlow(grid, size)(_frames([base] * 5 + [moved] * 3))  # (1, 8, 16, 9)
    assert flow.shape == (1, 8, grid * grid, FLOW_CHANNELS)
    back1 = flow[0, :, :, 0:3]                 # ("back", 1): (u, v, |.|) per frame and region
    region = 2 * grid + 1
    assert torch.all(flow[0, :5, :, :6].abs() < 1e-4)       # still frames: no motion
    v_in_pixels = torch.sinh(back1[5, region, 1]) * size / 100
    assert v_in_pixels == pytest.approx(-0.8, abs=0.25)      # upward, about 0.8 px
    others = [r for r in range(grid * grid) if r != region]
    assert back1[5, others, 2].abs().max() < 0.3 * back1[5, region, 2]
    assert back1[6, region, 2] < 0.05          # t-1 is already moved: nothing new at t=6


def test_flow_ignores_brightness_and_contrast_and_rigid_motion():
    size, grid = 64, 4
    base = _texture(size, seed=1)
    moved = _shifted(base, 0.6, 0.0, (32, 0, 48, 16))
    a = RegionFlow(grid, size)(_frames([base, moved]))
    b = RegionFlow(grid, size)(_frames([2.0 * base + 0.3, 2.0 * moved + 0.3]))
    torch.testing.assert_close(a, b, atol=2e-3, rtol=1e-2)
    everything = _shifted(base, 0.7, 0.0, (0, 0, size, size))       # the whole face moves
    rigid = RegionFlow(grid, size)(_frames([base, everything]))
    assert rigid[0, 1, :, 2].median() < 0.05                          # median removed


def test_band_reference_sees_a_short_event_not_a_held_change():
    size, grid = 64, 4
    base = _texture(size, seed=2)
    moved = _shifted(base, 0.0, 0.8, (0, 16, 16, 32))
    k = dict(FLOW_REFERENCES)["band"]
    held = [base] * 12 + [moved] * 20           # a change that stays
    blip = [base] * 12 + [moved] * 3 + [base] * 17   # a short event
    region, band_mag = grid, 3 * len(FLOW_REFERENCES) - 1
    held_flow = RegionFlow(grid, size)(_frames(held))[0, 13 + k, region, band_mag]
    blip_flow = RegionFlow(grid, size)(_frames(blip))[0, 13, region, band_mag]
    assert blip_flow > 0.1 and held_flow < 0.05


def test_presets_and_switch():
    assert preset("lite").region_flow and preset("tiny").region_flow
    assert not preset("paper").region_flow
    with_flow = MELDAE(preset("tiny", num_frames=8))
    without = MELDAE(preset("tiny", num_frames=8, region_flow=False))
    assert with_flow.flow is not None and without.flow is None
    assert not any(p.requires_grad for p in with_flow.flow.parameters())
    frames = torch.randn(2, 8, 3, 64, 64)
    assert with_flow(frames).loc_logits.shape == (2, 8)
    assert sum(p.numel() for p in without.parameters()) < sum(p.numel() for p in with_flow.parameters())


def test_export_friendly_gradient_and_median_equal_torchs():
    # flow.py writes torch.gradient and median with slices and a sort so that ONNX export
    # works (meldae export-onnx); the values must be exactly torch's.
    from meldae.model.flow import _gradient, _median

    x = torch.randn(2, 3, 9, 7)
    gy, gx = torch.gradient(x, dim=(2, 3))
    ay, ax = _gradient(x)
    assert torch.equal(gy, ay) and torch.equal(gx, ax)
    for n in (15, 16):   # odd and even counts: torch takes the lower median
        y = torch.randn(4, 5, n)
        assert torch.equal(y.median(dim=2, keepdim=True).values, _median(y, dim=2))
