"""The waveform envelope of a clip: min and max of the audio per time bin, cached.

Decoded once per clip with PyAV (``iter_envelope``) and stored as
``cache_dir()/audio/<key>.envelope.npz`` (beside the score cache ``cache_dir()/scores``),
keyed by the file's content and the envelope settings. A pyramid of coarser levels (each
``PYRAMID_FACTOR`` bins folded into one) lets a view draw any zoom level from at most a
few thousand bins.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from meldae.audio.decode import AudioError, iter_audio, probe_audio

log = logging.getLogger(__name__)

CACHE_VERSION = 1
ENVELOPE_RATE = 8000        # Hz the audio is resampled to before binning (display only)
BINS_PER_SECOND = 100       # finest level: 10 ms bins
PYRAMID_FACTOR = 4


@dataclass(frozen=True)
class EnvelopeProgress:
    """How far the decoding got (seconds of audio)."""

    done_s: float
    total_s: float


@dataclass(frozen=True)
class Envelope:
    """Min and max sample value per bin of ``1 / bins_per_second`` seconds.

    ``mins[i]``, ``maxs[i]`` (float32 in [-1, 1]) cover ``[i, i + 1) / bins_per_second``.
    """

    mins: np.ndarray
    maxs: np.ndarray
    bins_per_second: float
    duration_s: float
    _levels: list = field(default_factory=list, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.mins)

    def levels(self) -> list[tuple[float, np.ndarray, np.ndarray]]:
        """``(bins_per_second, mins, maxs)`` from the finest level to the coarsest."""
        if not self._levels:
            rate, lo, hi = float(self.bins_per_second), self.mins, self.maxs
            self._levels.append((rate, lo, hi))
            while len(lo) > 256:
                pad = (-len(lo)) % PYRAMID_FACTOR
                lo = np.pad(lo, (0, pad), constant_values=0).reshape(-1, PYRAMID_FACTOR).min(1)
                hi = np.pad(hi, (0, pad), constant_values=0).reshape(-1, PYRAMID_FACTOR).max(1)
                rate /= PYRAMID_FACTOR
                self._levels.append((rate, lo, hi))
        return self._levels

    def level_for(self, seconds: float, max_bins: int) -> tuple[float, np.ndarray, np.ndarray]:
        """The finest level that shows ``seconds`` of audio in at most ``max_bins`` bins."""
        for rate, lo, hi in self.levels():
            if seconds * rate <= max_bins:
                return rate, lo, hi
        return self.levels()[-1]

    def save(self, path: Path) -> None:
        """Write the finest level atomically (``.npz``)."""
        from meldae.atomic import atomic_savez

        atomic_savez(path, mins=self.mins, maxs=self.maxs,
                     bins_per_second=np.float64(self.bins_per_second),
                     duration_s=np.float64(self.duration_s))

    @classmethod
    def load(cls, path: Path) -> Envelope:
        """Read a file written by ``save`` (``ValueError``/``KeyError``/``OSError`` if damaged)."""
        with np.load(path) as data:
            return cls(data["mins"].astype(np.float32), data["maxs"].astype(np.float32),
                       float(data["bins_per_second"]), float(data["duration_s"]))


def envelope_cache_path(video_path: str | Path, folder: Path | None = None) -> Path:
    """Where the envelope of ``video_path`` is cached (default ``cache_dir()/audio``)."""
    from meldae.faces.cache import content_digest
    from meldae.paths import cache_dir

    text = f"v{CACHE_VERSION}:{content_digest(Path(video_path))}:{ENVELOPE_RATE}:{BINS_PER_SECOND}"
    key = hashlib.sha1(text.encode()).hexdigest()
    return (folder or cache_dir() / "audio") / f"{key}.envelope.npz"


def _bin(samples: np.ndarray, per_bin: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(samples) // per_bin * per_bin
    blocks = samples[:n].reshape(-1, per_bin)
    return blocks.min(1), blocks.max(1)


def iter_envelope(video_path: str | Path, cache_folder: Path | None = None,
                  use_cache: bool = True) -> Iterator[EnvelopeProgress | Envelope]:
    """Compute (or read from the cache) the envelope of a file's audio track.

    Yields ``EnvelopeProgress`` while decoding, then the ``Envelope`` last. Closing the
    generator stops the decoding (nothing is cached then).

    Raises:
        AudioError: unreadable file, or no audio track (message "no audio track").
    """
    path = Path(video_path)
    info = probe_audio(path)
    if info is None:
        raise AudioError(f"{path}: no audio track")
    cached = envelope_cache_path(path, cache_folder) if use_cache else None
    if cached is not None and cached.is_file():
        try:
            yield Envelope.load(cached)
            return
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring damaged envelope cache %s: %s", cached, exc)
    per_bin = ENVELOPE_RATE // BINS_PER_SECOND
    mins, maxs, carry, done = [], [], np.zeros(0, np.float32), 0
    for chunk in iter_audio(path, ENVELOPE_RATE, chunk_s=30.0):
        samples = np.concatenate([carry, chunk])
        lo, hi = _bin(samples, per_bin)
        mins.append(lo)
        maxs.append(hi)
        carry = samples[len(lo) * per_bin:]
        done += len(chunk)
        yield EnvelopeProgress(done / ENVELOPE_RATE, info.duration_s)
    if len(carry):
        mins.append(np.array([carry.min()], np.float32))
        maxs.append(np.array([carry.max()], np.float32))
    env = Envelope(np.concatenate(mins) if mins else np.zeros(0, np.float32),
                   np.concatenate(maxs) if maxs else np.zeros(0, np.float32),
                   float(BINS_PER_SECOND), done / ENVELOPE_RATE)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            env.save(cached)
        except OSError as exc:
            log.warning("cannot cache the envelope in %s: %s", cached, exc)
    yield env


def load_envelope(video_path: str | Path, cache_folder: Path | None = None) -> Envelope:
    """The whole envelope (runs ``iter_envelope`` to the end)."""
    result = None
    for result in iter_envelope(video_path, cache_folder):
        pass
    return result
