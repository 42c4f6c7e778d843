"""Model windows over clips: T consecutive face crops with their frame-level labels.

``WindowDataset`` cuts every clip of a list into windows of ``num_frames`` (T) frames, every
``stride`` frames, the last window aligned to the clip's end so that no frame is lost
(``window_starts``, shared with inference). A clip shorter than T gives one window, padded
at the end with black frames whose ``face_found`` is False and whose labels are 0.

Per window (``__getitem__``), all torch tensors:

* ``frames``        (T, S, S, 3) uint8 RGB face crops (zeros where no face was found);
* ``me_mask``       (T,) float: 1 on frames inside a confirmed ME segment (onset..offset);
* ``boundary_mask`` (T,) float: 1 on the onset and the offset frame of every ME run (a run
  = maximal stretch of ME frames in the whole clip) that fall inside the window; an ME cut
  by the window edge has no boundary at the edge, since the edge is not where it starts;
* ``speaking``      (T,) float: 1 on frames inside a confirmed speaking interval;
* ``me_label``      () float: 1 when the window overlaps an ME by at least one frame,
  i.e. when ``me_mask.any()``;
* ``face_found``    (T,) bool;
* ``clip`` (int, the index into ``clips``) and ``start`` (int, the window's first frame).

Confirmed segments = manual ones plus accepted predictions (``ClipAnnotations``). Crops come
from ``meldae.faces.load_face_crops`` (computed and cached on first use); they are read-only
memory maps, shared by DataLoader workers started with fork, and reopened from the cache in
workers started with spawn (the dataset pickles without them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from meldae.annotations import ClipAnnotations, TierNames, load_eaf

log = logging.getLogger(__name__)

# progress(clip_index, clip_count, frames_done, frames_total) while crops are computed
PrepareProgress = Callable[[int, int, int, int], None]


def window_starts(n_frames: int, num_frames: int, stride: int) -> list[int]:
    """First frames of the windows that cover ``n_frames`` frames.

    Windows start every ``stride`` frames; when the last regular window ends before the
    last frame, one more window is aligned to the end (``n_frames - num_frames``). A clip
    shorter than a window gives the single start 0 (the window is padded); an empty one none.
    Every frame is in some window when ``stride <= num_frames``.

    >>> window_starts(10, 4, 3)
    [0, 3, 6]
    >>> window_starts(11, 4, 3)
    [0, 3, 6, 7]
    """
    if num_frames < 1 or stride < 1:
        raise ValueError(f"num_frames and stride must be >= 1, got {num_frames}, {stride}")
    if n_frames <= 0:
        return []
    if n_frames <= num_frames:
        return [0]
    starts = list(range(0, n_frames - num_frames + 1, stride))
    if starts[-1] + num_frames < n_frames:
        starts.append(n_frames - num_frames)
    return starts


@dataclass(frozen=True)
class ClipLabels:
    """Frame-level targets of one clip, each (n_frames,) float32."""

    me: np.ndarray
    boundary: np.ndarray
    speaking: np.ndarray


def clip_labels(annotations: ClipAnnotations, n_frames: int) -> ClipLabels:
    """The frame-level targets of a clip from its confirmed annotations.

    ``boundary`` is 1 at the first and the last frame of every run of ME frames (one frame
    for a one-frame ME); touching or overlapping segments form one run.
    """
    me = annotations.me_mask(n_frames).astype(np.float32)              # (n,)
    boundary = np.zeros(n_frames, np.float32)                          # (n,)
    if n_frames:
        edges = np.diff(np.concatenate([[0.0], me, [0.0]]))            # (n+1,)
        boundary[np.flatnonzero(edges > 0)] = 1.0                      # run onsets
        boundary[np.flatnonzero(edges < 0) - 1] = 1.0                  # run offsets
    speaking = annotations.speaking_mask(n_frames).astype(np.float32)  # (n,)
    return ClipLabels(me=me, boundary=boundary, speaking=speaking)


def jitter_lut(brightness: float, contrast: float) -> np.ndarray:
    """A 256-entry uint8 lookup table: ``(x - 128) * contrast + 128 + brightness * 255``."""
    values = (np.arange(256, dtype=np.float32) - 128.0) * contrast + 128.0 + brightness * 255.0
    return np.clip(np.round(values), 0, 255).astype(np.uint8)


class WindowDataset(Dataset):
    """Windows of T face crops with ME, boundary and speaking targets (see module doc)."""

    def __init__(self, clips: Sequence, num_frames: int, stride: int, crop_size: int,
                 face_settings=None, cache_dir: str | Path | None = None, train: bool = False,
                 tiers: TierNames = TierNames(), progress: PrepareProgress | None = None,
                 brightness: float = 0.1, contrast: float = 0.1, flip_p: float = 0.5) -> None:
        """Compute (or read from the cache) every clip's crops and index the windows.

        Args:
            clips: ``ClipInfo`` list (``video_path``, ``eaf_path`` may be None: no labels).
            num_frames: T, frames per window.
            stride: frames between window starts.
            crop_size: S; overrides ``face_settings.crop_size``.
            face_settings: ``meldae.faces.FaceSettings`` (default settings when None).
            cache_dir: crop cache folder (default ``meldae.paths.cache_dir()``).
            train: random temporal offset, horizontal flip and brightness/contrast jitter.
            tiers: ELAN tier names.
            progress: ``progress(clip_index, clip_count, frames_done, frames_total)``.
            brightness: largest brightness shift, a fraction of the range (train only).
            contrast: largest relative contrast change (train only).
            flip_p: probability of a horizontal flip (train only).
        """
        from meldae.faces import FaceSettings

        if num_frames < 1 or stride < 1:
            raise ValueError(f"num_frames and stride must be >= 1, got {num_frames}, {stride}")
        self.clips = list(clips)
        self.num_frames = int(num_frames)
        self.stride = int(stride)
        self.crop_size = int(crop_size)
        self.settings = replace(face_settings or FaceSettings(), crop_size=self.crop_size)
        self.cache_dir = cache_dir
        self.train = train
        self.tiers = tiers
        self.brightness, self.contrast, self.flip_p = brightness, contrast, flip_p
        self._crops: list | None = None
        self.labels: list[ClipLabels] = []
        self.windows: list[tuple[int, int]] = []      # (clip index, start)
        self.prepare(progress)

    # -- preparation ---------------------------------------------------------------------

    def prepare(self, progress: PrepareProgress | None = None) -> None:
        """Load (computing when needed) every clip's crops and labels; idempotent."""
        if self._crops is not None and self.labels:
            return
        crops = self._load_crops(progress)
        self.labels = [self._labels(clip, fc) for clip, fc in zip(self.clips, crops)]
        self.windows = [(clip_idx, start)
                        for clip_idx, fc in enumerate(crops)
                        for start in window_starts(len(fc.crops), self.num_frames, self.stride)]
        self._crops = crops

    def _load_crops(self, progress: PrepareProgress | None) -> list:
        from meldae.faces import load_face_crops

        crops = []
        for clip_idx, clip in enumerate(self.clips):
            report = None
            if progress is not None:
                def report(done: int, total: int, _i: int = clip_idx) -> None:
                    progress(_i, len(self.clips), done, total)
            crops.append(load_face_crops(clip.video_path, self.settings, self.cache_dir,
                                         progress=report))
        return crops

    def _labels(self, clip, face_crops) -> ClipLabels:
        n_frames = len(face_crops.crops)
        if clip.eaf_path is None:
            annotations = ClipAnnotations(segments=[], speaking=[])
        else:
            annotations = load_eaf(clip.eaf_path, face_crops.fps, self.tiers)
        return clip_labels(annotations, n_frames)

    def __getstate__(self) -> dict:
        # Spawned workers reopen the memory maps from the cache instead of receiving copies.
        state = self.__dict__.copy()
        state["_crops"] = None
        return state

    def _face_crops(self, clip_idx: int):
        if self._crops is None:
            self._crops = self._load_crops(None)
        return self._crops[clip_idx]

    # -- items ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.windows)

    def n_frames(self, clip_idx: int) -> int:
        """Number of frames of clip ``clip_idx``."""
        return len(self.labels[clip_idx].me)

    def __getitem__(self, index: int) -> dict:
        clip_idx, start = self.windows[index]
        n = self.n_frames(clip_idx)
        if self.train and n > self.num_frames:
            half = self.stride // 2
            shift = int(torch.randint(-half, half + 1, ()).item())
            start = min(max(start + shift, 0), n - self.num_frames)
        item = self.window(clip_idx, start)
        if self.train:
            item["frames"] = torch.from_numpy(self._augment(item["frames"].numpy(),
                                                            item["face_found"].numpy()))
        return item

    def window(self, clip_idx: int, start: int) -> dict:
        """The window of clip ``clip_idx`` starting at frame ``start`` (no augmentation)."""
        T, S = self.num_frames, self.crop_size
        face_crops = self._face_crops(clip_idx)
        labels = self.labels[clip_idx]
        stop = min(start + T, len(labels.me))
        k = stop - start                                             # real frames
        frames = np.zeros((T, S, S, 3), np.uint8)                    # (T, S, S, 3)
        frames[:k] = face_crops.crops[start:stop]
        found = np.zeros(T, bool)                                    # (T,)
        found[:k] = face_crops.face_found[start:stop]
        me, boundary, speaking = (np.zeros(T, np.float32) for _ in range(3))
        me[:k] = labels.me[start:stop]
        boundary[:k] = labels.boundary[start:stop]
        speaking[:k] = labels.speaking[start:stop]
        return {
            "frames": torch.from_numpy(frames),
            "me_mask": torch.from_numpy(me),
            "boundary_mask": torch.from_numpy(boundary),
            "speaking": torch.from_numpy(speaking),
            "me_label": torch.tensor(float(me.any()), dtype=torch.float32),
            "face_found": torch.from_numpy(found),
            "clip": clip_idx,
            "start": int(start),
        }

    def _augment(self, frames: np.ndarray, found: np.ndarray) -> np.ndarray:
        """Flip and brightness/contrast jitter, the same for every frame; uint8 throughout."""
        T, S = frames.shape[:2]
        draws = torch.rand(3).tolist()
        if draws[0] < self.flip_p:
            frames = np.ascontiguousarray(frames[:, :, ::-1])       # (T, S, S, 3)
        lut = jitter_lut((2 * draws[1] - 1) * self.brightness,
                         1.0 + (2 * draws[2] - 1) * self.contrast)
        flat = frames.reshape(T * S, S, 3)                           # cv2 wants 2-D images
        frames = cv2.LUT(flat, lut).reshape(T, S, S, 3)              # (T, S, S, 3)
        frames[~found] = 0                                           # no face stays black
        return frames
