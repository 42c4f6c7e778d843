"""The enhancer's attention over the face, as the paper's Figures 6-8 draw it.

``meldae attention VIDEO --checkpoint CK --frames A:B --out PNG`` runs the model on the one
window of T frames that holds frames A..B (inclusive, 0-based; the window is centred on
them and kept inside the video), takes the enhancer's attention ``(N, T, G, G)`` and
averages it over the queries of each query group (N = 16 queries in 4 groups of 4 by
default). The figure has one row per query group and one column per frame (at most
``max_frames``, evenly spaced over A..B); each cell is the face crop with the group's G×G
attention laid over it. Values are shown relative to uniform attention (``× T·G·G``: 1 =
the query spreads its attention evenly over every region of every frame), on one colour
scale for the whole figure, so cells can be compared. The rows of the grid carry the
paper's facial bands (rows 1-2 forehead ... rows 9-10 chin & jaw for G = 10).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# The paper's figures 6-8: a 10x10 grid, two rows per band, forehead at the top.
REGION_BANDS: tuple[str, ...] = ("Forehead", "Eyes & brows", "Nose & cheeks", "Mouth",
                                 "Chin & jaw")


class AttentionError(ValueError):
    """A request the attention figure cannot serve (bad frame range, no enhancer...)."""


def row_bands(grid: int) -> list[tuple[int, int, str]]:
    """The facial band of each group of rows for a ``grid``×``grid`` attention map.

    Row ``r`` (0 = top) belongs to band ``floor(r * 5 / grid)``; for G = 10 this gives the
    paper's rows 1-2 Forehead, 3-4 Eyes & brows, 5-6 Nose & cheeks, 7-8 Mouth, 9-10 Chin & jaw.

    Returns:
        ``(first_row, last_row, name)`` with 0-based inclusive rows, top to bottom.
    """
    bands: list[tuple[int, int, str]] = []
    for row in range(grid):
        name = REGION_BANDS[row * len(REGION_BANDS) // grid]
        if bands and bands[-1][2] == name:
            bands[-1] = (bands[-1][0], row, name)
        else:
            bands.append((row, row, name))
    return bands


@dataclass(frozen=True)
class AttentionFigure:
    """What the figure shows (numbers only; ``plot_attention`` draws it)."""

    frames: list[int]            # video frame index of each column
    crops: np.ndarray            # (F, S, S, 3) uint8 face crops of those frames
    maps: np.ndarray             # (Q, F, G, G) float: group attention relative to uniform
    groups: list[tuple[int, int]]  # inclusive query ranges (0-based) of each row
    window: tuple[int, int]      # [start, stop) of the window the model ran on


def parse_frames(text: str) -> tuple[int, int]:
    """``"A:B"`` (or ``"A"``) -> inclusive ``(A, B)``.

    Raises:
        AttentionError: not of that form, or B < A.
    """
    parts = text.split(":")
    try:
        first, last = (int(parts[0]), int(parts[-1])) if len(parts) <= 2 else (None, None)
    except ValueError:
        first = last = None
    if first is None or last is None or first < 0 or last < first:
        raise AttentionError(f"--frames {text!r}: give A:B with 0 <= A <= B (frame indices, "
                             "inclusive), e.g. 120:127")
    return first, last


def query_groups(num_queries: int, groups: int) -> list[tuple[int, int]]:
    """Split the N queries into ``groups`` contiguous, nearly equal ranges (inclusive)."""
    groups = max(1, min(groups, num_queries))
    edges = np.linspace(0, num_queries, groups + 1).round().astype(int)
    return [(int(a), int(b) - 1) for a, b in zip(edges[:-1], edges[1:])]


def _window_start(first: int, last: int, n_frames: int, length: int) -> int:
    """The start of the window of ``length`` frames centred on ``first..last`` (which it
    holds whole), kept inside the video."""
    slack = length - (last - first + 1)
    return int(max(0, min(first - slack // 2, n_frames - length)))


def attention_figure(model, crops: np.ndarray, first: int, last: int, groups: int = 4,
                     max_frames: int = 8) -> AttentionFigure:
    """Run ``model`` on the window around frames ``first..last`` and group its attention.

    Args:
        model: a ``meldae.model.MELDAE`` with an enhancer.
        crops: the video's face crops ``(n, S, S, 3)`` uint8.
        first, last: the frames to show (inclusive, 0-based).
        groups: query groups (rows of the figure).
        max_frames: at most this many columns (evenly spaced over first..last).

    Raises:
        AttentionError: no enhancer, a range outside the video or longer than a window.
    """
    import torch

    cfg, n = model.cfg, len(crops)
    if not cfg.use_enhancer:
        raise AttentionError("this checkpoint has no ME enhancer (the MELDAE* ablation): it "
                             "has no attention to draw")
    if last >= n:
        raise AttentionError(f"--frames {first}:{last}: the video has frames 0..{n - 1}")
    if last - first + 1 > cfg.num_frames:
        raise AttentionError(f"--frames {first}:{last}: at most {cfg.num_frames} frames (one "
                             "window of the model) at a time")
    start = _window_start(first, last, n, cfg.num_frames)
    idx = np.minimum(np.arange(start, start + cfg.num_frames), n - 1)        # (T,)
    model.eval()
    with torch.no_grad():
        out = model(model.prepare(np.asarray(crops)[idx][None]), need_attention=True)
    attention = out.attention[0].float().cpu().numpy()                      # (N, T, G, G)
    T, G = attention.shape[1], attention.shape[2]
    wanted = list(range(first, last + 1))
    if len(wanted) > max_frames:
        wanted = [wanted[i] for i in np.linspace(0, len(wanted) - 1, max_frames).round().astype(int)]
    cols = [f - start for f in wanted]
    ranges = query_groups(attention.shape[0], groups)
    maps = np.stack([attention[a:b + 1][:, cols].mean(axis=0) for a, b in ranges])  # (Q, F, G, G)
    return AttentionFigure(wanted, np.asarray(crops)[wanted], maps * (T * G * G), ranges,
                           (start, start + cfg.num_frames))


def plot_attention(fig_data: AttentionFigure, path: Path, title: str = "") -> Path:
    """Draw the figure (rows: query groups; columns: frames) to a PNG, atomically.

    One colour scale for the whole figure, square-root compressed (attention is peaked: a
    linear scale leaves all but the strongest cell dark); the overlay's opacity follows the
    value, so the face stays visible where attention is low.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import PowerNorm

    from meldae.atomic import atomic_write

    Q, F, G, _ = fig_data.maps.shape
    norm = PowerNorm(0.5, vmin=0.0, vmax=max(float(fig_data.maps.max()), 1e-6))
    cmap = plt.get_cmap("inferno")
    fig, axes = plt.subplots(Q, F, figsize=(1.5 * F + 2.4, 1.5 * Q + 0.9), dpi=110, squeeze=False)
    for q in range(Q):
        for f in range(F):
            ax = axes[q][f]
            level = norm(fig_data.maps[q, f])                                 # (G, G) in [0, 1]
            overlay = cmap(level)                                             # (G, G, 4)
            overlay[..., 3] = 0.1 + 0.75 * np.asarray(level)
            ax.imshow(fig_data.crops[f].mean(axis=-1), cmap="gray", extent=(0, G, G, 0))
            ax.imshow(overlay, extent=(0, G, G, 0), interpolation="nearest")
            ax.set_xticks([])
            _label_cell(ax, fig_data, q, f, G)
    fig.colorbar(ScalarMappable(norm, cmap), ax=axes, shrink=0.8, label="attention ÷ uniform")
    fig.suptitle(title or "ME Enhancer attention per query group", fontsize=9)
    atomic_write(Path(path), fig.savefig, suffix=".png")
    plt.close(fig)
    return Path(path)


def _label_cell(ax, fig_data: AttentionFigure, q: int, f: int, grid: int) -> None:
    """Frame numbers on top; query group and the paper's facial bands on the left."""
    if q == 0:
        ax.set_title(f"frame {fig_data.frames[f]}", fontsize=8)
    if f != 0:
        ax.set_yticks([])
        return
    bands = row_bands(grid)
    ax.set_yticks([(a + b + 1) / 2 for a, b, _ in bands])
    ax.set_yticklabels([name for _, _, name in bands], fontsize=6)
    ax.tick_params(axis="y", length=0)
    a, b = fig_data.groups[q]
    ax.set_ylabel(f"queries {a + 1}-{b + 1}", fontsize=8)
