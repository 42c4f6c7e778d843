"""The on-disk crop cache: one folder per (video content, settings, code version).

``<cache root>/crops/<key>/`` holds ``crops.npy`` (N, S, S, 3) uint8, ``face_found.npy``
(N,) bool, ``boxes.npy`` (N, 4) float32 and ``meta.json``. A folder is written under a
temporary name and renamed when complete, so a folder with the final name is always whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict
from fractions import Fraction
from pathlib import Path

import numpy as np

from meldae.faces.settings import CODE_VERSION, FaceCrops, FaceFrame, FaceSettings

log = logging.getLogger(__name__)

_MIB = 1 << 20
_FILES = ("crops.npy", "face_found.npy", "boxes.npy", "meta.json")


def content_digest(path: Path) -> str:
    """A hash of a file's size and its first and last MiB (independent of name and mtime)."""
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        h.update(f.read(_MIB))
        if size > _MIB:
            f.seek(max(_MIB, size - _MIB))
            h.update(f.read(_MIB))
    return h.hexdigest()


def cache_key(video_path: Path, settings: FaceSettings, detector: str,
              align: str = "off") -> str:
    """The cache folder name for a video's crops under ``settings``.

    Args:
        video_path: the video file.
        settings: the face settings (every field is part of the key).
        detector: the detector "auto" resolved to, so dlib and Haar crops never mix.
        align: the alignment "auto" resolved to ("landmarks" or "off"), likewise.
    """
    parts = {"version": CODE_VERSION, "video": content_digest(video_path),
             "settings": asdict(settings), "detector": detector, "align": align}
    blob = json.dumps(parts, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def load_entry(folder: Path) -> FaceCrops | None:
    """The crops in a complete cache folder (memory-mapped, read-only); None when absent."""
    if not all((folder / name).is_file() for name in _FILES):
        return None
    meta = json.loads((folder / "meta.json").read_text())
    crops = np.load(folder / "crops.npy", mmap_mode="r")
    found = np.load(folder / "face_found.npy")
    boxes = np.load(folder / "boxes.npy")
    if not (len(crops) == len(found) == len(boxes) == meta["frames"]):
        log.warning("%s: inconsistent crop cache entry, ignoring it", folder)
        return None
    found.flags.writeable = False
    boxes.flags.writeable = False
    return FaceCrops(crops, found, boxes, Fraction(meta["fps_num"], meta["fps_den"]))


class CacheWriter:
    """Writes one cache entry frame by frame into a temporary folder, renamed on ``commit``."""

    def __init__(self, folder: Path, n_frames: int, crop_size: int) -> None:
        """Start an entry of ``n_frames`` crops of ``crop_size`` that will become ``folder``."""
        self.folder = folder
        folder.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        self.n_frames = n_frames
        # A plain file after the .npy header, not a writable memmap: dirty memmap pages count
        # in the process's resident memory, which then grows with the video's length.
        self._crops = open(self._tmp / "crops.npy", "wb")
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False,
                  "shape": (n_frames, crop_size, crop_size, 3)}
        np.lib.format.write_array_header_1_0(self._crops, header)
        self._crop_shape = (crop_size, crop_size, 3)
        self._found = np.zeros(n_frames, dtype=bool)
        self._boxes = np.full((n_frames, 4), np.nan, dtype=np.float32)
        self._written = 0
        self.committed = False

    def add(self, face: FaceFrame) -> None:
        """Store one frame's result (frames in order, starting at 0)."""
        if face.frame_idx != self._written:
            raise ValueError(f"cache expects frame {self._written}, got {face.frame_idx}")
        crop = np.ascontiguousarray(face.crop, dtype=np.uint8)
        if crop.shape != self._crop_shape:
            raise ValueError(f"cache expects crops of shape {self._crop_shape}, got {crop.shape}")
        self._crops.write(crop.tobytes())
        self._found[face.frame_idx] = face.face_found
        if face.box is not None:
            self._boxes[face.frame_idx] = face.box
        self._written += 1

    def commit(self, meta: dict) -> None:
        """Finish the entry and move it into place atomically."""
        if self._written != self.n_frames:
            raise ValueError(f"cache entry has {self._written} of {self.n_frames} frames")
        self._crops.close()
        del self._crops
        np.save(self._tmp / "face_found.npy", self._found)
        np.save(self._tmp / "boxes.npy", self._boxes)
        (self._tmp / "meta.json").write_text(json.dumps({**meta, "frames": self.n_frames},
                                                        indent=1))
        try:
            os.rename(self._tmp, self.folder)
        except OSError:  # another process finished the same entry first
            if load_entry(self.folder) is None:
                raise
            log.info("%s: written concurrently by another process", self.folder)
            self.abort()
        self.committed = True

    def abort(self) -> None:
        """Remove the temporary folder (an incomplete entry is never kept)."""
        if hasattr(self, "_crops"):
            self._crops.close()
            del self._crops
        shutil.rmtree(self._tmp, ignore_errors=True)
