"""Speaking turns from per-window speech probabilities (pure numpy, no model).

A turn starts where the probability reaches ``threshold`` and ends where it falls below
``neg_threshold`` (hysteresis); turns are padded by ``pad_s``, pauses shorter than
``gap_s`` stay inside the turn (the two sides are merged), and turns shorter than
``min_speech_s`` are dropped. Times are seconds; ``turns_to_frames`` converts them to
inclusive frame ranges (frame ``i`` spans ``[i, i + 1) / fps``).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor

import numpy as np

from meldae.annotations import Segment, Source


@dataclass(frozen=True)
class VadSettings:
    """How speech probabilities become speaking turns (seconds and probabilities)."""

    threshold: float = 0.5       # a turn starts where the speech probability reaches this
    neg_threshold: float = 0.35  # ... and ends where it falls below this
    gap_s: float = 0.5           # pauses shorter than this stay inside the turn
    min_speech_s: float = 0.25   # shorter turns (after merging) are dropped
    pad_s: float = 0.03          # each run of speech is widened by this on both sides

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0 or not 0.0 <= self.neg_threshold <= self.threshold:
            raise ValueError("need 0 <= neg_threshold <= threshold <= 1, got "
                             f"{self.neg_threshold}, {self.threshold}")
        if min(self.gap_s, self.min_speech_s, self.pad_s) < 0:
            raise ValueError("gap_s, min_speech_s and pad_s must be >= 0")


def _runs(probs: np.ndarray, settings: VadSettings) -> list[tuple[int, int]]:
    """``[start, stop)`` window indices of speech, with hysteresis."""
    runs, start = [], None
    for i, p in enumerate(probs):
        if start is None and p >= settings.threshold:
            start = i
        elif start is not None and p < settings.neg_threshold:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(probs)))
    return runs


def turns_from_probs(probs: np.ndarray, hop_s: float, settings: VadSettings = VadSettings(),
                     duration_s: float | None = None) -> np.ndarray:
    """Speaking turns ``(K, 2)`` float64 ``[start_s, end_s)`` from probabilities ``(M,)``,
    one per window of ``hop_s`` seconds (window ``j`` covers ``[j, j + 1) * hop_s``)."""
    probs = np.asarray(probs, np.float32)
    end_limit = duration_s if duration_s is not None else len(probs) * hop_s
    merged: list[list[float]] = []
    for a, b in _runs(probs, settings):
        start = max(0.0, a * hop_s - settings.pad_s)
        end = min(end_limit, b * hop_s + settings.pad_s)
        if merged and start - merged[-1][1] < settings.gap_s:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    kept = [t for t in merged if t[1] - t[0] >= settings.min_speech_s]
    return np.asarray(kept, np.float64).reshape(-1, 2)


def turns_to_frames(turns: np.ndarray, fps: Fraction | float, n_frames: int) -> np.ndarray:
    """Inclusive frame ranges ``(K, 2)`` int64 of turns in seconds: every frame a turn
    overlaps; turns past the last frame are clipped or dropped."""
    rate = float(fps)
    out = []
    for start, end in np.asarray(turns, np.float64).reshape(-1, 2):
        onset = int(floor(start * rate + 1e-9))
        offset = min(int(ceil(end * rate - 1e-9)) - 1, n_frames - 1)
        if onset < n_frames and offset >= onset:
            out.append((onset, offset))
    return np.asarray(out, np.int64).reshape(-1, 2)


def turns_to_segments(turns: np.ndarray, fps: Fraction | float, n_frames: int,
                      probs: np.ndarray | None = None, hop_s: float = 0.032) -> list[Segment]:
    """The turns as speaking ``Segment``s proposed by a model (``source=PREDICTED``,
    unreviewed, ``score`` = mean speech probability over the turn when ``probs`` given)."""
    segments = []
    for onset, offset in turns_to_frames(turns, fps, n_frames):
        score = None
        if probs is not None and len(probs):
            a = int(onset / float(fps) / hop_s)
            b = max(a + 1, int(ceil((offset + 1) / float(fps) / hop_s)))
            score = float(np.mean(probs[a:b])) if a < len(probs) else None
        segments.append(Segment(int(onset), int(offset), source=Source.PREDICTED, score=score))
    return segments


@dataclass(frozen=True)
class SpeechTurns:
    """A clip's speech probabilities and the turns made from them."""

    probs: np.ndarray           # (M,) float32 speech probability per window
    hop_s: float                # window length, seconds
    duration_s: float           # audio analysed, seconds
    settings: VadSettings
    turns: np.ndarray           # (K, 2) float64 [start_s, end_s)
    elapsed_s: float = 0.0      # time the detector took (0 when read from the cache)

    @classmethod
    def from_probs(cls, probs: np.ndarray, hop_s: float, duration_s: float,
                   settings: VadSettings = VadSettings(), elapsed_s: float = 0.0) -> SpeechTurns:
        """Turns made from ``probs`` under ``settings``."""
        probs = np.asarray(probs, np.float32)
        return cls(probs, hop_s, duration_s, settings,
                   turns_from_probs(probs, hop_s, settings, duration_s), elapsed_s)

    def with_settings(self, settings: VadSettings) -> SpeechTurns:
        """The same probabilities turned into turns under other settings (no model run)."""
        return SpeechTurns.from_probs(self.probs, self.hop_s, self.duration_s, settings,
                                      self.elapsed_s)

    def frames(self, fps: Fraction | float, n_frames: int) -> np.ndarray:
        """Inclusive frame ranges of the turns (see ``turns_to_frames``)."""
        return turns_to_frames(self.turns, fps, n_frames)

    def segments(self, fps: Fraction | float, n_frames: int) -> list[Segment]:
        """The turns as predicted speaking segments (see ``turns_to_segments``)."""
        return turns_to_segments(self.turns, fps, n_frames, self.probs, self.hop_s)

    def speaking_mask(self, fps: Fraction | float, n_frames: int) -> np.ndarray:
        """``(n_frames,)`` bool: frames inside a turn."""
        mask = np.zeros(n_frames, bool)
        for onset, offset in self.frames(fps, n_frames):
            mask[onset:offset + 1] = True
        return mask
