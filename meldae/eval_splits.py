"""Which clips an evaluation scores, and a sentence saying how they were chosen.

``meldae evaluate``, ``meldae baseline`` and ``meldae experiment`` ask this module, so that
they agree and never trip on an ordinary folder (issue 12):

- ``--split all``: every annotated clip.
- The folder the checkpoint was trained on: the clips the run itself put in that split
  (``meta["splits"]``), so evaluation sees exactly the held-out clips of training.
- A folder whose ``splits.csv`` fixes splits (a held-out set whose clips are all ``test``
  is fine: no training clip is needed to evaluate): the clips of that split; subjects
  it leaves free are dealt out as the trainer would (``val_fraction`` / ``test_fraction``).
- A folder without any split (no ``splits.csv``, or an empty split column, e.g. after
  ``meldae synth``): every annotated clip, and the note says so.

Every failure is an ``EvaluationError`` whose message names the folder and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

SPLIT_CHOICES = ("train", "val", "test", "all")


class EvaluationError(ValueError):
    """Nothing to evaluate (an empty split, clips without annotations)."""


@dataclass(frozen=True)
class ClipSelection:
    """The clips to evaluate and how they were chosen (goes into the report)."""

    clips: list                      # meldae.data.ClipInfo, annotated clips only
    note: str


def _annotated(data_dir: Path) -> tuple[list, list]:
    """(all clips, annotated clips) of the folder; EvaluationError when there is nothing."""
    from meldae.data import DataError, discover_clips

    if not data_dir.is_dir():
        raise EvaluationError(f"{data_dir}: folder not found; give a clip folder "
                              "(videos with .eaf files beside them)")
    try:
        clips = discover_clips(data_dir)
    except DataError as exc:
        raise EvaluationError(f"{exc}; fix the file or remove it") from None
    if not clips:
        raise EvaluationError(f"{data_dir}: no clips (videos) found; give a clip folder "
                              "(videos with .eaf files beside them)")
    annotated = [c for c in clips if c.eaf_path is not None]
    if not annotated:
        raise EvaluationError(f"{data_dir}: none of the {len(clips)} clips has an .eaf "
                              "annotation beside it; annotate them (or convert the dataset) first")
    return clips, annotated


def _same_folder(trained_on: str | None, data_dir: Path) -> bool:
    return bool(trained_on) and Path(trained_on).resolve() == Path(data_dir).resolve()


def _empty_split(data_dir: Path, split: str, how: str) -> EvaluationError:
    return EvaluationError(
        f"{data_dir}: no annotated clips in split {split!r} ({how}); evaluate another split "
        "(--split val, or --split all for every clip), or give the folder a test split "
        "(a 'test' column in splits.csv, or train with --test-fraction)")


def select_clips(data_dir: Path, split: str, meta: dict[str, Any] | None = None,
                 val_fraction: float | None = None,
                 test_fraction: float | None = None) -> ClipSelection:
    """The annotated clips of ``split`` in ``data_dir`` (see the module docstring).

    Args:
        data_dir: the clip folder.
        split: ``train``, ``val``, ``test`` or ``all``.
        meta: a checkpoint's meta (``splits``, ``trained_on`` and the ``train`` config).
        val_fraction, test_fraction: how free subjects are dealt out when splits.csv fixes
            only some (default: the checkpoint's train config, else ``TrainConfig``'s).

    Raises:
        EvaluationError: unknown split, nothing annotated, or an empty split.
    """
    from meldae.data import DataError, subject_split
    from meldae.train.config import TrainConfig, train_config_from_dict

    data_dir, meta = Path(data_dir), meta or {}
    if split not in SPLIT_CHOICES:
        raise EvaluationError(f"unknown split {split!r}; choose {', '.join(SPLIT_CHOICES)}")
    clips, annotated = _annotated(data_dir)
    if split == "all":
        return ClipSelection(annotated, f"all {len(annotated)} annotated clips of {data_dir}")
    if meta.get("splits") and _same_folder(meta.get("trained_on"), data_dir):
        names = set(meta["splits"].get(split, []))
        chosen = [c for c in annotated if c.name in names]
        if not chosen:
            raise _empty_split(data_dir, split, "the checkpoint's training run put none there")
        return ClipSelection(chosen, f"split {split!r} of the checkpoint's training run")
    if not any(c.split for c in clips):
        return ClipSelection(annotated, f"{data_dir} has no splits (no splits.csv, or an empty "
                             f"split column): evaluating all {len(annotated)} annotated clips")
    cfg = train_config_from_dict(meta["train"]) if meta.get("train") else TrainConfig()
    cfg = replace(cfg, val_fraction=cfg.val_fraction if val_fraction is None else val_fraction,
                  test_fraction=cfg.test_fraction if test_fraction is None else test_fraction)
    try:
        splits = subject_split(clips, cfg.val_fraction, cfg.test_fraction, cfg.seed)
    except DataError as exc:
        raise EvaluationError(f"{data_dir}: {exc}; fix splits.csv") from None
    chosen = [c for c in getattr(splits, split) if c.eaf_path is not None]
    if not chosen:
        raise _empty_split(data_dir, split, "per splits.csv")
    return ClipSelection(chosen, f"split {split!r} of {data_dir} (splits.csv)")
