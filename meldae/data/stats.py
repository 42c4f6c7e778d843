"""Dataset statistics as in the paper's Fig. 1-2: MEs by speaking state, durations.

Context of an ME = the speaking state covering the majority of its frames, ties ->
speaking (the rule ``meldae.metrics`` uses). Only confirmed segments count (manual, and
accepted predictions), against confirmed speaking intervals. Duration bins (seconds):
[0, 0.5], (0.5, 1.0], ..., (2.5, 3.0], > 3.0 -- a 0.5 s expression is a micro-expression.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from meldae.annotations import ClipAnnotations, Segment, TierNames
from meldae.data.clipfolder import DataError, clip_fps, discover_clips, load_clip_annotations
from meldae.data.convert import expression_type_of

log = logging.getLogger(__name__)

BIN_EDGES_S = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
BIN_LABELS = ("0-0.5s", "0.5-1.0s", "1.0-1.5s", "1.5-2.0s", "2.0-2.5s", "2.5-3.0s", ">3.0s")


@dataclass
class DatasetStats:
    """What ``clip_statistics`` counts over a clip folder."""

    folder: Path
    n_clips: int = 0
    n_annotated: int = 0                     # clips with an .eaf
    n_me: int = 0
    me_speaking: int = 0
    me_listening: int = 0
    duration_bins: list[int] = field(default_factory=lambda: [0] * len(BIN_LABELS))
    durations_s: list[float] = field(default_factory=list)
    types: Counter = field(default_factory=Counter)      # "micro" / "macro" / "" (unknown)
    speaking_s: float = 0.0                  # total confirmed speaking time
    subjects: set[str] = field(default_factory=set)


def speaking_context(segment: Segment, speaking_mask: np.ndarray) -> bool:
    """True when most of the segment's frames are speaking frames (ties -> speaking).

    The rule of ``meldae.metrics.segment_context``; ``speaking_mask`` must cover the segment.
    """
    from meldae.metrics import segment_context

    return segment_context((segment.onset, segment.offset), speaking_mask) == "speaking"


def duration_bin(seconds: float) -> int:
    """Index into ``BIN_LABELS`` (upper edges inclusive)."""
    for i, edge in enumerate(BIN_EDGES_S):
        if seconds <= edge + 1e-9:
            return i
    return len(BIN_EDGES_S)


def add_clip(stats: DatasetStats, doc: ClipAnnotations, fps: Fraction) -> None:
    """Count one clip's confirmed MEs into ``stats``."""
    segments = doc.confirmed_segments()
    speaking = doc.confirmed_speaking()
    end = max([s.offset + 1 for s in segments + speaking], default=0)
    mask = doc.speaking_mask(end)  # (end,)
    stats.speaking_s += float(sum(s.n_frames for s in speaking) / fps)
    for seg in segments:
        seconds = float(seg.n_frames / fps)
        stats.n_me += 1
        stats.durations_s.append(seconds)
        stats.duration_bins[duration_bin(seconds)] += 1
        stats.types[expression_type_of(seg.label)] += 1
        if speaking_context(seg, mask):
            stats.me_speaking += 1
        else:
            stats.me_listening += 1


def clip_statistics(folder: str | Path, tiers: TierNames = TierNames()) -> DatasetStats:
    """Count MEs by context and duration over every clip of a clip folder.

    The frame rate of each clip comes from its video header (no decoding).

    Raises:
        DataError: not a clip folder, or no clips in it.
        meldae.video.VideoError / meldae.annotations.AnnotationError: a bad clip.
    """
    clips = discover_clips(folder)
    if not clips:
        raise DataError(f"{folder}: no clips (videos with an .eaf beside them) in the folder")
    stats = DatasetStats(Path(folder), n_clips=len(clips))
    for clip in clips:
        stats.subjects.add(clip.subject)
        if clip.eaf_path is None:
            continue
        stats.n_annotated += 1
        fps = clip_fps(clip)
        add_clip(stats, load_clip_annotations(clip, fps, tiers), fps)
    return stats


def _share(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:5.1f}%" if whole else "    -"


def format_statistics(stats: DatasetStats) -> str:
    """A plain-text report of ``stats`` (what ``meldae stats`` prints)."""
    lines = [
        f"clip folder: {stats.folder}",
        f"clips: {stats.n_clips} ({stats.n_annotated} annotated), subjects: {len(stats.subjects)}",
        f"micro-expressions (confirmed): {stats.n_me}",
        f"speaking time: {stats.speaking_s:.1f} s",
        "",
        "by speaking state (Fig. 1):",
        f"  speaking   {stats.me_speaking:6d}  {_share(stats.me_speaking, stats.n_me)}",
        f"  listening  {stats.me_listening:6d}  {_share(stats.me_listening, stats.n_me)}",
        "",
        "by duration (Fig. 2):",
    ]
    lines += [f"  {label:9s}  {count:6d}  {_share(count, stats.n_me)}"
              for label, count in zip(BIN_LABELS, stats.duration_bins)]
    if any(stats.types.get(t) for t in ("micro", "macro")):
        lines += ["", "by expression type:"]
        lines += [f"  {t or 'unknown':9s}  {stats.types[t]:6d}"
                  for t in ("micro", "macro", "") if stats.types.get(t)]
    if stats.durations_s:
        d = np.asarray(stats.durations_s)  # (n_me,)
        lines += ["", f"duration: mean {d.mean():.3f} s, median {np.median(d):.3f} s, "
                      f"min {d.min():.3f} s, max {d.max():.3f} s"]
    return "\n".join(lines)


def plot_statistics(stats: DatasetStats, out_dir: str | Path) -> list[Path]:
    """Write ``speaking_states.png`` (pie, Fig. 1) and ``durations.png`` (bars, Fig. 2).

    Uses matplotlib's Agg canvas directly (no global backend switch, no display needed).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{out}: cannot create ({exc.strerror or exc})") from None
    paths = []

    fig = Figure(figsize=(5, 5), dpi=100)
    ax = fig.add_subplot()
    counts = [stats.me_speaking, stats.me_listening]
    if sum(counts):
        ax.pie(counts, labels=["Speaking", "Listening"], colors=["#1f77b4", "#ff7f0e"],
               autopct=lambda p: f"{p:.1f}%\n({round(p * sum(counts) / 100)})", startangle=90)
    else:
        ax.text(0.5, 0.5, "no micro-expressions", ha="center", va="center")
        ax.set_axis_off()
    ax.set_title("Distribution of speaking states")
    paths.append(_save(fig, FigureCanvasAgg, out / "speaking_states.png"))

    fig = Figure(figsize=(7, 4.5), dpi=100)
    ax = fig.add_subplot()
    bars = ax.bar(BIN_LABELS, stats.duration_bins, color="#1f77b4")
    ax.bar_label(bars)
    ax.set_xlabel("duration")
    ax.set_ylabel("number of expressions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Micro-expression duration")
    fig.tight_layout()
    paths.append(_save(fig, FigureCanvasAgg, out / "durations.png"))
    return paths


def _save(fig, canvas_cls, path: Path) -> Path:
    canvas_cls(fig)
    from meldae.atomic import atomic_write

    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"), suffix=".png")
    except OSError as exc:
        raise DataError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path
