"""Evaluation of a checkpoint on a clip folder with the paper's metrics (``meldae evaluate``).

Honest evaluation (DESIGN §6): the score threshold and the post-processing (min_length,
merge_gap) are the ones the trainer chose on the validation split and stored in the
checkpoint's meta; nothing is tuned on the split being evaluated. The report says which
values were used and where they came from. The split is the one the run was trained with
(``meta["splits"]`` names the clips) when the folder is the training folder, else the
subject split of the run's train config.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SPLIT_CHOICES = ("train", "val", "test", "all")


class EvaluationError(ValueError):
    """Nothing to evaluate (an empty split, clips without annotations)."""


def clips_of_split(data_dir: Path, split: str, meta: dict[str, Any] | None = None) -> list:
    """The ``ClipInfo`` of ``split`` in ``data_dir``, annotated clips only.

    Args:
        data_dir: the clip folder.
        split: ``train``, ``val``, ``test`` or ``all``.
        meta: a checkpoint's meta; its ``splits`` (clip names per split, as trained) and
            ``train`` config (fractions, seed) reproduce the training split.

    Raises:
        EvaluationError: unknown or empty split.
    """
    from meldae.data import discover_clips
    from meldae.train.config import TrainConfig, train_config_from_dict
    from meldae.train.run import split_folder

    if split not in SPLIT_CHOICES:
        raise EvaluationError(f"unknown split {split!r}; choose {', '.join(SPLIT_CHOICES)}")
    meta = meta or {}
    clips = [c for c in discover_clips(data_dir) if c.eaf_path is not None]
    if split == "all":
        chosen = clips
    elif meta.get("splits") and _same_folder(meta.get("trained_on"), data_dir):
        names = set(meta["splits"].get(split, []))
        chosen = [c for c in clips if c.name in names]
    else:
        cfg = train_config_from_dict(meta["train"]) if meta.get("train") else TrainConfig()
        chosen = [c for c in getattr(split_folder(Path(data_dir), cfg), split)
                  if c.eaf_path is not None]
    if not chosen:
        raise EvaluationError(f"{data_dir}: no annotated clips in split {split!r}")
    return chosen


def _same_folder(trained_on: str | None, data_dir: Path) -> bool:
    return bool(trained_on) and Path(trained_on).resolve() == Path(data_dir).resolve()


def build_report(clips, scores, post, source: str, split: str, iou_threshold: float = 0.5,
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The evaluation report: overall metrics, per-clip metrics and what was used."""
    from meldae.train.measure import measure, per_clip

    report = {
        **(extra or {}), "split": split, "n_clips": len(clips),
        "postprocessing": post.to_meta(source),
        "iou_threshold": iou_threshold,
        "overall": measure(clips, scores, post, iou_threshold),
        "clips": per_clip(clips, scores, post, iou_threshold),
    }
    if split == "val" and "validation" in source:
        report["warning"] = ("the post-processing was chosen on this same validation split: "
                             "these figures are optimistic; evaluate on the test split")
    return report


def evaluate_checkpoint(data_dir: Path, checkpoint: Path, split: str = "test",
                        device: str = "auto", stride: int | None = None, batch_size: int = 8,
                        cache_dir: Path | None = None,
                        scores_out: Path | None = None) -> dict[str, Any]:
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
    infos = clips_of_split(Path(data_dir), split, meta)
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
                         "model_epoch": meta.get("epoch"), "stride": stride})


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
    head = [f"split {report['split']}: {report['n_clips']} clip(s); threshold "
            f"{post['threshold']:g}, min_length {post['min_length']}, merge_gap "
            f"{post['merge_gap']} ({post['source']})"]
    if report.get("warning"):
        head.append(f"warning: {report['warning']}")
    names = [row["clip"] for row in report["clips"]] + ["overall"]
    width = max(len(n) for n in names)
    lines = [" ".join([f"{'clip':<{width}}"] + [f"{label:>7}" for _, label in _COLUMNS])]
    for row in [*report["clips"], {**report["overall"], "clip": "overall"}]:
        cells = [f"{_fmt(row.get(key)):>7}" for key, _ in _COLUMNS]
        lines.append(" ".join([f"{row['clip']:<{width}}"] + cells))
    return "\n".join(head + lines)


def write_report(report: dict[str, Any], path: Path) -> Path:
    """Write the report as JSON, atomically."""
    from meldae.atomic import atomic_write_text

    return atomic_write_text(path, json.dumps(report, indent=2) + "\n")
