"""``VideoReader``: frame-exact random access on top of the packet index.

See :mod:`meldae.video` for the design (seek to the keyframe before a frame, decode forward
to its exact pts; recent frames and an RGB LRU cache make stepping free).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from meldae.video.index import (FrameIndex, IndexMismatch, VideoError, decode_index,
                                exact_fps, open_video, scan_packets)

log = logging.getLogger(__name__)

_FORWARD_DECODE_LIMIT = 8  # frames: decoding this far forward is cheaper than any seek
_RECENT_FRAMES = 12  # decoded frames a cursor keeps, so stepping backwards needs no seek
_DEFAULT_CACHE_BYTES = 192 * 1024 * 1024


def _to_rgb(frame: av.VideoFrame, fit: tuple[int, int] | None = None) -> np.ndarray:
    """A decoded frame as a read-only (H, W, 3) uint8 RGB array, display rotation applied.

    ``fit`` ``(width, height)``: scale down (aspect kept, even sizes) to fit inside it; the
    scaling and the colour conversion are one swscale pass, much cheaper than both apart.
    """
    rotation = int(round(getattr(frame, "rotation", 0) or 0)) % 360
    if fit is None:
        rgb = frame.to_ndarray(format="rgb24")  # (H, W, 3)
    else:
        fit_w, fit_h = fit if rotation % 180 == 0 else (fit[1], fit[0])
        scale = min(1.0, fit_w / frame.width, fit_h / frame.height)
        width = max(2, int(frame.width * scale) & ~1)
        height = max(2, int(frame.height * scale) & ~1)
        rgb = frame.to_ndarray(format="rgb24", width=width, height=height)
    if rotation:
        # The display matrix rotates counter-clockwise by ``rotation`` degrees.
        rgb = np.ascontiguousarray(np.rot90(rgb, k=rotation // 90))
    rgb.flags.writeable = False
    return rgb


class _Cursor:
    """One decoder positioned in one file: serves ascending requests without seeking."""

    def __init__(self, path: Path, index: FrameIndex) -> None:
        self._path = path
        self._index = index
        self._container, self._stream = open_video(path)
        self._frames: Iterator[av.VideoFrame] | None = None
        self.pos = -1  # the frame index of the last frame produced
        self.recent: OrderedDict[int, av.VideoFrame] = OrderedDict()  # last frames decoded
        self._interrupt: Callable[[], bool] | None = None

    def close(self) -> None:
        self._frames = None
        self.recent.clear()
        self._container.close()

    def read(self, frame_idx: int, interrupt: Callable[[], bool] | None = None
             ) -> av.VideoFrame:
        """Decode frame ``frame_idx`` exactly; raises IndexMismatch when decoding disagrees.

        ``interrupt`` is asked between decoded frames; True raises ReadInterrupted, and the
        cursor stays valid where it stopped.
        """
        self._interrupt = interrupt
        recent = self.recent.get(frame_idx)
        if recent is not None:
            return recent
        index = self._index
        forward = self._frames is not None and 0 <= self.pos < frame_idx and (
            frame_idx - self.pos <= _FORWARD_DECODE_LIMIT
            or index.seek_ts(frame_idx) == index.seek_ts(self.pos))
        if not forward:
            candidates = index.seek_candidates(frame_idx)
            for attempt, ts in enumerate(candidates):
                self._seek(ts)
                try:
                    return self._advance(frame_idx, after_seek=True)
                except _SeekLate:
                    log.debug("%s: seek to %s landed after frame %d", self._path, ts,
                              frame_idx)
                except IndexMismatch:
                    # A demuxer that does not seek by pts (MPEG-TS): try the next way.
                    if attempt == len(candidates) - 1:
                        raise
            self._seek(None)
        return self._advance(frame_idx, after_seek=False)

    def _seek(self, ts: int | None) -> None:
        if ts is None:  # reopen: the only seek that is exact for every file
            self._container.close()
            self._container, self._stream = open_video(self._path)
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
                    raise IndexMismatch(f"frame {self.pos + 1} expected, {pos} decoded")
                self.pos = pos
                self.recent[pos] = frame
                if len(self.recent) > _RECENT_FRAMES:
                    self.recent.popitem(last=False)
                if pos == frame_idx:
                    return frame
                if pos > frame_idx:
                    break
                if self._interrupt is not None and self._interrupt():
                    raise ReadInterrupted(frame_idx)
        except av.error.FFmpegError as err:
            raise VideoError(self._path, f"decoding failed near frame {frame_idx} "
                                         f"({err.strerror or err})") from err
        self._frames = None
        raise IndexMismatch(f"frame {frame_idx} was not produced by decoding")

    def _position(self, frame: av.VideoFrame) -> int:
        if not self._index.seekable:
            return self.pos + 1
        pos = self._index.by_pts.get(frame.pts) if frame.pts is not None else None
        if pos is None:
            raise IndexMismatch(f"decoded a frame with unknown pts {frame.pts}")
        return pos


class _SeekLate(Exception):
    """The demuxer's seek landed after the requested frame (internal)."""


