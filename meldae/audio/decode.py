"""Decoding a video's audio track with PyAV: mono float32 at a chosen sample rate.

Sample 0 is time 0 of the video's first frame: an audio track that starts later is padded
with silence, one that starts earlier is trimmed, so that sample ``k`` and frame ``i`` line
up at ``k / rate == i / fps``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class AudioError(Exception):
    """A file whose audio cannot be read; ``str``: ``"<path>: <reason>"``."""


@dataclass(frozen=True)
class AudioInfo:
    """What the header says about a file's first audio track."""

    sample_rate: int        # samples per second of the track
    channels: int
    duration_s: float       # of the whole file (container duration), seconds
    codec: str


def _open(path: Path):
    import av

    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise AudioError(f"{path}: cannot open ({exc})") from None


def probe_audio(path: str | Path) -> AudioInfo | None:
    """The first audio track's header, or None when the file has no audio track.

    Raises:
        AudioError: the file cannot be opened.
    """
    path = Path(path)
    with _open(path) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        duration = container.duration / 1e6 if container.duration else 0.0
        if not duration and stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        return AudioInfo(int(stream.rate or stream.codec_context.sample_rate or 0),
                         int(stream.channels or 0), float(duration), stream.codec_context.name)


def _start_offset_s(container) -> float:
    """Audio start minus video start (seconds); 0 without a video track."""
    audio = container.streams.audio[0]
    a0 = float(audio.start_time * audio.time_base) if audio.start_time is not None else 0.0
    if not container.streams.video:
        return 0.0
    video = container.streams.video[0]
    v0 = float(video.start_time * video.time_base) if video.start_time is not None else 0.0
    return a0 - v0


def iter_audio(path: str | Path, sample_rate: int = 16000,
               chunk_s: float = 10.0) -> Iterator[np.ndarray]:
    """The audio track as mono float32 chunks of about ``chunk_s`` seconds (the last may be
    shorter), resampled to ``sample_rate``, aligned to the first video frame.

    Raises:
        AudioError: unreadable file, no audio track, or a decoding error.
    """
    import av

    path = Path(path)
    chunk = max(1, int(chunk_s * sample_rate))
    with _open(path) as container:
        if not container.streams.audio:
            raise AudioError(f"{path}: no audio track")
        offset = int(round(_start_offset_s(container) * sample_rate))
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        pending: list[np.ndarray] = [np.zeros(offset, np.float32)] if offset > 0 else []
        to_skip, held = max(0, -offset), max(0, offset)
        try:
            for frame in container.decode(container.streams.audio[0]):
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    if to_skip:
                        cut = min(to_skip, len(samples))
                        samples, to_skip = samples[cut:], to_skip - cut
                    pending.append(samples)
                    held += len(samples)
                if held >= chunk:
                    joined = np.concatenate(pending)
                    while len(joined) >= chunk:
                        yield joined[:chunk]
                        joined = joined[chunk:]
                    pending, held = [joined], len(joined)
            for out in resampler.resample(None):
                pending.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
        except av.FFmpegError as exc:
            raise AudioError(f"{path}: audio decoding failed ({exc})") from None
    if pending:
        rest = np.concatenate(pending)
        for start in range(0, len(rest), chunk):
            yield rest[start:start + chunk]


def read_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """The whole audio track, mono float32 at ``sample_rate`` (see ``iter_audio``)."""
    chunks = list(iter_audio(path, sample_rate))
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
