"""Scoring whole clips with a model and measuring it with the paper's metrics.

Validation and evaluation score every clip exactly the way inference does: overlapping
windows of T frames, blended per frame with the same weights as ``meldae.infer`` (so a
threshold chosen here means the same thing in the app), 0 where no face was found. The
per-frame scores then become segments (``meldae.metrics.segments_from_scores``) and are
matched against the ground truth.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class EvalClip:
    """One clip's crops and ground truth, as validation, evaluation and baselines need them."""

    name: str
    crops: np.ndarray                  # (N, S, S, 3) uint8 (a read-only memmap is fine)
    face_found: np.ndarray             # (N,) bool
    me_segments: list[tuple[int, int]]  # ground-truth MEs, inclusive frames
    speaking: np.ndarray               # (N,) bool: the subject speaks
    me_labels: list[str] = field(default_factory=list)   # per ME segment ("" when none)
    subject: str = ""
    fps: Fraction | None = None        # frame rate (UF1 tells micro from macro by duration)

    @property
    def n_frames(self) -> int:
        """Frames in the clip."""
        return int(len(self.crops))


@dataclass
class ClipScores:
    """What a scorer (the model or a baseline) says about one clip."""

    name: str
    loc: np.ndarray                    # (N,) float32 per-frame ME score in [0, 1]
    state: np.ndarray | None = None    # (N,) float32 speaking probability (model only)
    window_me: np.ndarray | None = None  # (W,) clip-level ME probability of each window
    window_label: np.ndarray | None = None  # (W,) bool: the window holds an ME frame


def _blend_weights(num_frames: int) -> np.ndarray:
    try:
        from meldae.infer.blend import window_weights
    except ImportError:  # infer is optional for training; plain averaging otherwise
        return np.ones(num_frames)
    return window_weights(num_frames)


def _window(crops: np.ndarray, start: int, num_frames: int) -> np.ndarray:
    """Frames ``[start, start+T)``, padded by repeating the last frame of a short clip."""
    chunk = np.asarray(crops[start:start + num_frames])                 # (n, S, S, 3)
    if len(chunk) < num_frames:
        pad = np.repeat(chunk[-1:], num_frames - len(chunk), axis=0)
        chunk = np.concatenate([chunk, pad], axis=0)                     # (T, S, S, 3)
    return chunk


def score_clip(model, clip: EvalClip, stride: int, batch_size: int = 8) -> ClipScores:
    """Run ``model`` over one clip in overlapping windows and blend the per-frame scores.

    Args:
        model: a ``MELDAE`` in eval mode (its device is used).
        clip: the clip's crops and ground truth.
        stride: frames between window starts.
        batch_size: windows per forward pass.
    """
    import torch

    from meldae.data.windows import window_starts

    t = model.cfg.num_frames
    n = clip.n_frames
    if n == 0:
        empty = np.zeros(0, np.float32)
        return ClipScores(clip.name, empty, empty, empty, np.zeros(0, bool))
    weights = _blend_weights(t)
    loc_sum, state_sum, wsum = np.zeros(n), np.zeros(n), np.zeros(n)
    starts = window_starts(n, t, stride)
    me_truth = np.zeros(n, bool)
    for onset, offset in clip.me_segments:
        me_truth[onset:offset + 1] = True
    window_me, window_label = [], []
    device = next(model.parameters()).device
    use_amp = device.type == "cuda"
    for i in range(0, len(starts), batch_size):
        chunk = starts[i:i + batch_size]
        frames = torch.from_numpy(np.stack([_window(clip.crops, s, t) for s in chunk]))
        with torch.no_grad(), torch.autocast(device.type, torch.bfloat16, enabled=use_amp):
            out = model(model.prepare(frames), need_attention=False)     # (B, T) heads
        loc = torch.sigmoid(out.loc_logits.float()).cpu().numpy()       # (B, T)
        state = torch.sigmoid(out.state_logits.float()).cpu().numpy()   # (B, T)
        me = torch.sigmoid(out.me_logit.float()).cpu().numpy()          # (B,)
        for row, start in enumerate(chunk):
            m = min(t, n - start)
            w = weights[:m]
            loc_sum[start:start + m] += w * loc[row, :m]
            state_sum[start:start + m] += w * state[row, :m]
            wsum[start:start + m] += w
            window_me.append(float(me[row]))
            window_label.append(bool(me_truth[start:start + m].any()))
    loc_scores = (loc_sum / wsum).astype(np.float32)
    loc_scores[~np.asarray(clip.face_found, bool)] = 0.0
    return ClipScores(clip.name, loc_scores, (state_sum / wsum).astype(np.float32),
                      np.asarray(window_me, np.float32), np.asarray(window_label, bool))


def score_clips(model, clips: list[EvalClip], stride: int, batch_size: int = 8) -> list[ClipScores]:
    """``score_clip`` for every clip, the model switched to eval mode (and back)."""
    was_training = model.training
    model.eval()
    try:
        return [score_clip(model, clip, stride, batch_size) for clip in clips]
    finally:
        model.train(was_training)
