"""Training on a clip folder: splits, datasets, the trainer, and clear errors.

``train_folder`` is what ``meldae train`` runs (also under torchrun and from
``meldae experiment``). The folder's clips are split by subject (``splits.csv`` when it
fixes them, else ``TrainConfig.val_fraction`` / ``test_fraction``); training uses the
``train`` clips as windows, validation scores the ``val`` clips whole. The test split is
never touched here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from meldae.train.config import TrainConfig
from meldae.train.validate import EvalClip

log = logging.getLogger(__name__)


class TrainingError(Exception):
    """A run that cannot start: no clips, no training windows, nothing to resume..."""


@dataclass
class FolderData:
    """A clip folder prepared for training."""

    splits: object                   # meldae.data.SplitSet
    train_set: object                # meldae.data.WindowDataset of the train clips
    val_clips: list[EvalClip]


def split_folder(data_dir: Path, cfg: TrainConfig):
    """The folder's clips split by subject (``meldae.data.SplitSet``).

    Raises:
        TrainingError: no clips, or no clip left for training.
    """
    from meldae.data import discover_clips, subject_split

    clips = discover_clips(data_dir)
    if not clips:
        raise TrainingError(f"{data_dir}: no clips (videos) found")
    if not cfg.use_splits_csv:
        clips = [replace(c, split=None) for c in clips]
    splits = subject_split(clips, cfg.val_fraction, cfg.test_fraction, cfg.seed)
    if not splits.train:
        raise TrainingError(f"{data_dir}: no clip left for training after the split")
    if not [c for c in splits.train if c.eaf_path is not None]:
        raise TrainingError(f"{data_dir}: none of the training clips has an .eaf annotation")
    return splits


def _face_settings(crop_size: int):
    from meldae.faces import FaceSettings

    return FaceSettings(crop_size=crop_size)


def load_eval_clip(info, crop_size: int, cache_dir: Path | None = None) -> EvalClip:
    """A clip's crops (from the crop cache; computed once) and its ground truth.

    Args:
        info: a ``meldae.data.ClipInfo``.
        crop_size: the face-crop size (the model's ``img_size``).
        cache_dir: the crop cache (default ``meldae.paths.cache_dir()``).
    """
    from meldae.data import load_clip_annotations
    from meldae.faces import load_face_crops

    faces = load_face_crops(info.video_path, _face_settings(crop_size), cache_dir=cache_dir)
    n = len(faces.crops)
    doc = load_clip_annotations(info, faces.fps)
    segments = [(s.onset, min(s.offset, n - 1)) for s in doc.confirmed_segments() if s.onset < n]
    labels = [s.label for s in doc.confirmed_segments() if s.onset < n]
    return EvalClip(name=info.name, crops=faces.crops, face_found=np.asarray(faces.face_found),
                    me_segments=segments, speaking=doc.speaking_mask(n), me_labels=labels,
                    subject=info.subject, fps=faces.fps)


def build_window_dataset(infos, model_cfg, cfg: TrainConfig, cache_dir: Path | None = None):
    """The training windows of the annotated clips of ``infos`` (with augmentation)."""
    from meldae.data import WindowDataset

    stride = cfg.stride or max(1, model_cfg.num_frames // 2)
    return WindowDataset([c for c in infos if c.eaf_path is not None],
                         num_frames=model_cfg.num_frames, stride=stride,
                         crop_size=model_cfg.img_size, cache_dir=cache_dir, train=True)


def prepare_folder(data_dir: Path, model_cfg, cfg: TrainConfig,
                   cache_dir: Path | None = None) -> FolderData:
    """Split the folder, build the training windows and load the validation clips.

    Raises:
        TrainingError: see ``split_folder``; or no training window at all.
    """
    splits = split_folder(Path(data_dir), cfg)
    train_set = build_window_dataset(splits.train, model_cfg, cfg, cache_dir)
    if len(train_set) == 0:
        raise TrainingError(f"{data_dir}: the training clips hold no window of "
                            f"{model_cfg.num_frames} frames")
    val = [load_eval_clip(c, model_cfg.img_size, cache_dir) for c in splits.val
           if c.eaf_path is not None]
    if not val:
        log.warning("%s: no validation clips; the best checkpoint will be the last one",
                    data_dir)
    return FolderData(splits, train_set, val)


def _prepare_crops_first(data_dir: Path, model_cfg, cfg: TrainConfig, env) -> None:
    """Under torchrun, local rank 0 fills the crop cache before the others read it."""
    from meldae.train.distributed import barrier

    if env.local_rank == 0:
        prepare_folder(data_dir, model_cfg, cfg)
    barrier(env)


def _load_init_weights(model, path: Path) -> None:
    """Fine-tuning: replace the random initial weights by those of a checkpoint.

    Every rank loads the same file, so the replicas stay identical under torchrun.

    Raises:
        CheckpointError: the weights do not fit the model (names the first mismatch).
    """
    from meldae.checkpoint import load_weights

    load_weights(model, path)
    log.info("fine-tuning: initial weights from %s", path)


def _speaking_from_audio(data: FolderData, run_dir: Path, settings, env) -> dict:
    """``--speaking-from-audio``: audio turns as Speaking labels; the meta that says so."""
    if settings is None:
        return {}
    from meldae.atomic import atomic_write_json
    from meldae.audio.labels import apply_audio_speaking

    videos = {c.name: Path(c.video_path) for c in data.splits.val}
    report = apply_audio_speaking(data.train_set, data.val_clips, videos, settings)
    if env.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run_dir / "speaking_from_audio.json", report)
    return {"speaking_from_audio": report}


def train_folder(data_dir: Path, run_dir: Path, model_cfg, train_cfg: TrainConfig, *,
                 resume: bool = False, device: str = "auto", json_progress: bool = False,
                 progress_bar: bool | None = None, stop_after_steps: int | None = None,
                 speaking_from_audio=None):
    """Train MELDAE on a clip folder (``meldae train``).

    Args:
        data_dir: the clip folder.
        run_dir: the run folder (checkpoints, state, logs).
        model_cfg: the model config.
        train_cfg: the training config.
        resume: continue ``run_dir`` exactly where it stopped (``train_cfg.init_from``
            is then not loaded: the run's own ``last`` checkpoint is).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        json_progress: progress events as JSON lines on stdout.
        progress_bar: tqdm on stderr (None: when stderr is a terminal).
        stop_after_steps: stop (as on SIGTERM) after this many steps (tests, tools).
        speaking_from_audio: a ``meldae.audio.VadSettings``: clips without annotated
            speaking take the audio's speaking turns as Speaking labels (reported in
            ``run_dir/speaking_from_audio.json`` and the checkpoints' meta); None: off.

    Returns:
        The ``TrainResult``.

    Raises:
        TrainingError: the run cannot start (the message says why).
        CheckpointError: ``train_cfg.init_from`` does not fit the model config.
    """
    from meldae.train import distributed as D
    from meldae.train.loop import Trainer

    data_dir, run_dir = Path(data_dir), Path(run_dir)
    if resume and not (run_dir / "train_state.json").is_file():
        raise TrainingError(f"{run_dir}: nothing to resume (no train_state.json)")
    init_from = None if resume else train_cfg.init_from
    if init_from is not None and not Path(init_from).is_file():
        raise TrainingError(f"{init_from}: checkpoint to fine-tune not found")
    env = D.detect_env()
    D.init_distributed(env, D.pick_device(device, env))
    if env.is_distributed:
        _prepare_crops_first(data_dir, model_cfg, train_cfg, env)
    data = prepare_folder(data_dir, model_cfg, train_cfg)
    audio_meta = _speaking_from_audio(data, run_dir, speaking_from_audio, env)
    trainer = Trainer(model_cfg, train_cfg, run_dir, data.train_set, data.val_clips,
                      device=device, json_progress=json_progress, progress_bar=progress_bar,
                      meta={"trained_on": str(data_dir.resolve()),
                            "init_from": train_cfg.init_from, **audio_meta,
                            "splits": {k: [c.name for c in getattr(data.splits, k)]
                                       for k in ("train", "val", "test")}})
    if init_from is not None:
        _load_init_weights(trainer.model, Path(init_from))
    try:
        return trainer.fit(resume=resume, stop_after_steps=stop_after_steps)
    finally:
        D.cleanup_distributed()
