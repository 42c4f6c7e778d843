"""Evaluation of a checkpoint on a clip folder with the paper's metrics (``meldae evaluate``).

Honest evaluation (DESIGN §6): the score threshold and the post-processing (min_length,
merge_gap) are the ones the trainer chose on the validation split and stored in the
checkpoint's meta; nothing is tuned on the split being evaluated. The report says which
values were used and where they came from. The split is the one the run was trained with
(``meta["splits"]`` names the clips) when the folder is the training folder; for any other
folder see :mod:`meldae.eval_splits` (a folder without splits is evaluated whole, and the
report says so).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from meldae.eval_splits import SPLIT_CHOICES, EvaluationError, select_clips

log = logging.getLogger(__name__)

__all__ = ["SPLIT_CHOICES", "EvaluationError", "build_report", "evaluate_checkpoint",
           "format_report", "select_clips", "write_report"]


def build_report(clips, scores, post, source: str, split: str, iou_threshold: float = 0.5,
                 extra: dict[str, Any] | None = None, protocol: str = "meldae") -> dict[str, Any]:
    """The evaluation report: overall metrics, per-clip metrics and what was used.

    ``protocol``: ``meldae`` (one-to-one matching) or ``megc`` (see ``meldae.megc``).
    """
    from meldae.train.measure import measure, per_clip

    report = {
        **(extra or {}), "split": split, "n_clips": len(clips),
        "postprocessing": post.to_meta(source),
        "iou_threshold": iou_threshold, "protocol": protocol,
        "overall": measure(clips, scores, post, iou_threshold, protocol=protocol),
        "clips": per_clip(clips, scores, post, iou_threshold, protocol),
    }
    if split == "val" and "validation" in source:
        report["warning"] = ("the post-processing was chosen on this same validation split: "
                             "these figures are optimistic; evaluate on the test split")
    return report


def evaluate_checkpoint(data_dir: Path, checkpoint: Path, split: str = "test",
                        device: str = "auto", stride: int | None = None, batch_size: int = 8,
                        cache_dir: Path | None = None, scores_out: Path | None = None,
                        protocol: str = "meldae") -> dict[str, Any]:
    """Score every clip of ``split`` with the checkpoint and measure it.

    The clips are scored by the same engine as ``meldae infer`` and the app, with the
    stride the checkpoint was validated with (else ``T // 2``).

    Args:
        scores_out: a folder that receives each clip's scores as ``<clip>.npz``
            (``loc_scores``, ``state_scores``, ``face_found``, ``fps``, ``fps_fraction``;
            the arrays ``meldae infer`` writes under the same names).

    Returns:
        The report (see ``build_report``), with ``checkpoint`` and ``data``.

    Raises:
        meldae.checkpoint.CheckpointError: unusable checkpoint.
        EvaluationError: nothing to evaluate.
    """
    from meldae.checkpoint import load_checkpoint
    from meldae.infer.default_model import validation_stride
    from meldae.postprocess import PostProcessing, postprocessing_source
    from meldae.train.distributed import DistEnv, pick_device
    from meldae.train.run import load_eval_clip
    from meldae.train.validate import score_clips

    dev = pick_device(device, DistEnv())
    model, doc = load_checkpoint(checkpoint, map_location=dev)
    meta = doc.get("meta") or {}
    selection = select_clips(Path(data_dir), split, meta)
    infos = selection.clips
    clips = [load_eval_clip(c, model.cfg.img_size, cache_dir) for c in infos]
    stride = stride or validation_stride(doc) or max(1, model.cfg.num_frames // 2)
    scores = score_clips(model, clips, stride, batch_size)
    if scores_out is not None:
        for clip_scores in scores:
            clip_scores.save_scores(Path(scores_out) / f"{clip_scores.name}.npz")
    post, source = PostProcessing.from_meta(meta), postprocessing_source(meta)
    iou = float((meta.get("train") or {}).get("iou_threshold", 0.5))
    return build_report(clips, scores, post, source, split, iou,
                        {"checkpoint": str(checkpoint), "data": str(data_dir),
                         "clips_chosen": selection.note, "model_epoch": meta.get("epoch"),
                         "stride": stride}, protocol)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{100 * value:6.2f}"
    return str(value)


_COLUMNS = (("tp", "TP"), ("fp", "FP"), ("fn", "FN"), ("precision", "P%"), ("recall", "R%"),
            ("f1", "F1%"), ("f1_speaking", "F1sp%"), ("f1_listening", "F1li%"),
            ("f1_dr", "F1DR%"), ("acc_me", "AccME%"), ("acc_state", "AccSt%"), ("uf1", "UF1%"))


def format_report(report: dict[str, Any]) -> str:
    """The report as a plain-text table: one row per clip and the overall row."""
    post = report["postprocessing"]
    head = [f"split {report['split']}: {report['n_clips']} clip(s), protocol "
            f"{report.get('protocol', 'meldae')}; threshold "
            f"{post['threshold']:g}, min_length {post['min_length']}, merge_gap "
            f"{post['merge_gap']} ({post['source']})"]
    if report.get("clips_chosen"):
        head.append(f"clips: {report['clips_chosen']}")
    if report.get("warning"):
        head.append(f"warning: {report['warning']}")
    names = [row["clip"] for row in report["clips"]] + ["overall"]
    width = max(len(n) for n in names)
    lines = [" ".join([f"{'clip':<{width}}"] + [f"{label:>7}" for _, label in _COLUMNS])]
    for row in [*report["clips"], {**report["overall"], "clip": "overall"}]:
        cells = [f"{_fmt(row.get(key)):>7}" for key, _ in _COLUMNS]
        lines.append(" ".join([f"{row['clip']:<{width}}"] + cells))
    return "\n".join(head + lines)


def report_megc_rows(report: dict[str, Any], frame_base: int = 1) -> list[tuple[str, int, int, str]]:
    """The MEGC submission rows of a report's predicted segments (``meldae.megc``)."""
    from meldae.megc import megc_rows

    return [row for clip in report["clips"]
            for row in megc_rows(clip["clip"], clip["predicted"], clip.get("fps"), frame_base)]


def write_report(report: dict[str, Any], path: Path) -> Path:
    """Write the report as JSON, atomically."""
    from meldae.atomic import atomic_write_text

    return atomic_write_text(path, json.dumps(report, indent=2) + "\n")
