"""Starting a training run from a front end: the settings it exposes and the command line.

Free of Qt, shared by the app's Training tab and anything else that launches
``python -m meldae train``: :class:`TrainingSettings` (what the form edits) and its
command line (:func:`train_arguments`); :func:`prepare_clip_folder`, which gives the trainer a
clip folder holding only the chosen clips (symbolic links in ``RUN/clips``) when they are a
subset of a folder; and :func:`read_run_info`, what a run folder says about itself (for
Open run and Resume).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SUBSET_DIR = "clips"            # RUN/clips: links to the chosen clips


@dataclass(frozen=True)
class TrainingSettings:
    """The run's preset and the hyper-parameters the app exposes (``meldae train`` flags)."""

    preset: str = "lite"                # paper | lite | tiny
    epochs: int = 10
    batch_size: int = 8
    lr_backbone: float | None = None    # None: the trainer's rule (1e-5 pretrained, else lr_new)
    lr_new: float = 5e-4
    loc_loss: str = "bal"
    lam: float = 1.0                    # BAL boundary weight λ
    num_queries: int = 16               # N enhancer query tokens
    max_steps: int | None = None        # cap of optimiser steps per epoch (quick runs)
    device: str = "auto"                # auto | cpu | cuda | cuda:N
    init_from: Path | None = None       # fine-tune this checkpoint (its config fixes the model)
    pretrained: bool | None = None      # new model: ImageNet backbone (True), scratch (False), preset's (None)

    def train_flags(self) -> list[str]:
        """The hyper-parameter flags of ``meldae train`` for a new run.

        Fine-tuning (``init_from``) passes ``--init-from`` instead of ``--preset`` and
        ``--num-queries``: the model's shape comes from the checkpoint.
        """
        tuning = self.init_from is not None
        flags = (["--init-from", str(self.init_from)] if tuning else ["--preset", self.preset])
        flags += ["--epochs", str(self.epochs),
                  "--batch-size", str(self.batch_size), "--lr-new", repr(float(self.lr_new)),
                  "--loc-loss", self.loc_loss, "--lam", repr(float(self.lam))]
        if not tuning:
            flags += ["--num-queries", str(self.num_queries)]
            if self.pretrained is not None:
                flags += ["--pretrained" if self.pretrained else "--no-pretrained"]
        if self.lr_backbone is not None:
            flags += ["--lr-backbone", repr(float(self.lr_backbone))]
        if self.max_steps is not None:
            flags += ["--max-steps", str(self.max_steps)]
        return flags


def train_arguments(data_dir: Path, run_dir: Path, settings: TrainingSettings,
                    resume: bool = False) -> list[str]:
    """The arguments after ``python -m meldae`` for a new run or a resumed one.

    A resumed run keeps the configuration in ``RUN/config.json``; only the number of
    epochs (to train further) and the device may change, so only those are passed.
    """
    args = ["train", str(data_dir), "--out", str(run_dir), "--json-progress",
            "--device", settings.device]
    if resume:
        return args + ["--resume", "--epochs", str(settings.epochs)]
    return args + settings.train_flags()


def prepare_clip_folder(clips: list, source: Path, run_dir: Path) -> Path:
    """The clip folder the trainer reads: ``source`` itself, or ``RUN/clips`` for a subset.

    The subset folder holds symbolic links (hard links or copies where links are not
    allowed) to each chosen clip's video, ``.eaf`` and sidecar, and the rows of
    ``source/splits.csv`` that name them, so subjects and fixed splits are kept.

    Args:
        clips: the chosen ``meldae.data.ClipInfo`` (all from ``source``).
        source: the folder they come from.
        run_dir: the run folder (``clips/`` is created in it, replacing an older one).

    Returns:
        The folder to pass to ``meldae train``.

    Raises:
        ValueError: no clip chosen.
        OSError: the links cannot be written.
    """
    from meldae.annotations import sidecar_path
    from meldae.data import discover_clips, read_splits_csv, write_splits_csv

    if not clips:
        raise ValueError("no clip chosen for training")
    source = Path(source)
    chosen = {c.name for c in clips}
    if chosen == {c.name for c in discover_clips(source)}:
        return source
    folder = Path(run_dir) / SUBSET_DIR
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for clip in clips:
        files = [Path(clip.video_path)]
        if clip.eaf_path is not None:
            files += [Path(clip.eaf_path), sidecar_path(clip.eaf_path)]
        for path in files:
            if path.is_file():
                _link(path, folder / path.name)
    splits_csv = source / "splits.csv"
    if splits_csv.is_file():
        rows = read_splits_csv(splits_csv)
        write_splits_csv(folder / "splits.csv",
                         [(name, *rows[name]) for name in sorted(chosen) if name in rows])
    return folder


def _link(target: Path, link: Path) -> None:
    """A symbolic link, else a hard link, else a copy."""
    try:
        link.symlink_to(target.resolve())
        return
    except OSError:
        pass
    try:
        os.link(target, link)
    except OSError:
        shutil.copy2(target, link)


def read_run_info(run_dir: Path) -> dict:
    """What a run folder says about itself: ``config`` (or None) and ``epochs_done``."""
    info: dict = {"config": None, "epochs_done": 0, "trained_on": None}
    for name, key in (("config.json", "config"), ("train_state.json", "state"),
                      ("last.json", "last")):
        path = Path(run_dir) / name
        try:
            info[key] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("%s: unreadable (%s)", path, exc)
            info[key] = None
    state, last = info.pop("state"), info.pop("last")
    if isinstance(state, dict):
        info["epochs_done"] = int((state.get("position") or {}).get("epoch", 0))
    if isinstance(last, dict):
        info["trained_on"] = (last.get("meta") or {}).get("trained_on")
    return info
