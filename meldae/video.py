"""Frame-exact video reading with PyAV.

``VideoReader(path)[i]`` is the i-th frame that sequential decoding produces, for every i,
including files with B-frames, variable frame rates and edit lists that discard frames.

How: on open, the packets are demuxed without decoding (fast) and the presentation
timestamps (pts) of the frames that will really be shown are sorted into a frame index; the
keyframes give the points to seek from. Reading frame i seeks to the last keyframe whose pts
is not after frame i's pts and decodes forward to the exact pts. Reading frame i+1 after
frame i decodes one frame (no seek); the last 12 decoded frames are kept, so stepping back
is free too, and converted RGB frames sit in an LRU cache (``cache_bytes``). Every decoded frame is
checked against the index; when they disagree (a decoder that drops frames the container
lists) the index is rebuilt by decoding the whole file once. Files whose timestamps are
missing or repeated are indexed by decoding, too.

Thread-safety: a ``VideoReader`` is not thread-safe. Use one reader per thread (opening one
is cheap); ``iter_frames`` opens its own decoder, so one thread may iterate while the same
thread reads random frames from the reader.
"""

from __future__ import annotations

import bisect
import logging
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

log = logging.getLogger(__name__)

__all__ = ["VideoError", "VideoInfo", "VideoReader", "probe"]

_FORWARD_DECODE_LIMIT = 8  # frames: decoding this far forward is cheaper than any seek
_RECENT_FRAMES = 12  # decoded frames a cursor keeps, so stepping backwards needs no seek
_DEFAULT_CACHE_BYTES = 192 * 1024 * 1024


