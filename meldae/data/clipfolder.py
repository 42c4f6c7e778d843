"""The clip-folder dataset format: ``DIR/<name>.<video ext>`` with ``DIR/<name>.eaf`` beside it.

An optional ``DIR/splits.csv`` (header ``clip,subject,split``) names each clip's subject and,
optionally, its split (``train``, ``val`` or ``test``; empty = let ``subject_split`` decide).
Without ``splits.csv`` (or for clips it does not list) the subject is the clip name itself,
so every clip counts as its own subject — write ``splits.csv`` for subject-independent
evaluation. Discovery only lists the folder: no video is opened.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from meldae.atomic import atomic_write_text
from meldae.annotations import ClipAnnotations, TierNames, load_eaf

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv", ".flv",
                    ".mts", ".ts", ".3gp")
SPLITS = ("train", "val", "test")
SPLITS_FILE = "splits.csv"
SPLITS_HEADER = ("clip", "subject", "split")


class DataError(Exception):
    """A dataset folder, sheet or split that cannot be used; the message names the file."""


@dataclass(frozen=True)
class ClipInfo:
    """One clip of a clip folder."""

    name: str
    video_path: Path
    eaf_path: Path | None       # None when the clip has no annotation file (yet)
    subject: str
    split: str | None           # from splits.csv; None = not fixed


def read_splits_csv(path: str | Path) -> dict[str, tuple[str, str | None]]:
    """``clip -> (subject, split or None)`` from a ``splits.csv``.

    Raises:
        DataError: unreadable file, wrong header, empty subject, unknown split or a clip
            listed twice (the message names the line).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(c.strip().lower() for c in rows[0][:3]) != SPLITS_HEADER:
        raise DataError(f"{path}: the first line must be the header {','.join(SPLITS_HEADER)}")
    result: dict[str, tuple[str, str | None]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [c.strip() for c in row] + ["", ""]
        clip, subject, split = cells[0], cells[1], cells[2].lower()
        if not clip or not subject:
            raise DataError(f"{path}: line {line}: clip and subject must not be empty")
        if split and split not in SPLITS:
            raise DataError(f"{path}: line {line}: split {cells[2]!r} is not one of {', '.join(SPLITS)}")
        if clip in result:
            raise DataError(f"{path}: line {line}: clip {clip!r} is listed twice")
        result[clip] = (subject, split or None)
    return result


def write_splits_csv(path: str | Path, rows: list[tuple[str, str, str | None]]) -> None:
    """Write ``splits.csv`` rows ``(clip, subject, split or None)`` atomically."""
    path = Path(path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SPLITS_HEADER)
    for clip, subject, split in rows:
        writer.writerow([clip, subject, split or ""])
    try:
        atomic_write_text(path, buffer.getvalue())
    except OSError as exc:
        raise DataError(f"{path}: cannot write ({exc.strerror or exc})") from None


def discover_clips(folder: str | Path) -> list[ClipInfo]:
    """The clips of a clip folder, sorted by name; no video is decoded or opened.

    Raises:
        DataError: the folder is missing, two videos share a name, or splits.csv is bad.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    videos: dict[str, Path] = {}
    eafs: set[str] = set()
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            stem, ext = os.path.splitext(entry.name)
            ext = ext.lower()
            if ext == ".eaf":
                eafs.add(stem)
            elif ext in VIDEO_EXTENSIONS:
                if stem in videos:
                    raise DataError(f"{folder}: two videos named {stem!r}: "
                                    f"{videos[stem].name} and {entry.name}")
                videos[stem] = folder / entry.name
    splits = read_splits_csv(folder / SPLITS_FILE) if (folder / SPLITS_FILE).is_file() else {}
    for clip in sorted(set(splits) - set(videos)):
        log.warning("%s: %s lists %r, which has no video", folder, SPLITS_FILE, clip)
    clips = []
    for name in sorted(videos):
        subject, split = splits.get(name, (name, None))
        eaf = folder / f"{name}.eaf" if name in eafs else None
        clips.append(ClipInfo(name, videos[name], eaf, subject, split))
    return clips


def single_video_clip(video: Path) -> ClipInfo:
    """A ``ClipInfo`` for one video file outside a clip folder (its ``.eaf`` beside it when
    present)."""
    eaf = video.with_suffix(".eaf")
    return ClipInfo(name=video.stem, video_path=video,
                    eaf_path=eaf if eaf.is_file() else None, subject=video.stem, split=None)


def load_clip_annotations(clip: ClipInfo, fps: Fraction | float,
                          tiers: TierNames = TierNames()) -> ClipAnnotations:
    """The clip's annotations (an empty document when it has no ``.eaf``)."""
    if clip.eaf_path is None:
        return ClipAnnotations(segments=[], speaking=[])
    return load_eaf(clip.eaf_path, fps, tiers)


def clip_fps(clip: ClipInfo | str | Path) -> Fraction:
    """The clip's frame rate from the video header (cheap: no frame is decoded).

    Raises:
        meldae.video.VideoError: the video cannot be opened.
        DataError: the header has no frame rate.
    """
    from meldae.timebase import as_fps
    from meldae.video import probe

    path = clip.video_path if isinstance(clip, ClipInfo) else Path(clip)
    try:
        return as_fps(probe(path).fps)
    except ValueError:
        raise DataError(f"{path}: the video header gives no frame rate") from None
