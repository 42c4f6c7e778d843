"""Speaking labels from the audio for training (``meldae train --speaking-from-audio``).

A clip whose annotation has no confirmed speaking interval gets the speaking turns of its
audio track (``meldae.audio.detect_turns``, cached per file) as its Speaking labels, in
the training windows and in validation alike. Clips with annotated speaking keep theirs;
clips without an audio track stay as they are. The returned report says which clips got
audio labels; the trainer stores it in the run (``speaking_from_audio.json`` and the
checkpoints' meta).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from meldae.audio.decode import AudioError
from meldae.audio.turns import VadSettings
from meldae.audio.vad import detect_turns

log = logging.getLogger(__name__)


def _audio_mask(name: str, video: Path, fps: Fraction, n_frames: int, settings: VadSettings,
                report: dict) -> np.ndarray | None:
    """The speaking mask from the audio of ``video``, or None (noted in ``report``)."""
    try:
        turns = detect_turns(video, settings)
    except AudioError as exc:
        report["skipped"][name] = str(exc).split(": ", 1)[-1]
        return None
    mask = turns.speaking_mask(fps, n_frames)
    report["clips"][name] = {"turns": int(len(turns.frames(fps, n_frames))),
                                   "speaking_frames": int(mask.sum()), "frames": int(n_frames)}
    return mask


def apply_audio_speaking(train_set, val_clips: list, val_videos: dict[str, Path],
                         settings: VadSettings = VadSettings()) -> dict:
    """Give clips without annotated speaking the audio's turns as Speaking labels, in place.

    Args:
        train_set: a ``meldae.data.WindowDataset`` (its ``clips`` and ``labels``).
        val_clips: ``meldae.train.validate.EvalClip`` list (their ``speaking`` masks).
        val_videos: the video of each validation clip, by name.
        settings: how the turns are made (gap, thresholds).

    Returns:
        ``{"settings": ..., "clips": {name: {"turns", "speaking_frames", "frames"}},
        "kept_annotated": [names], "skipped": {name: reason}}``.
    """
    from meldae.data import clip_fps

    report: dict = {"settings": asdict(settings), "clips": {}, "kept_annotated": [],
                    "skipped": {}}
    for i, (clip, labels) in enumerate(zip(train_set.clips, train_set.labels)):
        if labels.speaking.any():
            report["kept_annotated"].append(clip.name)
            continue
        mask = _audio_mask(clip.name, Path(clip.video_path), clip_fps(clip), len(labels.speaking),
                           settings, report)
        if mask is not None:
            train_set.labels[i] = replace(labels, speaking=mask.astype(np.float32))
    for clip in val_clips:
        if clip.speaking.any():
            report["kept_annotated"].append(clip.name)
            continue
        video = val_videos.get(clip.name)
        if video is None:
            report["skipped"][clip.name] = "video not known"
            continue
        mask = _audio_mask(clip.name, video, clip.fps or clip_fps(video), clip.n_frames, settings, report)
        if mask is not None:
            clip.speaking = mask
    log.info("speaking labels from the audio for %d clip(s) (%s)", len(report["clips"]),
             ", ".join(sorted(report["clips"])) or "none")
    return report

