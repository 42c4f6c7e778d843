"""``convert``: a public benchmark (CAS(ME)^2, SAMM long videos, MMEW) -> a clip folder.

Each video (or image-sequence folder) the sheet mentions becomes one clip,
``OUT/<name>.<ext>`` + ``OUT/<name>.eaf``, and ``OUT/splits.csv`` records its subject.

- Labels: ``"<type>:<emotion>"`` with type ``micro`` or ``macro`` (``"micro:disgust"``),
  just ``"<type>"`` when the sheet has no emotion (SAMM), the emotion alone when the type
  is unknown. ``expression_type_of(label)`` reads the type back (UF1 needs it).
- Frames: sheet numbers are 1-based image numbers. For image folders the first image's
  number is frame 0; for video files ``frame_base`` (default 1) is frame 0.
- fps: image sequences are encoded at ``fps`` (default CAS(ME)^2 30, SAMM 200, MMEW 90);
  video files keep the rate in their header.
- Speaking tier: empty. These benchmarks are not conversational, so there are no speaking
  intervals and every expression counts as "listening" in context statistics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from meldae.annotations import ClipAnnotations, Segment, save_eaf
from meldae.data.clipfolder import (
    SPLITS_FILE,
    ClipInfo,
    DataError,
    discover_clips,
    read_splits_csv,
    write_splits_csv,
)
from meldae.data.convert_media import MediaIndex, MediaSource, encode_images, image_number, link_or_copy
from meldae.data.convert_sheets import DEFAULT_FPS, KINDS, SheetRow, read_sheet
from meldae.timebase import as_fps

log = logging.getLogger(__name__)


def make_label(expression_type: str, emotion: str) -> str:
    """The ME tier value for a benchmark expression (see the module docstring)."""
    if expression_type and emotion:
        return f"{expression_type}:{emotion}"
    return expression_type or emotion


def expression_type_of(label: str) -> str:
    """``"micro"``, ``"macro"`` or ``""`` from a label written by ``make_label``."""
    head = label.split(":", 1)[0].strip().lower()
    return head if head in ("micro", "macro") else ""


@dataclass
class _Clip:
    name: str
    source: MediaSource
    subject: str
    rows: list[SheetRow] = field(default_factory=list)


def _group(rows: list[SheetRow], index: MediaIndex) -> list[_Clip]:
    clips: dict[Path, _Clip] = {}
    names: set[str] = set()
    missing = 0
    for row in rows:
        source = index.find_prefix(*row.media) if row.media else index.find(row.filename, row.subject)
        if source is None:
            wanted = f"{row.media[0]}/{row.media[1]}*" if row.media else repr(row.filename)
            log.warning("row %d: no video or image folder %s under %s; skipped",
                        row.line, wanted, index.root)
            missing += 1
            continue
        clip = clips.get(source.path)
        if clip is None:
            name = source.path.stem if source.is_video else source.path.name
            if name in names:
                name = f"{row.subject}_{name}"
            names.add(name)
            clip = clips[source.path] = _Clip(name, source, row.subject)
        elif row.subject != clip.subject:
            log.warning("row %d: subject %r differs from %r for clip %s; keeping %r",
                        row.line, row.subject, clip.subject, clip.name, clip.subject)
        clip.rows.append(row)
    if missing and not clips:
        raise DataError(f"{index.root}: none of the {missing} sheet rows has its video or image folder")
    return list(clips.values())


def _segments(clip: _Clip, base: int, n_frames: int) -> list[Segment]:
    out = []
    for row in clip.rows:
        onset, offset = row.onset - base, row.offset - base
        if onset < 0 or offset < onset or (n_frames and onset >= n_frames):
            log.warning("row %d: frames %d..%d do not fit clip %s (%s frames, first frame %d); skipped",
                        row.line, row.onset, row.offset, clip.name, n_frames or "?", base)
            continue
        if n_frames and offset >= n_frames:
            log.warning("row %d: offset %d is past the clip's end; clipped", row.line, row.offset)
            offset = n_frames - 1
        apex = None if row.apex is None else row.apex - base
        if apex is not None and not onset <= apex <= offset:
            apex = None
        out.append(Segment(onset, offset, apex=apex, label=make_label(row.expression_type, row.emotion)))
    return out


def _media(clip: _Clip, out: Path, fps: Fraction, copy: bool, frame_base: int) -> tuple[Path, Fraction, int, int]:
    """Put the clip's video into ``out``; returns (video path, fps, frame count, base)."""
    from meldae.video import probe

    if clip.source.is_video:
        dst = out / f"{clip.name}{clip.source.path.suffix.lower()}"
        if not dst.exists():
            link_or_copy(clip.source.path, dst, copy)
        info = probe(dst)
        return dst, as_fps(info.fps), info.frames, frame_base
    images = clip.source.images()
    if not images:
        raise DataError(f"{clip.source.path}: no frame images")
    first = image_number(images[0])
    dst = out / f"{clip.name}.mp4"
    if dst.exists():
        log.info("%s exists; not encoding again", dst)
    else:
        log.info("encoding %d images of %s at %s fps", len(images), clip.source.path, fps)
        encode_images(images, dst, fps)
    return dst, fps, len(images), first if first is not None else frame_base


def _merged_splits(path: Path, rows: list[tuple[str, str, str | None]]) -> list[tuple[str, str, str | None]]:
    """New rows merged into an existing splits.csv (a split fixed there is kept)."""
    existing = read_splits_csv(path) if path.is_file() else {}
    merged = {clip: (subject, split) for clip, (subject, split) in existing.items()}
    for clip, subject, _ in rows:
        merged[clip] = (subject, existing.get(clip, (subject, None))[1])
    return [(clip, subject, split) for clip, (subject, split) in sorted(merged.items())]


def convert(kind: str, sheet: str | Path, videos: str | Path, out: str | Path,
            fps: float | Fraction | None = None, copy: bool = False, frame_base: int = 1) -> list[ClipInfo]:
    """Turn a benchmark's sheet and media into a clip folder.

    Args:
        kind: ``"casme2"``, ``"samm"`` or ``"mmew"``.
        sheet: the annotation sheet (xlsx) in the dataset's published layout.
        videos: the folder holding the videos or image-sequence folders (searched recursively).
        out: the clip folder to write (created when missing); existing videos are reused.
        fps: frame rate for image sequences (default per dataset).
        copy: copy video files instead of hard-linking them.
        frame_base: the sheet number of a video file's first frame.

    Returns:
        The clips of ``out`` after conversion.

    Raises:
        DataError: bad sheet, missing folders, or no media for any row.
    """
    if kind not in KINDS:
        raise DataError(f"{sheet}: unknown dataset kind {kind!r}; use one of {', '.join(KINDS)}")
    rate = as_fps(fps if fps is not None else DEFAULT_FPS[kind])
    rows = read_sheet(kind, sheet)
    if not rows:
        raise DataError(f"{sheet}: no expressions in the sheet")
    clips = _group(rows, MediaIndex(videos))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    split_rows = []
    for clip in clips:
        video, clip_fps, n_frames, base = _media(clip, out, rate, copy, frame_base)
        segments = _segments(clip, base, n_frames)
        save_eaf(ClipAnnotations(segments=segments, speaking=[]), out / f"{clip.name}.eaf", clip_fps,
                 media_path=video, backups=0)
        split_rows.append((clip.name, clip.subject, None))
        log.info("%s: %d expressions (subject %s)", clip.name, len(segments), clip.subject)
    write_splits_csv(out / SPLITS_FILE, _merged_splits(out / SPLITS_FILE, split_rows))
    return discover_clips(out)
