"""Test recordings with known speech: a speech clip placed at known times in a video's
audio track, with non-speech sounds (a tone, a knock) between, over faint room noise.

Used by the tests (with a small generated video) and by ``bench/audio_vad.py`` (with the
shared video's pictures). Returns the true speech intervals in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from meldae.audio.decode import read_audio

RATE = 16000


@dataclass(frozen=True)
class Placement:
    """One sound in the track: ``kind`` is "speech", "tone" or "knock"; ``start_s`` where
    it begins; ``length_s`` for tones (speech lasts as long as the recording)."""

    kind: str
    start_s: float
    length_s: float = 1.0


# Speech twice with a 0.3 s pause (one turn), a tone and a knock between speech.
DEFAULT_LAYOUT: tuple[Placement, ...] = (
    Placement("speech", 1.0), Placement("tone", 5.2, 1.0), Placement("speech", 7.0),
    Placement("speech+pause", 0.3), Placement("knock", 14.6), Placement("speech", 15.8),
)


def trimmed_speech(wav_path: str | Path, level: float = 0.02) -> np.ndarray:
    """A speech recording at 16 kHz mono without its leading and trailing silence."""
    audio = read_audio(wav_path, RATE)
    loud = np.flatnonzero(np.abs(audio) > level)
    return audio[loud[0]:loud[-1] + 1] if len(loud) else audio


def _tone(length_s: float, freq: float = 1000.0) -> np.ndarray:
    t = np.arange(int(length_s * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _knock(rng: np.random.Generator) -> np.ndarray:
    """Three short, decaying low thumps 0.25 s apart."""
    out = np.zeros(int(0.8 * RATE), np.float32)
    t = np.arange(int(0.06 * RATE)) / RATE
    for k in range(3):
        hit = np.exp(-t * 60) * (np.sin(2 * np.pi * 180 * t) + 0.3 * rng.standard_normal(len(t)))
        start = int(k * 0.25 * RATE)
        out[start:start + len(hit)] += 0.6 * hit.astype(np.float32)
    return out


def mix_track(speech: np.ndarray, duration_s: float,
              layout: Sequence[Placement] = DEFAULT_LAYOUT,
              seed: int = 0) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The audio track ``(duration_s * 16000,)`` float32 and the true speech intervals.

    ``Placement("speech+pause", gap)`` repeats the speech ``gap`` seconds after the previous
    speech ends; its interval joins the previous one (a pause inside a turn).
    """
    rng = np.random.default_rng(seed)
    track = (0.002 * rng.standard_normal(int(duration_s * RATE))).astype(np.float32)
    truth: list[list[float]] = []
    for p in layout:
        if p.kind == "speech+pause":
            start = truth[-1][1] + p.start_s
        else:
            start = p.start_s
        sound = {"tone": lambda: _tone(p.length_s), "knock": lambda: _knock(rng)}.get(
            p.kind, lambda: speech)()
        a = int(round(start * RATE))
        b = min(len(track), a + len(sound))
        track[a:b] += sound[:b - a]
        if p.kind == "speech":
            truth.append([start, b / RATE])
        elif p.kind == "speech+pause":
            truth[-1][1] = b / RATE
    return np.clip(track, -1, 1), [tuple(t) for t in truth]


def _add_audio_stream(container):
    stream = container.add_stream("aac", rate=RATE)
    stream.layout = "mono"
    return stream


def _write_audio(container, stream, track: np.ndarray) -> None:
    import av

    pcm = np.round(track * 32767).astype(np.int16)
    for i in range(0, len(pcm), 1024):
        frame = av.AudioFrame.from_ndarray(pcm[None, i:i + 1024], format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = i
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def write_test_video(out_path: str | Path, track: np.ndarray | None, duration_s: float,
                     fps: int = 25, size: tuple[int, int] = (96, 64)) -> Path:
    """A small mp4 with moving grey pictures and ``track`` as its audio (None: no audio)."""
    import av

    out_path = Path(out_path)
    with av.open(str(out_path), "w") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.time_base = Fraction(1, fps)
        audio = _add_audio_stream(container) if track is not None else None
        for i in range(int(duration_s * fps)):
            img = np.full((size[1], size[0], 3), 60, np.uint8)
            x = (i * 2) % max(1, size[0] - 8)
            img[size[1] // 3:size[1] // 3 + 8, x:x + 8] = 220
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if audio is not None:
            _write_audio(container, audio, track)
    return out_path


def mux_into_video(video_path: str | Path, track: np.ndarray, out_path: str | Path) -> Path:
    """``video_path``'s pictures (copied, not re-encoded) with ``track`` as the audio."""
    import av

    out_path = Path(out_path)
    with av.open(str(video_path)) as src, av.open(str(out_path), "w") as dst:
        vin = src.streams.video[0]
        vout = dst.add_stream_from_template(vin)
        audio = _add_audio_stream(dst)
        for packet in src.demux(vin):
            if packet.dts is None:
                continue
            packet.stream = vout
            dst.mux(packet)
        _write_audio(dst, audio, track)
    return out_path


def speech_test_video(folder: str | Path, speech_wav: str | Path, duration_s: float = 20.0,
                      layout: Sequence[Placement] = DEFAULT_LAYOUT,
                      name: str = "speech.mp4") -> tuple[Path, list[tuple[float, float]]]:
    """A small generated video whose audio holds ``speech_wav`` at the ``layout``'s times,
    and the true speech intervals (seconds). Needs no other file (the tests use it)."""
    track, truth = mix_track(trimmed_speech(speech_wav), duration_s, layout)
    return write_test_video(Path(folder) / name, track, duration_s), truth


def write_audio_file(out_path: str | Path, track: np.ndarray) -> Path:
    """An audio-only ``.m4a`` (AAC, 16 kHz mono) holding ``track``."""
    import av

    out_path = Path(out_path)
    with av.open(str(out_path), "w", format="mp4") as container:
        _write_audio(container, _add_audio_stream(container), track)
    return out_path
