"""Finding a benchmark clip's media (a video file or a folder of frame images) and
putting it into a clip folder: video files are hard-linked (copied across file systems),
image sequences are encoded to H.264 (CRF 8, near-lossless, yuv420p, plays everywhere)
with PyAV.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from meldae.atomic import atomic_write
from meldae.data.clipfolder import VIDEO_EXTENSIONS, DataError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
_NUMBER = re.compile(r"(\d+)(?!.*\d)")  # the last run of digits in a name


@dataclass(frozen=True)
class MediaSource:
    """A clip's media: a video file, or a folder of numbered frame images."""

    path: Path
    is_video: bool

    def images(self) -> list[Path]:
        """The frame images sorted by their number (image folders only)."""
        files = [p for p in self.path.iterdir()
                 if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")]
        return sorted(files, key=lambda p: (image_number(p) if image_number(p) is not None else -1, p.name))


def image_number(path: Path) -> int | None:
    """The frame number in an image name (``006_1_0042.jpg`` -> 42; ``img7.jpg`` -> 7)."""
    match = _NUMBER.search(path.stem)
    return int(match.group(1)) if match else None


class MediaIndex:
    """Every video file and image folder below a root, by name (one walk of the tree)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"{self.root}: videos folder not found")
        self.by_name: dict[str, list[MediaSource]] = {}
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            here = Path(folder)
            if folder != str(self.root) and any(f.lower().endswith(IMAGE_EXTENSIONS) for f in files):
                self._add(here.name, MediaSource(here, is_video=False))
            for name in files:
                stem, ext = os.path.splitext(name)
                if ext.lower() in VIDEO_EXTENSIONS:
                    self._add(stem, MediaSource(here / name, is_video=True))

    def _add(self, name: str, source: MediaSource) -> None:
        self.by_name.setdefault(name.lower(), []).append(source)

    def find(self, filename: str, subject: str) -> MediaSource | None:
        """The media for a sheet's ``filename``: exact name, ``<subject>_<name>``, or the
        name without its last ``_<n>`` (SAMM numbers expressions ``006_1_2`` in video ``006_1``).

        Raises:
            DataError: when several media files match and the subject does not decide.
        """
        stem = Path(filename).stem if Path(filename).suffix.lower() in VIDEO_EXTENSIONS else filename
        candidates = [stem, f"{subject}_{stem}"]
        trimmed = re.sub(r"_\d+$", "", stem)
        if trimmed != stem:
            candidates.append(trimmed)
        for name in candidates:
            found = self.by_name.get(name.lower(), [])
            if len(found) > 1:
                narrowed = [s for s in found if subject and subject.lower() in
                            str(s.path.relative_to(self.root).parent).lower()]
                if len(narrowed) != 1:
                    paths = ", ".join(str(s.path) for s in found)
                    raise DataError(f"{self.root}: {filename!r} matches several media: {paths}")
                found = narrowed
            if found:
                return found[0]
        return None


    def find_prefix(self, folder: str, prefix: str) -> MediaSource | None:
        """The media whose name starts with ``prefix`` inside a folder named ``folder``
        (CAS(ME)^2: ``s15`` / ``15_0401`` finds ``rawvideo/s15/15_0401girlcrashing.avi``).
        A video file wins over an image folder of the same clip (nothing to encode).

        Raises:
            DataError: several different clips match.
        """
        found = [source for name, sources in self.by_name.items() if name.startswith(prefix.lower())
                 for source in sources
                 if folder.lower() in (p.lower() for p in source.path.relative_to(self.root).parts[:-1])]
        if not found:
            return None
        names = {(s.path.stem if s.is_video else s.path.name).lower() for s in found}
        if len(names) > 1:
            raise DataError(f"{self.root}: {folder}/{prefix}* matches several clips: "
                            + ", ".join(sorted(names)))
        return sorted(found, key=lambda s: not s.is_video)[0]


def link_or_copy(src: Path, dst: Path, copy: bool = False) -> None:
    """Hard-link ``src`` to ``dst`` (copy when asked or across file systems)."""
    def place(tmp: Path) -> None:
        tmp.unlink()
        if copy:
            shutil.copy2(src, tmp)
        else:
            try:
                os.link(src, tmp)
            except OSError:
                shutil.copy2(src, tmp)

    try:
        atomic_write(dst, place)
    except OSError as exc:
        raise DataError(f"{dst}: cannot write ({exc.strerror or exc})") from None


def encode_images(images: list[Path], dst: Path, fps: Fraction, crf: int = 8) -> int:
    """Encode frame images to an H.264 MP4 at ``fps``; returns the number of frames.

    Odd widths/heights lose their last column/row (yuv420p needs even sizes).

    Raises:
        DataError: an image cannot be read or changes size.
    """
    import av
    import cv2

    if not images:
        raise DataError(f"{dst}: no images to encode")
    count = 0

    def encode(tmp: Path) -> None:
        nonlocal count
        with av.open(str(tmp), mode="w") as container:
            stream = None
            for image_path in images:
                bgr = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
                if bgr is None:
                    raise DataError(f"{image_path}: not a readable image")
                if stream is None:
                    height, width = bgr.shape[0] // 2 * 2, bgr.shape[1] // 2 * 2
                    stream = container.add_stream("libx264", rate=fps)
                    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
                    stream.options = {"crf": str(crf), "preset": "fast"}
                if bgr.shape[0] // 2 * 2 != stream.height or bgr.shape[1] // 2 * 2 != stream.width:
                    raise DataError(f"{image_path}: size {bgr.shape[1]}x{bgr.shape[0]} differs from "
                                    f"the first image's {stream.width}x{stream.height}")
                rgb = cv2.cvtColor(bgr[: stream.height, : stream.width], cv2.COLOR_BGR2RGB)  # (H, W, 3)
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                container.mux(stream.encode(frame))
                count += 1
            container.mux(stream.encode(None))

    try:
        atomic_write(dst, encode, suffix=dst.suffix)
    except av.error.FFmpegError as exc:
        raise DataError(f"{dst}: encoding failed ({exc})") from None
    return count
