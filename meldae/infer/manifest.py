"""The run manifest of ``meldae infer --out DIR``: which videos are done, with which model.

After a video's outputs (``.npz``, ``.eaf``, ``.scores.csv``, each written atomically) are
in place, a record ``DIR/.meldae-manifest/<name>.json`` is written, atomically too, naming
the video, the SHA-256 of the model files, the settings that change the outputs, the rank
that scored it and when. A video counts as done when its record exists, matches the model
and the settings, and its outputs are there. A run killed at any moment therefore loses at
most the videos in progress, and a rerun scores exactly those that are not done.

One small file per video (not one shared file) keeps concurrent writers (the ranks of a
``torchrun`` job, on one machine or on several sharing ``DIR``) from ever touching the same
file, and every write is a rename.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from meldae.atomic import atomic_write_text

log = logging.getLogger(__name__)

FOLDER = ".meldae-manifest"
SUMMARY = "infer-summary.json"
OUTPUT_SUFFIXES = (".npz", ".eaf", ".scores.csv")


def file_hash(paths: list[Path]) -> str:
    """SHA-256 over the bytes of ``paths`` in order (a model: its weights and its JSON)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class RunKey:
    """What makes two runs' outputs the same: the model's hash and the output settings."""

    model_sha256: str
    settings: dict[str, Any]   # JSON values: threshold, stride, engine, ...

    def matches(self, record: dict) -> bool:
        """Whether a stored record was made with this model and these settings."""
        return (record.get("model_sha256") == self.model_sha256
                and record.get("settings") == json.loads(json.dumps(self.settings)))


@dataclass(frozen=True)
class VideoRecord:
    """One finished video, as stored in the manifest."""

    name: str
    video: str
    model_sha256: str
    settings: dict[str, Any]
    frames: int
    segments: int
    rank: int
    host: str
    pid: int
    finished_at: str


class Manifest:
    """The records of one output folder."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.folder = self.out_dir / FOLDER

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def read(self, name: str) -> dict | None:
        """The record of ``name`` (a video's stem), or None when absent or unreadable."""
        try:
            return json.loads(self._path(name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable manifest record (%s): the video is scored again",
                        self._path(name), exc)
            return None

    def is_done(self, video: Path, key: RunKey) -> bool:
        """Whether ``video`` was scored with ``key`` and its outputs are all present."""
        record = self.read(video.stem)
        if record is None or not key.matches(record):
            return False
        return all((self.out_dir / f"{video.stem}{s}").is_file() for s in OUTPUT_SUFFIXES)

    def record(self, video: Path, key: RunKey, frames: int, segments: int,
               rank: int = 0) -> VideoRecord:
        """Mark ``video`` as done (call after its outputs are written)."""
        rec = VideoRecord(name=video.stem, video=str(video.resolve()),
                          model_sha256=key.model_sha256, settings=key.settings,
                          frames=int(frames), segments=int(segments), rank=int(rank),
                          host=socket.gethostname(), pid=os.getpid(),
                          finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        atomic_write_text(self._path(video.stem), json.dumps(asdict(rec), indent=1) + "\n")
        return rec

    def write_summary(self, summary: dict) -> Path:
        """Write ``DIR/infer-summary.json`` atomically."""
        return atomic_write_text(self.out_dir / SUMMARY, json.dumps(summary, indent=1) + "\n")
