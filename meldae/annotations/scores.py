"""Per-frame model scores as a CSV that ELAN's Timeseries Viewer reads.

Layout: one header row, then one row per frame; the first column is the frame's start
time in seconds (``frame_to_ms(i) / 1000``, three decimals, the same times the EAF uses),
then one column per score. In ELAN: Edit > Linked Files > Linked Secondary Files adds it
(``save_eaf(scores_csv=...)`` links it already); Configure Tracks, time column 1.
"""

from __future__ import annotations

import csv
import io
from fractions import Fraction
from pathlib import Path

import numpy as np

from meldae.annotations.files import atomic_write_bytes
from meldae.annotations.model import AnnotationError
from meldae.timebase import as_fps, frame_to_ms, ms_to_frame

HEADER = ("time_s", "me_score", "speaking_score")


def save_scores_csv(path: str | Path, loc_scores: np.ndarray, state_scores: np.ndarray | None,
                    fps: Fraction | float | str) -> None:
    """Write per-frame scores (atomically) as ``time_s,me_score[,speaking_score]``.

    Args:
        path: the CSV file.
        loc_scores: ``(N,)`` localisation (ME) scores per frame.
        state_scores: ``(N,)`` speaking-state scores per frame, or None to leave the column out.
        fps: the video's frame rate.

    Raises:
        AnnotationError: when the arrays are not 1-D or differ in length.
    """
    path = Path(path)
    rate = as_fps(fps)
    loc = np.asarray(loc_scores, dtype=np.float64)  # (N,)
    columns = [loc]
    if state_scores is not None:
        columns.append(np.asarray(state_scores, dtype=np.float64))  # (N,)
    if any(c.ndim != 1 or len(c) != len(loc) for c in columns):
        shapes = [c.shape for c in columns]
        raise AnnotationError(f"{path}: score arrays must be 1-D and equally long, got {shapes}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER[: 1 + len(columns)])
    for frame_idx in range(len(loc)):
        ms = frame_to_ms(frame_idx, rate)
        writer.writerow([f"{ms // 1000}.{ms % 1000:03d}", *(f"{c[frame_idx]:.6f}" for c in columns)])
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8"))


def load_scores_csv(path: str | Path, fps: Fraction | float | str) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a CSV written by ``save_scores_csv``: ``(loc_scores, state_scores or None)``.

    Raises:
        AnnotationError: unreadable file, bad header, non-numeric value, or rows that are
            not consecutive frames.
    """
    path = Path(path)
    rate = as_fps(fps)
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    except OSError as exc:
        raise AnnotationError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not rows or tuple(rows[0]) not in (HEADER[:2], HEADER):
        raise AnnotationError(f"{path}: header must be {','.join(HEADER)}")
    n_cols = len(rows[0])
    values = np.zeros((len(rows) - 1, n_cols - 1), dtype=np.float32)  # (N, C)
    for line, row in enumerate(rows[1:], start=2):
        try:
            if len(row) != n_cols:
                raise ValueError(f"{len(row)} columns, expected {n_cols}")
            ms = round(float(row[0]) * 1000)
            if ms_to_frame(ms, rate) != line - 2:
                raise ValueError(f"time {row[0]} s is not frame {line - 2}")
            values[line - 2] = [float(v) for v in row[1:]]
        except ValueError as exc:
            raise AnnotationError(f"{path}: line {line}: {exc}") from None
    return values[:, 0].copy(), (values[:, 1].copy() if n_cols == 3 else None)
