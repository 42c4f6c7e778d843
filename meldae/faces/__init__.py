"""Faces: detect and track the subject's face, stabilise it and crop it, with a disk cache.

Stabilisation smooths the tracked box over time (position and size with separate radii,
after a median prefilter); when dlib's 5-point landmark model is installed (the
``landmarks`` extra) and ``FaceSettings.align`` is "auto" or "landmarks", the crops are
also aligned on the eyes, which removes the head's roll.

Never imports torch. ``iter_face_crops`` streams (memory bounded whatever the video's
length) and is what streaming inference uses; ``load_face_crops`` returns the whole video's
crops memory-mapped from the cache.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path


from meldae.faces.align import resolve_align
from meldae.faces.cache import CacheWriter, cache_key, load_entry
from meldae.faces.crop import crop_rotated, crop_square, face_frames
from meldae.faces.detect import Detection, FaceDetector, resolve_detector
from meldae.faces.settings import CODE_VERSION, FaceCrops, FaceFrame, FaceSettings
from meldae.paths import cache_dir as default_cache_dir
from meldae.video import VideoReader

log = logging.getLogger(__name__)

__all__ = [
    "CODE_VERSION", "Detection", "FaceCrops", "FaceDetector", "FaceFrame", "FaceSettings",
    "cache_folder", "crop_rotated", "crop_square", "face_frames", "iter_face_crops",
    "load_face_crops", "resolve_align",
]


def cache_folder(video_path: str | Path, settings: FaceSettings = FaceSettings(),
                 cache_dir: str | Path | None = None) -> Path:
    """The folder that holds (or will hold) a video's crops for ``settings``.

    Raises:
        ValueError: the detector or alignment asked for is not installed.
    """
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    detector = resolve_detector(settings.detector)
    align = resolve_align(settings.align)
    return root / "crops" / cache_key(Path(video_path), settings, detector, align)


def _cached_frames(crops: FaceCrops) -> Iterator[FaceFrame]:
    for i in range(len(crops.face_found)):
        found = bool(crops.face_found[i])
        box = tuple(float(v) for v in crops.boxes[i]) if found else None
        yield FaceFrame(i, crops.crops[i], found, box)


def iter_face_crops(video_path: str | Path, settings: FaceSettings = FaceSettings(),
                    cache_dir: str | Path | None = None) -> Iterator[FaceFrame]:
    """Yield every frame's face crop, in order, reading or writing the crop cache.

    When the cache holds this video and settings, nothing is decoded. Otherwise the video
    is decoded and the crops are written to the cache as they are yielded; the entry is
    committed only when the last frame has been yielded (stopping early leaves no entry).
    Memory stays bounded whatever the video's length.

    Args:
        video_path: the video file.
        settings: the face settings.
        cache_dir: the cache root; ``meldae.paths.cache_dir()`` by default.

    Yields:
        One FaceFrame per frame of ``VideoReader(video_path)``.

    Raises:
        meldae.video.VideoError: the video cannot be read.
        ValueError: ``settings`` asks for a detector or alignment that is not installed.
    """
    for face, _ in _iter_with_total(Path(video_path), settings, cache_dir):
        yield face


def _iter_with_total(video_path: Path, settings: FaceSettings, cache_dir: str | Path | None
                     ) -> Iterator[tuple[FaceFrame, int]]:
    folder = cache_folder(video_path, settings, cache_dir)
    cached = load_entry(folder)
    if cached is not None:
        log.debug("%s: crops from cache %s", video_path, folder)
        total = len(cached.face_found)
        for face in _cached_frames(cached):
            yield face, total
        return
    with VideoReader(video_path) as reader:
        total = len(reader)
        writer = CacheWriter(folder, total, settings.crop_size)
        try:
            for face in face_frames(reader.iter_frames(), reader.size, settings):
                writer.add(face)
                yield face, total
            writer.commit({"video": str(video_path), "fps_num": reader.fps.numerator,
                           "fps_den": reader.fps.denominator, "settings": asdict(settings),
                           "detector": resolve_detector(settings.detector),
                           "align": resolve_align(settings.align),
                           "code_version": CODE_VERSION})
        finally:
            if not writer.committed:
                writer.abort()


def load_face_crops(video_path: str | Path, settings: FaceSettings = FaceSettings(),
                    cache_dir: str | Path | None = None,
                    progress: Callable[[int, int], None] | None = None) -> FaceCrops:
    """A whole video's face crops, computed once and then memory-mapped from the cache.

    Args:
        video_path: the video file.
        settings: the face settings.
        cache_dir: the cache root; ``meldae.paths.cache_dir()`` by default.
        progress: called as ``progress(done, total)`` while frames are processed.

    Raises:
        meldae.video.VideoError: the video cannot be read.
        ValueError: ``settings`` asks for a detector or alignment that is not installed.
    """
    folder = cache_folder(video_path, settings, cache_dir)
    cached = load_entry(folder)
    if cached is not None:
        return cached
    for face, total in _iter_with_total(Path(video_path), settings, cache_dir):
        if progress is not None:
            progress(face.frame_idx + 1, total)
    cached = load_entry(folder)
    if cached is None:
        raise RuntimeError(f"{folder}: crop cache entry missing after a complete pass")
    return cached