class VideoError(Exception):
    """A video that cannot be read: missing, empty, truncated, corrupt or not a video.

    ``str(err)`` is ``"<path>: <reason>"``.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


class _IndexMismatch(Exception):
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


def _open(path: Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
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
    container, stream = _open(path)
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
class _FrameIndex:
    """Sorted presentation timestamps of the frames, and the keyframes to seek from."""

    pts: list[int]                  # frame i's pts, ascending
    key_pts: list[int]              # keyframes' pts, ascending
    key_seek: list[int]             # the timestamp to seek to for each keyframe
    by_pts: dict[int, int]          # pts -> frame index
    seekable: bool = True           # False: only decoding from the start is exact

    @classmethod
    def build(cls, pts: list[int], keys: list[tuple[int, int]], seekable: bool) -> _FrameIndex:
        pts = sorted(pts)
        keys = sorted(keys)
        return cls(pts, [k for k, _ in keys], [s for _, s in keys],
                   {p: i for i, p in enumerate(pts)}, seekable)

    def seek_ts(self, frame_idx: int) -> int | None:
        """The timestamp to seek to before decoding frame ``frame_idx``; None: the start."""
        if not self.seekable:
            return None
        k = bisect.bisect_right(self.key_pts, self.pts[frame_idx]) - 1
        return self.key_seek[k] if k >= 0 else None


def _scan_packets(path: Path) -> _FrameIndex | None:
    """Index a file by demuxing its packets; None when its timestamps cannot be trusted."""
    container, stream = _open(path)
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
    return _FrameIndex.build(pts, keys, seekable=True)


def _decode_index(path: Path) -> _FrameIndex:
    """Index a file by decoding every frame (slow, exact)."""
    container, stream = _open(path)
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
        return _FrameIndex.build(list(range(len(pts))), [(0, 0)], seekable=False)
    return _FrameIndex.build(pts, keys, seekable=True)


def _exact_fps(stream: av.video.stream.VideoStream, pts: list[int]) -> Fraction:
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


def _to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """A decoded frame as a read-only (H, W, 3) uint8 RGB array, display rotation applied."""
    rgb = frame.to_ndarray(format="rgb24")  # (H, W, 3)
    rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
    if rotation:
        # The display matrix rotates counter-clockwise by ``rotation`` degrees.
        rgb = np.ascontiguousarray(np.rot90(rgb, k=rotation // 90))
    rgb.flags.writeable = False
    return rgb


class _Cursor:
    """One decoder positioned in one file: serves ascending requests without seeking."""

    def __init__(self, path: Path, index: _FrameIndex) -> None:
        self._path = path
        self._index = index
        self._container, self._stream = _open(path)
        self._frames: Iterator[av.VideoFrame] | None = None
        self.pos = -1  # the frame index of the last frame produced
        self.recent: OrderedDict[int, av.VideoFrame] = OrderedDict()  # last frames decoded

    def close(self) -> None:
        self._frames = None
        self.recent.clear()
        self._container.close()

    def read(self, frame_idx: int) -> av.VideoFrame:
        """Decode frame ``frame_idx`` exactly; raises _IndexMismatch when decoding disagrees."""
        recent = self.recent.get(frame_idx)
        if recent is not None:
            return recent
        index = self._index
        forward = self._frames is not None and 0 <= self.pos < frame_idx and (
            frame_idx - self.pos <= _FORWARD_DECODE_LIMIT
            or index.seek_ts(frame_idx) == index.seek_ts(self.pos))
        if not forward:
            self._seek(index.seek_ts(frame_idx))
            try:
                return self._advance(frame_idx, after_seek=True)
            except _SeekLate:
                log.debug("%s: seek landed after frame %d; decoding from the start",
                          self._path, frame_idx)
                self._seek(None)
        return self._advance(frame_idx, after_seek=False)

    def _seek(self, ts: int | None) -> None:
        if ts is None:  # reopen: the only seek that is exact for every file
            self._container.close()
            self._container, self._stream = _open(self._path)
        else:
            self._container.seek(ts, stream=self._stream, backward=True, any_frame=False)
        self._frames = self._container.decode(self._stream)
        self.pos = -1

    def _advance(self, frame_idx: int, after_seek: bool) -> av.VideoFrame:
        first = after_seek
        try:
            for frame in self._frames:
                pos = self._position(frame)
                if first and pos > frame_idx:
                    raise _SeekLate
                first = False
                if pos != self.pos + 1 and self.pos >= 0:
                    raise _IndexMismatch(f"frame {self.pos + 1} expected, {pos} decoded")
                self.pos = pos
                self.recent[pos] = frame
                if len(self.recent) > _RECENT_FRAMES:
                    self.recent.popitem(last=False)
                if pos == frame_idx:
                    return frame
                if pos > frame_idx:
                    break
        except av.error.FFmpegError as err:
            raise VideoError(self._path, f"decoding failed near frame {frame_idx} "
                                         f"({err.strerror or err})") from err
        self._frames = None
        raise _IndexMismatch(f"frame {frame_idx} was not produced by decoding")

    def _position(self, frame: av.VideoFrame) -> int:
        if not self._index.seekable:
            return self.pos + 1
        pos = self._index.by_pts.get(frame.pts) if frame.pts is not None else None
        if pos is None:
            raise _IndexMismatch(f"decoded a frame with unknown pts {frame.pts}")
        return pos


class _SeekLate(Exception):
    """The demuxer's seek landed after the requested frame (internal)."""


