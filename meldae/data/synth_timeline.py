"""Event planning for synthetic clips: speaking turns, micro-expressions and distractors.

``plan_clip`` decides, from a random generator, when the subject speaks, when each
micro-expression (ME) happens (inclusive onset, apex, inclusive offset), and when the
distractors happen that are *not* MEs: blinks, gaze shifts, head motion and nods, lighting
flicker. It turns them into per-frame motion channels that ``FaceState`` (procedural faces)
or the source-video warper consume.

Motion amplitudes are in multiples of the face half-width ``a`` (about a quarter of the
image at the default framing), head translation in pixels of a 320-pixel image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

# Apex amplitude of each ME kind (multiples of a) and the state channels it drives.
ME_KINDS: dict[str, tuple[float, tuple[str, ...]]] = {
    "brow_raise": (0.030, ("brow_raise_l", "brow_raise_r")),
    "brow_lower": (0.032, ("brow_lower_l", "brow_lower_r")),
    "squint": (0.028, ("squint_l", "squint_r")),
    "lip_pull": (0.034, ("lip_pull_l", "lip_pull_r")),
}
# Speech: largest lip gap and chin drop (multiples of a).
SPEECH_MOUTH = 0.26
SPEECH_JAW = 0.12

CHANNELS = (
    "mouth_open", "jaw", "mouth_width", "brow_raise_l", "brow_raise_r", "brow_lower_l",
    "brow_lower_r", "squint_l", "squint_r", "lip_pull_l", "lip_pull_r", "blink", "gaze_x",
    "gaze_y", "head_dx", "head_dy", "head_rot", "head_scale", "light",
)


@dataclass(frozen=True)
class MEEvent:
    """One planned micro-expression; frames inclusive."""

    onset: int
    apex: int
    offset: int
    kind: str
    amplitude: float            # apex amplitude, multiples of a
    sides: tuple[str, ...]      # ("l",), ("r",) or ("l", "r")
    speaking: bool              # the context it was placed in


@dataclass
class ClipPlan:
    """Everything that happens in one synthetic clip."""

    n_frames: int
    fps: Fraction
    speaking: list[tuple[int, int]]                 # inclusive frame ranges
    mes: list[MEEvent]
    blinks: list[tuple[int, int]] = field(default_factory=list)
    nods: list[tuple[int, int]] = field(default_factory=list)
    flickers: list[tuple[int, int]] = field(default_factory=list)
    channels: dict[str, np.ndarray] = field(default_factory=dict)   # name -> (n_frames,)

    def state_kwargs(self, frame_idx: int) -> dict[str, float]:
        """The channel values of one frame, as keyword arguments for ``FaceState``."""
        return {name: float(values[frame_idx]) for name, values in self.channels.items()}

    def speaking_mask(self) -> np.ndarray:
        """(n_frames,) bool, True while the subject speaks."""
        mask = np.zeros(self.n_frames, bool)
        for onset, offset in self.speaking:
            mask[onset:offset + 1] = True
        return mask


class ContextQuota:
    """Chooses speaking/listening for successive MEs so that about ``speaking_share`` of
    them fall while speaking (the paper's data: roughly 55 % speaking, 45 % listening)."""

    def __init__(self, speaking_share: float = 0.55) -> None:
        self.speaking_share = speaking_share
        self.speaking = 0
        self.total = 0

    def next_is_speaking(self) -> bool:
        """The context the next ME should be placed in."""
        return self.speaking < self.speaking_share * (self.total + 1)

    def record(self, speaking: bool) -> None:
        """Count an ME that was placed."""
        self.total += 1
        self.speaking += int(speaking)


def envelope(n_frames: int, onset: int, apex: int, offset: int) -> np.ndarray:
    """Onset-apex-offset profile: 1 at the apex, > 0 exactly on ``[onset, offset]``.

    The rise is ``sin^2`` over ``onset - 1 .. apex`` and the fall over ``apex .. offset + 1``,
    so the onset and the offset frame carry a small but nonzero motion and the frames just
    outside are still.
    """
    out = np.zeros(n_frames, np.float64)
    for f in range(max(onset, 0), min(offset, n_frames - 1) + 1):
        if f <= apex:
            t = (f - onset + 1) / (apex - onset + 1)
        else:
            t = (offset + 1 - f) / (offset + 1 - apex)
        out[f] = math.sin(math.pi / 2 * t) ** 2
    return out


def _seconds(fps: Fraction, seconds: float) -> int:
    return max(1, int(round(seconds * float(fps))))


def plan_speaking(rng: np.random.Generator, n_frames: int, fps: Fraction) -> list[tuple[int, int]]:
    """Alternating listening/speaking turns of 1-3.5 s (at most half the clip); returns the
    speaking ranges as inclusive frame pairs."""
    turns: list[tuple[int, int]] = []
    speaking = bool(rng.uniform() < 0.5)
    frame = 0
    longest = max(1, math.ceil(n_frames / 2))   # even a short clip gets two turns
    sliver = min(_seconds(fps, 0.5), n_frames // 8)
    while frame < n_frames:
        length = min(_seconds(fps, rng.uniform(1.0, 3.5)), longest)
        end = min(n_frames, frame + length)
        if n_frames - end < sliver:                 # no sliver of a turn at the end
            end = n_frames
        if speaking:
            turns.append((frame, end - 1))
        speaking = not speaking
        frame = end
    return turns


def plan_mes(rng: np.random.Generator, n_frames: int, fps: Fraction,
             speaking: list[tuple[int, int]], quota: ContextQuota,
             mes_per_10s: float = 2.5, me_scale: float = 1.0) -> list[MEEvent]:
    """Place MEs of 0.2-0.5 s wholly inside one speaking or one listening stretch."""
    mask = np.zeros(n_frames, bool)
    for a, b in speaking:
        mask[a:b + 1] = True
    count = int(rng.poisson(mes_per_10s * n_frames / (10.0 * float(fps))))
    events: list[MEEvent] = []
    taken: list[tuple[int, int]] = []
    for _ in range(count):
        length = _seconds(fps, rng.uniform(0.2, 0.5))
        want_speaking = quota.next_is_speaking()
        for context in (want_speaking, not want_speaking):
            placed = _place(rng, mask, context, length, taken, _seconds(fps, 0.3))
            if placed is not None:
                break
        if placed is None:
            continue
        onset, offset = placed
        apex = onset + int(round((length - 1) * rng.uniform(0.3, 0.6)))
        kind = list(ME_KINDS)[int(rng.integers(0, len(ME_KINDS)))]
        sides = ("l", "r") if rng.uniform() < 0.6 else (("l",), ("r",))[int(rng.integers(0, 2))]
        amplitude = ME_KINDS[kind][0] * float(rng.uniform(0.75, 1.3)) * me_scale
        context = bool(mask[onset])
        events.append(MEEvent(onset, apex, offset, kind, amplitude, sides, context))
        taken.append((onset, offset))
        quota.record(context)
    return sorted(events, key=lambda e: e.onset)


def _place(rng, mask, context: bool, length: int, taken, gap: int) -> tuple[int, int] | None:
    """A random ``length``-frame range wholly in ``context``, ``gap`` frames from others."""
    margin = 2
    ok = np.concatenate([[0], np.cumsum(mask == context)])
    starts = np.arange(margin, len(mask) - margin - length + 1)
    starts = starts[ok[starts + length] - ok[starts] == length]
    for a, b in taken:
        starts = starts[(starts + length - 1 + gap < a) | (starts - gap > b)]
    if len(starts) == 0:
        return None
    onset = int(starts[int(rng.integers(0, len(starts)))])
    return onset, onset + length - 1


def _events(rng, n_frames: int, fps: Fraction, every_s: tuple[float, float],
            length_s: tuple[float, float]) -> list[tuple[int, int, int]]:
    """Random (onset, apex, offset) events with gaps drawn from ``every_s``."""
    out = []
    frame = _seconds(fps, rng.uniform(0.2, every_s[1]))
    while True:
        length = _seconds(fps, rng.uniform(*length_s))
        if frame + length >= n_frames:
            return out
        apex = frame + (length - 1) // 2
        out.append((frame, apex, frame + length - 1))
        frame += length + _seconds(fps, rng.uniform(*every_s))


def _smooth_noise(rng, n_frames: int, fps: Fraction, seconds: float) -> np.ndarray:
    """Low-pass Gaussian noise whose values have unit standard deviation."""
    sigma = max(1.0, seconds * float(fps))
    pad = int(3 * sigma)
    noise = rng.normal(0, 1, n_frames + 2 * pad)
    k = np.exp(-0.5 * (np.arange(-pad, pad + 1) / sigma) ** 2)
    k /= k.sum()
    smooth = np.convolve(noise, k, mode="same")[pad:pad + n_frames]
    # The filter's own gain, not the sample's spread: short clips stay as calm as long ones.
    return smooth / float(np.sqrt((k * k).sum()))


def speech_channels(rng, n_frames: int, fps: Fraction,
                    speaking: list[tuple[int, int]]) -> dict[str, np.ndarray]:
    """Syllable-rate (3-7 Hz) lip opening, chin drop and mouth width while speaking."""
    mouth = np.zeros(n_frames)
    width = np.zeros(n_frames)
    for onset, offset in speaking:
        frame = onset + int(rng.integers(0, 3))
        while frame < offset:
            length = _seconds(fps, rng.uniform(0.14, 0.3))
            if rng.uniform() < 0.12:            # a short pause between words
                frame += _seconds(fps, rng.uniform(0.08, 0.25))
                continue
            stop = min(frame + length, offset + 1)
            x = (np.arange(frame, stop) - frame + 0.5) / length
            pulse = np.sin(np.pi * x) ** 2
            mouth[frame:stop] = np.maximum(mouth[frame:stop],
                                           SPEECH_MOUTH * rng.uniform(0.35, 1.0) * pulse)
            width[frame:stop] += rng.uniform(-0.12, 0.08) * pulse
            frame = stop
    jaw = _moving_average(mouth, 3) * (SPEECH_JAW / SPEECH_MOUTH)
    return {"mouth_open": mouth, "jaw": jaw, "mouth_width": width}


def me_channels(n_frames: int, mes: list[MEEvent]) -> dict[str, np.ndarray]:
    """The ME motion channels: each event's envelope times its amplitude on its sides."""
    out = {name: np.zeros(n_frames) for _, names in ME_KINDS.values() for name in names}
    for event in mes:
        env = envelope(n_frames, event.onset, event.apex, event.offset) * event.amplitude
        for name in ME_KINDS[event.kind][1]:
            if name[-1] in event.sides:
                out[name] += env
    return out


def distractor_channels(rng, plan: ClipPlan, size: int) -> dict[str, np.ndarray]:
    """Blinks, gaze shifts, head drift and nods, lighting drift and flicker (not MEs)."""
    n, fps = plan.n_frames, plan.fps
    px = size / 320.0
    blink = np.zeros(n)
    for onset, apex, offset in _events(rng, n, fps, (1.5, 5.0), (0.1, 0.25)):
        blink = np.maximum(blink, envelope(n, onset, apex, offset) * rng.uniform(0.7, 1.0))
        plan.blinks.append((onset, offset))
    gaze_x, gaze_y = np.zeros(n), np.zeros(n)
    for onset, _, _ in _events(rng, n, fps, (0.8, 3.0), (0.03, 0.07)):
        gaze_x[onset:] = rng.uniform(-0.6, 0.6)
        gaze_y[onset:] = rng.uniform(-0.4, 0.4)
    talk = _moving_average(plan.speaking_mask().astype(float), 9)
    scale = px * (1.2 + 1.5 * talk)
    head_dx = _smooth_noise(rng, n, fps, 0.6) * scale
    head_dy = _smooth_noise(rng, n, fps, 0.6) * scale
    head_rot = _smooth_noise(rng, n, fps, 0.8) * (0.6 + 0.8 * talk)
    head_scale = 1.0 + 0.008 * _smooth_noise(rng, n, fps, 1.0)
    for onset, apex, offset in _events(rng, n, fps, (2.0, 6.0), (0.2, 0.6)):
        env = envelope(n, onset, apex, offset)
        head_dy += env * rng.uniform(2.0, 5.0) * px * rng.choice([-1, 1])
        head_rot += env * rng.uniform(1.0, 3.0) * rng.choice([-1, 1])
        plan.nods.append((onset, offset))
    light = 1.0 + 0.015 * _smooth_noise(rng, n, fps, 1.5)
    for onset, apex, offset in _events(rng, n, fps, (2.0, 7.0), (0.07, 0.4)):
        light += envelope(n, onset, apex, offset) * rng.uniform(0.04, 0.1) * rng.choice([-1, 1])
        plan.flickers.append((onset, offset))
    return {"blink": blink, "gaze_x": _ease(gaze_x), "gaze_y": _ease(gaze_y),
            "head_dx": head_dx, "head_dy": head_dy, "head_rot": head_rot,
            "head_scale": head_scale, "light": light}


def _moving_average(values: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average of odd ``width``, edges repeated; same length as ``values``."""
    half = width // 2
    padded = np.pad(values, half, mode="edge")
    return np.convolve(padded, np.ones(width) / width, mode="valid")


def _ease(steps: np.ndarray) -> np.ndarray:
    """Soften step changes (saccades) over about three frames."""
    padded = np.concatenate([np.full(2, steps[0]), steps])
    return np.convolve(padded, np.ones(3) / 3, mode="valid")


def plan_clip(rng: np.random.Generator, n_frames: int, fps: Fraction, size: int,
              quota: ContextQuota, mes_per_10s: float = 2.5, me_scale: float = 1.0) -> ClipPlan:
    """Plan one clip: speaking turns, MEs (with exact frames) and distractors.

    Args:
        rng: the clip's random generator (the plan is a pure function of its state).
        n_frames: clip length in frames.
        fps: frame rate.
        size: image size in pixels (head motion scales with it).
        quota: shared across the clips of a data set to balance the ME contexts.
        mes_per_10s: mean number of MEs per ten seconds.
        me_scale: multiplies every ME's amplitude (1: 2-3.5 px at 320 px).
    """
    speaking = plan_speaking(rng, n_frames, fps)
    mes = plan_mes(rng, n_frames, fps, speaking, quota, mes_per_10s, me_scale)
    plan = ClipPlan(n_frames=n_frames, fps=fps, speaking=speaking, mes=mes)
    channels = speech_channels(rng, n_frames, fps, speaking)
    channels.update(me_channels(n_frames, mes))
    channels.update(distractor_channels(rng, plan, size))
    plan.channels = {name: channels[name].astype(np.float64) for name in CHANNELS}
    return plan
