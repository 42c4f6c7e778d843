"""Region flow: parameter-free optical flow per face region, computed inside the model.

Why (docs/reproduction.md, docs/bench-train.md): a vision backbone trained from scratch on
real footage of a few people fits their appearance, not their motion, and does not carry
over to a new face (held-out speaking-state AUC 0.54-0.65 whatever the loss balance). The
MEGC spotting methods feed optical flow in face regions for this reason. Flow measured in
pixels of an eye-aligned crop does not depend on skin tone, lighting or contrast, so a head
that reads it generalises from one face to another.

For every frame t of a window and every cell of a G x G grid over the face crop (the same
regions as the enhancer's), one Lucas-Kanade least-squares solve gives the displacement
(u, v) that best explains the brightness change between a reference image and frame t:

    [Σ Ix²   Σ IxIy] [u]     [Σ Ix·It]
    [Σ IxIy  Σ Iy² ] [v] = − [Σ Iy·It]     (sums over the cell's pixels)

References (``FLOW_REFERENCES``): frame t-1 (fast motion: speech), frame t-4 (an ME's rise
over its onset phase) and the mean of frames t-8 and t+8 (a temporal band-pass: what is in
frame t but neither well before nor well after, i.e. a short event such as an ME, and not a
slow drift or a held expression). Indices outside the window are clamped to its edges.

The median flow over the face is subtracted from every cell (rigid head motion that the crop
did not remove), then each cell gives (u, v, |(u, v)|) in percent of the crop width,
compressed with asinh: (B, T, G*G, 9). Nothing here is learnt; gradients do not flow
through it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# (kind, k): ("back", k) compares frame t with t-k; ("band", k) with the mean of t-k and t+k.
FLOW_REFERENCES: tuple[tuple[str, int], ...] = (("back", 1), ("back", 4), ("band", 8))
#: Features per region: (u, v, magnitude) per reference.
FLOW_CHANNELS = 3 * len(FLOW_REFERENCES)
_BLUR_SIGMA = 1.0   # pixels at 64 px crops; scaled with the crop size
_EPS = 1e-3         # Tikhonov term, relative to the cell's mean gradient energy


def _gaussian_kernel(sigma: float) -> Tensor:
    radius = max(1, int(round(2.5 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()  # (2r+1,)


def _gradient(x: Tensor) -> tuple[Tensor, Tensor]:
    """``torch.gradient(x, dim=(2, 3))`` of (B, T, S, S) images, written with slices.

    Same arithmetic (central differences inside, one-sided at the edges), but made of ops
    that ONNX export supports (``aten::gradient`` has no ONNX translation).
    """
    def along(d: int) -> Tensor:
        n = x.shape[d]
        first = x.narrow(d, 1, 1) - x.narrow(d, 0, 1)
        inner = (x.narrow(d, 2, n - 2) - x.narrow(d, 0, n - 2)) / 2
        last = x.narrow(d, n - 1, 1) - x.narrow(d, n - 2, 1)
        return torch.cat([first, inner, last], dim=d)

    return along(2), along(3)


def _median(x: Tensor, dim: int) -> Tensor:
    """``x.median(dim, keepdim=True).values`` (the lower median) through a sort.

    Exportable to ONNX (``aten::median`` has no ONNX translation); the same value.
    """
    return x.sort(dim=dim).values.narrow(dim, (x.shape[dim] - 1) // 2, 1)


class RegionFlow(nn.Module):
    """Face crops (B, T, 3, S, S) -> region flow features (B, T, G*G, FLOW_CHANNELS)."""

    def __init__(self, grid: int, img_size: int) -> None:
        super().__init__()
        self.grid = grid
        self.register_buffer("blur", _gaussian_kernel(_BLUR_SIGMA * img_size / 64), persistent=False)

    def _smooth(self, grey: Tensor) -> Tensor:
        """Separable Gaussian blur of (N, 1, S, S) images (reflect padding)."""
        k = self.blur.to(grey.dtype)
        r = k.numel() // 2
        x = F.conv2d(F.pad(grey, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
        return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))

    def _cells(self, x: Tensor) -> Tensor:
        """(B, T, S, S) -> per-cell means (B, T, G*G)."""
        B, T = x.shape[:2]
        return F.adaptive_avg_pool2d(x.flatten(0, 1), self.grid).view(B, T, -1)

    @torch.no_grad()
    def forward(self, frames: Tensor) -> Tensor:
        """Normalised frames (B, T, 3, S, S) -> features (B, T, G*G, FLOW_CHANNELS)."""
        B, T, _, S, _ = frames.shape
        with torch.autocast(frames.device.type, enabled=False):
            grey = frames.float().mean(dim=2).reshape(B * T, 1, S, S)  # (B*T, 1, S, S)
            grey = self._smooth(grey).view(B, T, S, S)  # (B, T, S, S)
            gy, gx = _gradient(grey)  # (B, T, S, S) each
            sxx, sxy, syy = self._cells(gx * gx), self._cells(gx * gy), self._cells(gy * gy)  # (B, T, G*G)
            eps = _EPS * (sxx + syy).mean(dim=(1, 2), keepdim=True) + 1e-12  # (B, 1, 1)
            sxx, syy = sxx + eps, syy + eps
            det = sxx * syy - sxy * sxy  # (B, T, G*G)
            t = torch.arange(T, device=frames.device)
            feats = []
            for kind, k in FLOW_REFERENCES:
                before = grey[:, (t - k).clamp(min=0)]  # (B, T, S, S)
                ref = before if kind == "back" else 0.5 * (before + grey[:, (t + k).clamp(max=T - 1)])
                it = grey - ref  # (B, T, S, S)
                bx, by = self._cells(gx * it), self._cells(gy * it)  # (B, T, G*G)
                u = -(syy * bx - sxy * by) / det  # (B, T, G*G) pixels
                v = -(sxx * by - sxy * bx) / det  # (B, T, G*G)
                u = u - _median(u, dim=2)  # rigid motion removed
                v = v - _median(v, dim=2)
                feats += [u, v, torch.sqrt(u * u + v * v)]
            flow = torch.stack(feats, dim=-1) * (100.0 / S)  # (B, T, G*G, C) percent of the crop
            return torch.asinh(flow)