class ReadInterrupted(Exception):
    """``VideoReader.read`` gave up on a frame because its ``interrupt`` said so."""

    def __init__(self, frame_idx: int) -> None:
        super().__init__(f"reading frame {frame_idx} was interrupted")
        self.frame_idx = frame_idx


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
        index = scan_packets(self.path)
        self._index = index if index is not None else decode_index(self.path)
        self._decoded_index = index is None
        if not self._index.pts:
            raise VideoError(self.path, "the video stream holds no frames")
        container, stream = open_video(self.path)
        try:
            self.fps = exact_fps(stream, self._index.pts if self._index.seekable else [])
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

    @property
    def keyframes(self) -> list[int]:
        """The frame indices of the keyframes (where a seek can start), ascending."""
        if not self._index.seekable:
            return [0]
        by_pts = self._index.by_pts
        return sorted({by_pts[p] for p in self._index.key_pts if p in by_pts} | {0})

    def __getitem__(self, frame_idx: int) -> np.ndarray:
        """Frame ``frame_idx`` (negative counts from the end): read-only (H, W, 3) uint8 RGB."""
        return self.read(frame_idx)

    def read(self, frame_idx: int, interrupt: Callable[[], bool] | None = None,
             fit: tuple[int, int] | None = None) -> np.ndarray:
        """Frame ``frame_idx``, like ``reader[frame_idx]``, with two options.

        Args:
            frame_idx: the frame (negative counts from the end).
            interrupt: asked between the frames decoded on the way to ``frame_idx``; when it
                returns True the read stops with ReadInterrupted (a scrub moved on).
            fit: ``(width, height)`` to scale the frame down into (aspect kept); scaled
                frames bypass the frame cache.

        Raises:
            ReadInterrupted: ``interrupt`` returned True before the frame was decoded.
        """
        n = len(self)
        if not isinstance(frame_idx, (int, np.integer)):
            raise TypeError(f"frame index must be an int, not {type(frame_idx).__name__}")
        frame_idx = int(frame_idx) + n if frame_idx < 0 else int(frame_idx)
        if not 0 <= frame_idx < n:
            raise IndexError(f"frame {frame_idx} out of range for {n} frames")
        if fit is not None:
            return _to_rgb(self._read(frame_idx, interrupt), fit)
        cached = self._cache.get(frame_idx)
        if cached is not None:
            self._cache.move_to_end(frame_idx)
            return cached
        rgb = _to_rgb(self._read(frame_idx, interrupt))
        self._cache[frame_idx] = rgb
        while len(self._cache) > getattr(self, "_cache_frames", 2):
            self._cache.popitem(last=False)
        return rgb

    def _read(self, frame_idx: int, interrupt: Callable[[], bool] | None = None
              ) -> av.VideoFrame:
        if self._cursor is None:
            self._cursor = _Cursor(self.path, self._index)
        try:
            return self._cursor.read(frame_idx, interrupt)
        except IndexMismatch as err:
            self._reindex(err)
            return self._cursor.read(frame_idx, interrupt)

    def _reindex(self, err: IndexMismatch) -> None:
        """Replace the packet index by a decoded one; fails if it is already decoded."""
        if self._decoded_index:
            raise VideoError(self.path, f"decoding is not repeatable ({err})") from err
        log.warning("%s: packet index disagrees with decoding (%s); re-indexing by decoding",
                    self.path, err)
        old = len(self)
        self._index = decode_index(self.path)
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

    def iter_frames(self, start: int = 0, stop: int | None = None,
                    fit: tuple[int, int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Decode frames ``start .. stop-1`` sequentially with a decoder of their own.

        Args:
            start: the first frame index.
            stop: one past the last frame index; None for the end of the video.
            fit: ``(width, height)`` to scale the frames down into (aspect kept).

        Yields:
            ``(frame_idx, frame)`` pairs in order; frames as in ``reader[frame_idx]``.
        """
        stop = len(self) if stop is None else min(stop, len(self))
        frame_idx = max(0, start)
        while frame_idx < stop:
            cursor = _Cursor(self.path, self._index)
            try:
                while frame_idx < stop:
                    yield frame_idx, _to_rgb(cursor.read(frame_idx), fit)
                    frame_idx += 1
            except IndexMismatch as err:
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