class VideoReader:
    """Frame-exact random access to a video's frames (PyAV underneath).

    Attributes:
        path: the video file.
        fps: the frame rate, an exact fraction (the mean rate for variable-rate files).
        size: ``(width, height)`` of the frames, display rotation applied.

    Frames are read-only ``(H, W, 3)`` uint8 RGB arrays (copy one to draw on it). Not
    thread-safe: use one reader per thread.
    """

    def __init__(self, path: str | Path, cache_bytes: int = _DEFAULT_CACHE_BYTES) -> None:
        """Open and index a video.

        Args:
            path: the video file.
            cache_bytes: the memory budget of the cache of recently decoded frames.

        Raises:
            VideoError: the file is missing, empty, truncated, corrupt or not a video.
        """
        self.path = Path(path)
        index = _scan_packets(self.path)
        self._index = index if index is not None else _decode_index(self.path)
        self._decoded_index = index is None
        if not self._index.pts:
            raise VideoError(self.path, "the video stream holds no frames")
        container, stream = _open(self.path)
        try:
            self.fps = _exact_fps(stream, self._index.pts if self._index.seekable else [])
            self.time_base = Fraction(stream.time_base or 1)
        finally:
            container.close()
        self._cursor: _Cursor | None = None
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        first = self[0]
        self.size = (int(first.shape[1]), int(first.shape[0]))
        frame_bytes = max(1, first.nbytes)
        self._cache_frames = max(2, cache_bytes // frame_bytes)

    @property
    def timestamps(self) -> list[Fraction]:
        """Each frame's presentation time in seconds from the first frame."""
        pts = self._index.pts
        if not self._index.seekable:
            return [Fraction(i) / self.fps for i in range(len(pts))]
        return [Fraction(p - pts[0]) * self.time_base for p in pts]

    def __len__(self) -> int:
        return len(self._index.pts)

    def __getitem__(self, frame_idx: int) -> np.ndarray:
        """Frame ``frame_idx`` (negative counts from the end): read-only (H, W, 3) uint8 RGB."""
        n = len(self)
        if not isinstance(frame_idx, (int, np.integer)):
            raise TypeError(f"frame index must be an int, not {type(frame_idx).__name__}")
        frame_idx = int(frame_idx) + n if frame_idx < 0 else int(frame_idx)
        if not 0 <= frame_idx < n:
            raise IndexError(f"frame {frame_idx} out of range for {n} frames")
        cached = self._cache.get(frame_idx)
        if cached is not None:
            self._cache.move_to_end(frame_idx)
            return cached
        rgb = _to_rgb(self._read(frame_idx))
        self._cache[frame_idx] = rgb
        while len(self._cache) > getattr(self, "_cache_frames", 2):
            self._cache.popitem(last=False)
        return rgb

    def _read(self, frame_idx: int) -> av.VideoFrame:
        if self._cursor is None:
            self._cursor = _Cursor(self.path, self._index)
        try:
            return self._cursor.read(frame_idx)
        except _IndexMismatch as err:
            self._reindex(err)
            return self._cursor.read(frame_idx)

    def _reindex(self, err: _IndexMismatch) -> None:
        """Replace the packet index by a decoded one; fails if it is already decoded."""
        if self._decoded_index:
            raise VideoError(self.path, f"decoding is not repeatable ({err})") from err
        log.warning("%s: packet index disagrees with decoding (%s); re-indexing by decoding",
                    self.path, err)
        old = len(self)
        self._index = _decode_index(self.path)
        self._decoded_index = True
        if len(self) != old:
            log.warning("%s: %d frames decode, not %d", self.path, len(self), old)
        self._cache.clear()
        if self._cursor is not None:
            self._cursor.close()
        self._cursor = _Cursor(self.path, self._index)

    def __iter__(self) -> Iterator[np.ndarray]:
        for _, frame in self.iter_frames():
            yield frame

    def iter_frames(self, start: int = 0, stop: int | None = None
                    ) -> Iterator[tuple[int, np.ndarray]]:
        """Decode frames ``start .. stop-1`` sequentially with a decoder of their own.

        Args:
            start: the first frame index.
            stop: one past the last frame index; None for the end of the video.

        Yields:
            ``(frame_idx, frame)`` pairs in order; frames as in ``reader[frame_idx]``.
        """
        stop = len(self) if stop is None else min(stop, len(self))
        frame_idx = max(0, start)
        while frame_idx < stop:
            cursor = _Cursor(self.path, self._index)
            try:
                while frame_idx < stop:
                    yield frame_idx, _to_rgb(cursor.read(frame_idx))
                    frame_idx += 1
            except _IndexMismatch as err:
                self._reindex(err)
                stop = min(stop, len(self))
            finally:
                cursor.close()

    def close(self) -> None:
        """Release the decoder and the frame cache."""
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None
        self._cache.clear()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"VideoReader({str(self.path)!r}, frames={len(self)}, fps={self.fps}, "
                f"size={self.size})")
