"""Voice activity with silero-vad (its weights ship in the PyPI wheel: works offline).

The TorchScript model of the ``silero-vad`` package is loaded from its data folder
without importing the package, whose import sets torch's thread count to 1 for the whole
process. ``iter_vad`` runs it over a file's audio (16 kHz, windows of 512 samples =
32 ms), yielding progress; the probabilities are cached per file in
``cache_dir()/audio/<key>.vad.npz``, so turns under other settings cost nothing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meldae.audio.decode import AudioError, iter_audio, probe_audio
from meldae.audio.turns import SpeechTurns, VadSettings

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
WINDOW = 512                       # samples per model call at 16 kHz
HOP_S = WINDOW / SAMPLE_RATE
CACHE_VERSION = 1


@dataclass(frozen=True)
class VadProgress:
    """Seconds of audio analysed so far."""

    done_s: float
    total_s: float


def vad_model_path() -> Path:
    """The silero-vad TorchScript file inside the installed package.

    Raises:
        AudioError: silero-vad is not installed.
    """
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise AudioError("silero-vad: not installed (pip install silero-vad)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "silero_vad.jit"
    if not path.is_file():
        raise AudioError(f"{path}: the silero-vad model file is missing")
    return path


def load_vad_model():
    """A fresh silero-vad model (TorchScript, CPU, eval mode; it keeps a state per stream)."""
    import torch

    import warnings

    with warnings.catch_warnings():   # "torch.jit.load is deprecated": silero ships TorchScript
        warnings.simplefilter("ignore", FutureWarning)
        model = torch.jit.load(str(vad_model_path()), map_location="cpu")
    model.eval()
    return model


def _cache_path(video_path: Path, folder: Path | None) -> Path:
    from meldae.faces.cache import content_digest
    from meldae.paths import cache_dir

    model = vad_model_path()
    text = f"v{CACHE_VERSION}:{content_digest(video_path)}:{model.stat().st_size}:{WINDOW}"
    key = hashlib.sha1(text.encode()).hexdigest()
    return (folder or cache_dir() / "audio") / f"{key}.vad.npz"


def _read_cache(path: Path) -> tuple[np.ndarray, float] | None:
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            return data["probs"].astype(np.float32), float(data["duration_s"])
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring damaged VAD cache %s: %s", path, exc)
        return None


def iter_speech_probs(video_path: str | Path) -> Iterator[tuple[np.ndarray, float]]:
    """Speech probabilities of consecutive 32 ms windows, in chunks, with the seconds of
    audio read so far. The last partial window is zero-padded.

    Raises:
        AudioError: unreadable file, no audio track, or silero-vad missing.
    """
    import torch

    model = load_vad_model()
    # One thread: the model's ops are tiny and thread hand-offs cost more than they save
    # (RTF 0.02 with one thread, 0.07-0.17 with two on the 2-core CI machine).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield from _run_model(model, video_path)
    finally:
        torch.set_num_threads(threads)


def _run_model(model, video_path) -> Iterator[tuple[np.ndarray, float]]:
    import torch

    done = 0
    with torch.inference_mode():
        for chunk in iter_audio(video_path, SAMPLE_RATE, chunk_s=WINDOW * 300 / SAMPLE_RATE):
            if len(chunk) % WINDOW:
                chunk = np.pad(chunk, (0, WINDOW - len(chunk) % WINDOW))
            tensor = torch.from_numpy(np.ascontiguousarray(chunk))
            probs = [float(model(tensor[i:i + WINDOW].unsqueeze(0), SAMPLE_RATE))
                     for i in range(0, len(tensor), WINDOW)]
            done += len(chunk)
            yield np.asarray(probs, np.float32), done / SAMPLE_RATE


def iter_vad(video_path: str | Path, settings: VadSettings = VadSettings(),
             cache_folder: Path | None = None,
             use_cache: bool = True) -> Iterator[VadProgress | SpeechTurns]:
    """Speaking turns of a file's audio: ``VadProgress`` while running, ``SpeechTurns`` last.

    Closing the generator stops the detector (nothing is cached then).

    Raises:
        AudioError: unreadable file, no audio track (message "no audio track"), or
            silero-vad missing.
    """
    path = Path(video_path)
    info = probe_audio(path)
    if info is None:
        raise AudioError(f"{path}: no audio track")
    cache = _cache_path(path, cache_folder) if use_cache else None
    hit = _read_cache(cache) if cache is not None else None
    if hit is not None:
        yield SpeechTurns.from_probs(hit[0], HOP_S, hit[1], settings)
        return
    started, parts, done_s = time.perf_counter(), [], 0.0
    for probs, done_s in iter_speech_probs(path):
        parts.append(probs)
        yield VadProgress(done_s, info.duration_s)
    probs = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    duration = min(done_s, len(probs) * HOP_S)
    if cache is not None:
        from meldae.atomic import atomic_savez
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_savez(cache, probs=probs, duration_s=np.float64(duration))
        except OSError as exc:
            log.warning("cannot cache the VAD result in %s: %s", cache, exc)
    yield SpeechTurns.from_probs(probs, HOP_S, duration, settings,
                                 time.perf_counter() - started)


def detect_turns(video_path: str | Path, settings: VadSettings = VadSettings(),
                 cache_folder: Path | None = None, use_cache: bool = True) -> SpeechTurns:
    """The speaking turns of a file's audio (runs ``iter_vad`` to the end)."""
    result = None
    for result in iter_vad(video_path, settings, cache_folder, use_cache):
        pass
    return result
