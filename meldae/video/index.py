"""The packet index of a video: which frames a file really shows, and where to seek from.

``scan_packets(path)`` demuxes the packets without decoding (fast) and sorts the
presentation timestamps (pts) of the frames that will be shown into a ``FrameIndex``; the
keyframes give the points to seek from. Files whose timestamps are missing or repeated get
None there and are indexed by ``decode_index`` (decoding them once). ``probe`` reads a
file's header only. See :mod:`meldae.video` for how the reader uses the index.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

log = logging.getLogger(__name__)


class VideoError(Exception):
    """A video that cannot be read: missing, empty, truncated, corrupt or not a video.

    ``str(err)`` is ``"<path>: <reason>"``.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


class IndexMismatch(Exception):
    """Decoding produced frames the packet index did not predict (internal)."""


@dataclass(frozen=True)
class VideoInfo:
    """Header metadata of a video, read without demuxing (``probe``)."""

    path: Path
    width: int
    height: int
    fps: Fraction        # the container's nominal rate; VideoReader.fps is exact
    frames: int          # the container's frame count; 0 when unknown; may differ from len()
    duration_s: float | None
    codec: str


def open_video(path: Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    """Open ``path`` and return its container and first video stream, or raise VideoError."""
    if not path.exists():
        raise VideoError(path, "no such file")
    if not path.is_file():
        raise VideoError(path, "not a file")
    if path.stat().st_size == 0:
        raise VideoError(path, "empty file (0 bytes)")
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as err:
        raise VideoError(path, f"not a readable video ({err.strerror or err})") from err
    if not container.streams.video:
        container.close()
        raise VideoError(path, "no video stream in the file")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return container, stream


def probe(path: str | Path) -> VideoInfo:
    """Read a video's header metadata cheaply (no packets are read).

    Args:
        path: the video file.

    Returns:
        The header's size, nominal frame rate, frame count and duration.

    Raises:
        VideoError: the file is missing, empty or not a video.
    """
    path = Path(path)
    container, stream = open_video(path)
    try:
        rate = stream.guessed_rate or stream.average_rate or Fraction(0)
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        return VideoInfo(path, stream.codec_context.width, stream.codec_context.height,
                         Fraction(rate), int(stream.frames or 0), duration,
                         stream.codec_context.name)
    finally:
        container.close()


@dataclass
class FrameIndex:
    """Sorted presentation timestamps of the frames, and the keyframes to seek from."""

    pts: list[int]                  # frame i's pts, ascending
    key_pts: list[int]              # keyframes' pts, ascending
    key_seek: list[int]             # the timestamp to seek to for each keyframe
    by_pts: dict[int, int]          # pts -> frame index
    seekable: bool = True           # False: only decoding from the start is exact

    @classmethod
    def build(cls, pts: list[int], keys: list[tuple[int, int]], seekable: bool) -> FrameIndex:
        pts = sorted(pts)
        keys = sorted(keys)
        return cls(pts, [k for k, _ in keys], [s for _, s in keys],
                   {p: i for i, p in enumerate(pts)}, seekable)

    def seek_candidates(self, frame_idx: int) -> list[int]:
        """Timestamps to try, in order, before decoding frame ``frame_idx`` from a keyframe.

        First the keyframe's pts: MP4 demuxers seek by it and land on that keyframe. Then
        its dts (earlier with B-frames), which some demuxers need but which lands one GOP
        early in MP4, decoding a whole GOP for nothing. Empty: decode from the start.
        """
        if not self.seekable:
            return []
        k = bisect.bisect_right(self.key_pts, self.pts[frame_idx]) - 1
        if k < 0:
            return []
        return list(dict.fromkeys((self.key_pts[k], self.key_seek[k])))

    def seek_ts(self, frame_idx: int) -> int | None:
        """The timestamp to seek to before decoding frame ``frame_idx``; None: the start."""
        if not self.seekable:
            return None
        k = bisect.bisect_right(self.key_pts, self.pts[frame_idx]) - 1
        return self.key_seek[k] if k >= 0 else None


def scan_packets(path: Path) -> FrameIndex | None:
    """Index a file by demuxing its packets; None when its timestamps cannot be trusted."""
    container, stream = open_video(path)
    pts: list[int] = []
    keys: list[tuple[int, int]] = []
    n_packets = 0
    missing = False
    try:
        for packet in container.demux(stream):
            if packet.size == 0 and packet.pts is None and packet.dts is None:
                continue  # the flush packet at the end
            if packet.is_corrupt:
                raise VideoError(path, f"truncated or corrupt: packet {n_packets} is incomplete")
            n_packets += 1
            if packet.size == 0:
                continue  # e.g. a dropped frame in an AVI file: nothing to decode
            if packet.pts is None:
                missing = True
                continue
            if packet.is_keyframe:
                dts = packet.dts if packet.dts is not None else packet.pts
                keys.append((packet.pts, min(packet.pts, dts)))
            if not packet.is_discard:
                pts.append(packet.pts)
        # Only MP4/MOV headers count every sample; AVI's may count frames it never stored.
        is_mov = "mov" in container.format.name.split(",")
        header_frames = int(stream.frames or 0) if is_mov else 0
    except av.error.FFmpegError as err:
        raise VideoError(path, f"corrupt or truncated ({err.strerror or err})") from err
    finally:
        container.close()
    if header_frames and n_packets < header_frames:
        raise VideoError(path, f"truncated: the header lists {header_frames} frames, "
                               f"the file holds {n_packets}")
    if missing or len(set(pts)) != len(pts) or not keys:
        log.info("%s: timestamps missing or repeated; indexing by decoding", path)
        return None
    return FrameIndex.build(pts, keys, seekable=True)


def decode_index(path: Path) -> FrameIndex:
    """Index a file by decoding every frame (slow, exact)."""
    container, stream = open_video(path)
    pts: list[int | None] = []
    keys: list[tuple[int, int]] = []
    try:
        for packet in container.demux(stream):
            if packet.is_keyframe and packet.pts is not None:
                dts = packet.dts if packet.dts is not None else packet.pts
                keys.append((packet.pts, min(packet.pts, dts)))
            pts.extend(frame.pts for frame in packet.decode())
    except av.error.FFmpegError as err:
        raise VideoError(path, f"corrupt or truncated ({err.strerror or err})") from err
    finally:
        container.close()
    if not pts:
        raise VideoError(path, "no frame decodes")
    if None in pts or len(set(pts)) != len(pts) or pts != sorted(pts) or not keys:
        # Only the order of decoding is known: number frames 0..n-1, decode from the start.
        return FrameIndex.build(list(range(len(pts))), [(0, 0)], seekable=False)
    return FrameIndex.build(pts, keys, seekable=True)


def exact_fps(stream: av.video.stream.VideoStream, pts: list[int]) -> Fraction:
    """The frame rate as an exact fraction, checked against the frames' timestamps.

    A nominal rate of the container is used when every frame's timestamp lies within half a
    frame of ``i / rate``; otherwise (variable frame rate) the mean rate over the file.
    """
    tb = stream.time_base or Fraction(1, 1)
    candidates = [r for r in (stream.guessed_rate, stream.average_rate, stream.base_rate) if r]
    if len(pts) < 2:
        return Fraction(candidates[0]) if candidates else Fraction(0)
    times = np.array([float((p - pts[0]) * tb) for p in pts])
    idx = np.arange(len(pts))
    for rate in candidates:
        rate = Fraction(rate)
        if rate > 0 and np.all(np.abs(times * float(rate) - idx) < 0.5):
            return rate
    span = Fraction(pts[-1] - pts[0]) * tb
    return (Fraction(len(pts) - 1) / span).limit_denominator(1_000_000)
