"""MEGC scoring and the MEGC submission CSV (``meldae evaluate --protocol megc``).

Two protocols count spotting hits (``PROTOCOLS``):

- ``meldae`` (default, DESIGN §4): one-to-one greedy matching by descending IoU; TP =
  matched pairs, FP = predictions − TP, FN = ground truths − TP.
- ``megc``: as the MEGC 2020–2022 baseline scripts count: a ground-truth interval is a TP
  when at least one prediction has IoU ≥ 0.5 with it (inclusive frame intervals); FP =
  predictions − TP; FN = ground truths − TP; counts pooled over the dataset, then P, R and
  F1 once. A prediction may thus find two ground truths, and two predictions the same one.
  The scripts' FP can go negative for a clip where one prediction finds two ground truths;
  we count 0 there (the only departure, noted in docs/reproduction.md).

Context F1 (speaking / listening) under ``megc`` applies the same rule within each context:
the ground truths of the context against the predictions of the context.

The submission CSV (MEGC 2022–2023 spotting challenges) has one row per predicted interval:
``vid,pred_onset,pred_offset,type`` with frame numbers counted from ``frame_base`` (1, as the
datasets number their images) and type ``me`` (micro, at most 0.5 s) or ``mae`` (macro).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from meldae.metrics import CONTEXTS, Counts, f1_dr, interval_iou, prf_from_counts, segment_context

PROTOCOLS = ("meldae", "megc")
MEGC_CSV_HEADER = ("vid", "pred_onset", "pred_offset", "type")
MICRO_MAX_S = 0.5


def megc_counts(preds: Sequence[Sequence[int]], gts: Sequence[Sequence[int]],
                iou_threshold: float = 0.5) -> Counts:
    """(tp, fp, fn) of one clip the MEGC way (see the module docstring)."""
    found = sum(1 for g in gts if any(interval_iou(p, g) >= iou_threshold and
                                      interval_iou(p, g) > 0.0 for p in preds))
    return found, max(0, len(preds) - found), len(gts) - found


def evaluate_spotting_megc(
    clips: Iterable[tuple[Sequence[Sequence[int]], Sequence[Sequence[int]], object]],
    iou_threshold: float = 0.5,
) -> dict[str, float | int]:
    """``meldae.metrics.evaluate_spotting``'s figures, counted the MEGC way.

    Args:
        clips: ``(preds, gts, speaking_mask)`` per clip.
        iou_threshold: a ground truth is found at IoU >= this.
    """
    total = np.zeros(3, dtype=np.int64)
    per_ctx = {ctx: np.zeros(3, dtype=np.int64) for ctx in CONTEXTS}
    for preds, gts, speaking in clips:
        mask = np.asarray(speaking).astype(bool)
        total += megc_counts(preds, gts, iou_threshold)
        for ctx in CONTEXTS:
            ctx_preds = [p for p in preds if segment_context(p, mask) == ctx]
            ctx_gts = [g for g in gts if segment_context(g, mask) == ctx]
            per_ctx[ctx] += megc_counts(ctx_preds, ctx_gts, iou_threshold)
    tp, fp, fn = (int(c) for c in total)
    precision, recall, f1 = prf_from_counts(tp, fp, fn)
    report: dict[str, float | int] = {"f1": f1, "precision": precision, "recall": recall,
                                      "tp": tp, "fp": fp, "fn": fn}
    for ctx in CONTEXTS:
        c_tp, c_fp, c_fn = (int(c) for c in per_ctx[ctx])
        report[f"f1_{ctx}"] = prf_from_counts(c_tp, c_fp, c_fn)[2]
        report.update({f"tp_{ctx}": c_tp, f"fp_{ctx}": c_fp, f"fn_{ctx}": c_fn})
    report["f1_dr"] = f1_dr(float(report["f1_speaking"]), float(report["f1_listening"]))
    return report


def megc_type(onset: int, offset: int, fps: Fraction | float | None) -> str:
    """``me`` for an interval of at most 0.5 s, else ``mae`` (30 fps when unknown)."""
    rate = float(fps) if fps else 30.0
    return "me" if offset - onset + 1 <= int(MICRO_MAX_S * rate) else "mae"


def megc_rows(name: str, segments: Iterable[Sequence[int]], fps: Fraction | float | None,
              frame_base: int = 1) -> list[tuple[str, int, int, str]]:
    """The submission rows of one clip (frame indices shifted by ``frame_base``)."""
    return [(name, int(on) + frame_base, int(off) + frame_base, megc_type(int(on), int(off), fps))
            for on, off in segments]


def megc_csv_text(rows: Iterable[tuple[str, int, int, str]]) -> str:
    """The submission CSV text (header + rows)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MEGC_CSV_HEADER)
    writer.writerows(rows)
    return buf.getvalue()


def write_megc_csv(path: Path, rows: Iterable[tuple[str, int, int, str]]) -> Path:
    """Write the submission CSV atomically; returns the path."""
    from meldae.atomic import atomic_write_text

    return atomic_write_text(Path(path), megc_csv_text(rows))
