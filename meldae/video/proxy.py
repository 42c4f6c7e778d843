"""Scrub proxies: a small, short-GOP copy of a long-GOP video, for previews while dragging.

A random seek in a file with keyframes 2 s apart decodes on average a second of frames
before it reaches the one asked for (hundreds of milliseconds at 1080p). The proxy is the
same frames, frame for frame, scaled to fit 640x360 and re-encoded with a keyframe every
``PROXY_GOP`` frames and no B-frames, so any frame of it decodes in a few milliseconds.

The proxy only ever feeds the *preview* shown while the playhead is dragged; exact frames
always come from the original. Frame ``i`` of the proxy is frame ``i`` of the original
(built from ``VideoReader.iter_frames``, which is frame-exact), and a proxy whose frame count
differs from the original's is never used.

Proxies live in ``<cache>/proxies/<key>.mp4``; the key hashes the video's content and the
proxy settings. They are written under a temporary name and renamed when complete, so a
proxy with its final name is always whole; a cancelled build leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from meldae.paths import cache_dir
from meldae.video.index import VideoError
from meldae.video.reader import VideoReader

log = logging.getLogger(__name__)

PROXY_VERSION = 1
PROXY_FIT = (640, 360)    # the proxy's frames fit inside this (aspect kept)
PROXY_GOP = 8             # frames between the proxy's keyframes
LONG_GOP = 2 * PROXY_GOP  # a video whose keyframes lie further apart than this gets a proxy


@dataclass(frozen=True)
class ProxyProgress:
    """How far a proxy build has come."""

    done: int    # frames written
    total: int   # frames of the video


def needs_proxy(keyframes: list[int], n_frames: int) -> bool:
    """True when seeking in a video is slow enough that a proxy pays off.

    Args:
        keyframes: the video's keyframe indices (``VideoReader.keyframes``).
        n_frames: its frame count.
    """
    stops = sorted(set(keyframes)) + [n_frames]
    longest = max(b - a for a, b in zip(stops, stops[1:])) if len(stops) > 1 else n_frames
    return longest > LONG_GOP


def proxy_path(video_path: str | Path, root: Path | None = None) -> Path:
    """Where the proxy of ``video_path`` lives (it may not exist yet).

    Args:
        video_path: the original video.
        root: the cache root; ``meldae.paths.cache_dir()`` when None.
    """
    from meldae.faces.cache import content_digest   # lazy: meldae.faces imports meldae.video

    parts = {"version": PROXY_VERSION, "video": content_digest(Path(video_path)),
             "fit": PROXY_FIT, "gop": PROXY_GOP}
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]
    return (root or cache_dir()) / "proxies" / f"{key}.mp4"


def open_proxy(path: Path, n_frames: int) -> VideoReader | None:
    """The proxy at ``path`` as a reader, or None when it is missing or does not match.

    Args:
        path: the proxy file (``proxy_path``).
        n_frames: the original's frame count; a proxy with another count is not used.
    """
    if not path.is_file():
        return None
    try:
        reader = VideoReader(path, cache_bytes=1)
    except VideoError as err:
        log.warning("ignoring a broken scrub proxy: %s", err)
        return None
    if len(reader) != n_frames:
        log.warning("ignoring scrub proxy %s: %d frames, the video has %d",
                    path, len(reader), n_frames)
        reader.close()
        return None
    return reader


def iter_build_proxy(video: VideoReader, out: Path,
                     cancelled: Callable[[], bool] = lambda: False
                     ) -> Iterator[ProxyProgress]:
    """Write the proxy of ``video`` to ``out``, yielding progress every few frames.

    Stopping early (``cancelled`` returns True, or the generator is closed) removes the
    partial file; ``out`` appears only once the proxy is complete.

    Args:
        video: the original, opened (the build decodes it with a decoder of its own).
        out: the proxy file to write (``proxy_path``).
        cancelled: asked before every frame; True stops the build.

    Yields:
        Progress after every 30 frames and once at the end.

    Raises:
        VideoError: the original cannot be decoded or the proxy cannot be written.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.part.mp4")
    total = len(video)
    complete = False
    try:
        with av.open(str(tmp), mode="w") as container:
            stream = None
            for frame_idx, rgb in video.iter_frames(fit=PROXY_FIT):
                if cancelled():
                    return
                if stream is None:
                    stream = _add_stream(container, rgb.shape[1], rgb.shape[0], video.fps)
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts = frame_idx
                for packet in stream.encode(frame.reformat(format="yuv420p")):
                    container.mux(packet)
                if (frame_idx + 1) % 30 == 0:
                    yield ProxyProgress(frame_idx + 1, total)
            if stream is not None:
                for packet in stream.encode():
                    container.mux(packet)
        os.replace(tmp, out)
        complete = True
        yield ProxyProgress(total, total)
    except (av.error.FFmpegError, OSError) as err:
        raise VideoError(video.path, f"could not write its scrub proxy {out} ({err})") from err
    finally:
        if not complete:
            tmp.unlink(missing_ok=True)


def _add_stream(container: av.container.OutputContainer, width: int, height: int,
                fps: Fraction) -> av.video.stream.VideoStream:
    """An H.264 stream made for seeking: short GOP, no B-frames, fast to encode and decode."""
    rate = Fraction(fps).limit_denominator(1_000_000) if fps > 0 else Fraction(30)
    stream = container.add_stream("libx264", rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.time_base = 1 / rate
    stream.options = {"preset": "ultrafast", "crf": "26", "tune": "fastdecode",
                      "x264-params": f"keyint={PROXY_GOP}:min-keyint={PROXY_GOP}:"
                                     "scenecut=0:bframes=0"}
    return stream
