"""Synthetic clip folders with exact micro-expression ground truth.

``synthesize(out_dir, clips, seed)`` writes ``OUT/<name>.mp4`` + ``OUT/<name>.eaf`` per clip,
``OUT/splits.csv`` (clip, subject and an empty split: two clips per synthetic subject, the
split is left to ``subject_split``) and
``OUT/synth.json`` (every planned event, with amplitudes in pixels). The faces are drawn
procedurally (``synth_face``), or taken from a real video whose face is warped locally
(``synth_source``). What happens in each clip is planned by ``synth_timeline``:

* speaking turns with strong syllable-rate lip and jaw motion (tier ``Speaking``);
* micro-expressions of 0.2-0.5 s with an onset-apex-offset profile, a few pixels at the
  apex: brow raise, brow lowering, squint, lip-corner pull (tier ``ME``: inclusive onset and
  offset frames, apex, label = kind), about 55 % while speaking and 45 % while listening;
* distractors that are not MEs: blinks, gaze shifts, head drift and nods, lighting drift
  and flicker, sensor noise.

Everything is a pure function of ``seed``: the same call writes the same frames.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from meldae.data.synth_face import FaceRenderer, FaceState, random_identity
from meldae.data.synth_timeline import ClipPlan, ContextQuota, plan_clip
from meldae.timebase import as_fps

log = logging.getLogger(__name__)

CLIPS_PER_SUBJECT = 2
NOISE_SIGMA = 2.0           # sensor noise, grey levels (before compression)


@dataclass(frozen=True)
class SynthClip:
    """What ``synthesize`` wrote for one clip (before it is read back as a ClipInfo)."""

    name: str
    subject: str
    video_path: Path
    eaf_path: Path
    plan: ClipPlan
    face_half_width_px: float


def write_video(path: Path, frames: Iterable[np.ndarray], fps: Fraction, crf: int = 18) -> int:
    """Encode RGB frames as H.264 (yuv420p) MP4 at exactly ``fps``; atomic.

    Args:
        path: the ``.mp4`` to write (replaced only once the file is complete).
        frames: (H, W, 3) uint8 RGB frames of one size; H and W must be even.
        fps: the exact frame rate.
        crf: x264 constant rate factor (18: visually lossless).

    Returns:
        The number of frames written; decoding gives back exactly this many.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.mp4")
    count = 0
    try:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf), "preset": "veryfast"}
            stream.codec_context.time_base = Fraction(1) / fps
            for frame in frames:
                if count == 0:
                    height, width = frame.shape[:2]
                    if height % 2 or width % 2:
                        raise ValueError(f"{path}: frame size {width}x{height} must be even")
                    stream.width, stream.height = width, height
                video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), "rgb24")
                video_frame.pts = count
                video_frame.time_base = Fraction(1) / fps
                container.mux(stream.encode(video_frame))
                count += 1
            container.mux(stream.encode(None))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def _procedural_frames(plan: ClipPlan, renderer: FaceRenderer,
                       rng: np.random.Generator) -> Iterable[np.ndarray]:
    noise = NoiseBank(rng, renderer.size)
    for frame_idx in range(plan.n_frames):
        yield renderer.render(FaceState(**plan.state_kwargs(frame_idx)), noise.next())


class NoiseBank:
    """Gaussian sensor noise frames, cheap: random crops of a few pre-drawn noise images."""

    def __init__(self, rng: np.random.Generator, size: int, sigma: float = NOISE_SIGMA,
                 height: int | None = None, images: int = 6, pad: int = 16) -> None:
        self._rng = rng
        self._size = (height or size, size)
        self._pad = pad
        shape = (images, self._size[0] + pad, size + pad, 3)
        self._bank = rng.standard_normal(shape, dtype=np.float32) * sigma

    def next(self) -> np.ndarray:
        """A (H, W, 3) float32 noise image (a view: do not modify)."""
        k, dy, dx = (int(v) for v in self._rng.integers(0, (len(self._bank), self._pad,
                                                              self._pad)))
        return self._bank[k, dy:dy + self._size[0], dx:dx + self._size[1]]


def _annotations(plan: ClipPlan):
    from meldae.annotations import ClipAnnotations, Segment

    return ClipAnnotations(
        segments=[Segment(e.onset, e.offset, apex=e.apex, label=e.kind) for e in plan.mes],
        speaking=[Segment(onset, offset) for onset, offset in plan.speaking],
    )


def synthesize_clips(out_dir: str | Path, clips: int, seed: int, source: str | Path | None = None,
                     frames: int = 300, fps: Fraction | float | int | str = 30, size: int = 320,
                     mes_per_10s: float = 2.5, me_scale: float = 1.0,
                     progress: Callable[[int, int], None] | None = None,
                     prefix: str = "synth") -> list[SynthClip]:
    """Write a synthetic clip folder; returns what was written per clip (see ``synthesize``)."""
    out_dir = Path(out_dir)
    rate = as_fps(fps)
    _check_args(clips, frames, size)
    out_dir.mkdir(parents=True, exist_ok=True)
    quota = ContextQuota()
    source_face = None
    if source is not None:
        from meldae.data.synth_source import SourceFace

        source_face = SourceFace(Path(source), size)
    written: list[SynthClip] = []
    for clip_idx in range(clips):
        subject_idx = clip_idx // CLIPS_PER_SUBJECT
        subject = f"s{subject_idx + 1:02d}"
        name = f"{prefix}_{subject}_{clip_idx % CLIPS_PER_SUBJECT + 1:02d}"
        if prefix != "synth":                 # subjects of several sources stay apart
            subject = f"{prefix}-{subject}"
        rng = np.random.default_rng([seed, clip_idx])
        plan = plan_clip(rng, frames, rate, size, quota, mes_per_10s, me_scale)
        video_path = out_dir / f"{name}.mp4"
        if source_face is None:
            identity = random_identity(np.random.default_rng([seed, 10_000 + subject_idx]))
            renderer = FaceRenderer(identity, size)
            half_width = renderer.a
            frame_iter = _procedural_frames(plan, renderer, rng)
        else:
            half_width = source_face.face_half_width
            frame_iter = source_face.frames(plan, rng)
        count = write_video(video_path, frame_iter, rate)
        if count != frames:
            raise RuntimeError(f"{video_path}: wrote {count} frames, expected {frames}")
        eaf_path = out_dir / f"{name}.eaf"
        from meldae.annotations import save_eaf

        save_eaf(_annotations(plan), eaf_path, rate, media_path=video_path, backups=0)
        written.append(SynthClip(name, subject, video_path, eaf_path, plan, half_width))
        log.debug("wrote %s (%d MEs)", video_path, len(plan.mes))
        if progress is not None:
            progress(clip_idx + 1, clips)
    _write_text(out_dir / "splits.csv", _splits_csv(written, out_dir / "splits.csv"))
    meta = _metadata(written, seed, rate, size, frames, source)
    clip_lines = ",\n  ".join(json.dumps(c) for c in meta.pop("clips"))
    meta_name = "synth.json" if prefix == "synth" else f"synth-{prefix}.json"
    _write_text(out_dir / meta_name, json.dumps(meta)[:-1] + f', "clips": [\n  {clip_lines}\n]}}\n')
    return written


def synthesize(out_dir: str | Path, clips: int, seed: int, source: str | Path | None = None,
               frames: int = 300, fps: Fraction | float | int | str = 30, size: int = 320,
               mes_per_10s: float = 2.5, me_scale: float = 1.0,
               progress: Callable[[int, int], None] | None = None, prefix: str = "synth") -> list:
    """Write ``clips`` synthetic clips (video + ELAN + splits.csv) into ``out_dir``.

    Args:
        out_dir: the clip folder (created when missing; existing clips of the same names
            are replaced).
        clips: number of clips; two consecutive clips share a synthetic subject.
        seed: everything written is a pure function of the seed and the other arguments.
        source: a real face video to inject the motions into instead of drawn faces.
        frames: frames per clip.
        fps: frame rate (exact; ``30000/1001`` or 29.97 for NTSC).
        size: frame width and height in pixels (even).
        mes_per_10s: mean number of micro-expressions per ten seconds.
        me_scale: multiplies every ME's amplitude (1: about 2-3.5 px at the apex for
            ``size=320``; speech opens the mouth by up to ~20 px).
        progress: ``progress(clips_done, clips_total)`` after each clip.
        prefix: clip names are ``<prefix>_s<NN>_<MM>``; another prefix than ``synth`` also
            names the subjects ``<prefix>-s<NN>`` and the event file ``synth-<prefix>.json``,
            and keeps the rows of other clips in ``splits.csv``: clips from several sources
            share one folder.

    Returns:
        One ``ClipInfo`` per clip, in order; ``split`` is None (``splits.csv`` names the
        subjects and leaves the split to ``subject_split`` / ``kfold_splits``).
    """
    from meldae.data.clipfolder import ClipInfo

    written = synthesize_clips(out_dir, clips, seed, source, frames, fps, size, mes_per_10s,
                               me_scale, progress, prefix)
    return [ClipInfo(name=c.name, video_path=c.video_path, eaf_path=c.eaf_path,
                     subject=c.subject, split=None) for c in written]


def _check_args(clips: int, frames: int, size: int) -> None:
    if clips < 1:
        raise ValueError(f"clips must be at least 1, got {clips}")
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if size < 32 or size % 2:
        raise ValueError(f"size must be an even number of pixels >= 32, got {size}")


def _splits_csv(written: list[SynthClip], existing: Path) -> str:
    """splits.csv rows of ``written``, after the rows of other clips already in ``existing``
    (clips of another source or prefix in the same folder keep their subject and split)."""
    from meldae.data.clipfolder import read_splits_csv

    names = {clip.name for clip in written}
    kept = {}
    if existing.is_file():
        kept = {clip: row for clip, row in read_splits_csv(existing).items() if clip not in names}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["clip", "subject", "split"])
    for clip, (subject, split) in kept.items():
        writer.writerow([clip, subject, split or ""])
    for clip in written:
        writer.writerow([clip.name, clip.subject, ""])
    return buf.getvalue()


def _write_text(path: Path, text: str) -> None:
    from meldae.atomic import atomic_write_text

    atomic_write_text(path, text)


def _metadata(written: list[SynthClip], seed: int, fps: Fraction, size: int, frames: int,
              source: str | Path | None) -> dict:
    clips = []
    for clip in written:
        plan, a = clip.plan, clip.face_half_width_px
        clips.append({
            "name": clip.name, "subject": clip.subject,
            "n_frames": plan.n_frames, "speaking": [list(s) for s in plan.speaking],
            "speaking_fraction": float(plan.speaking_mask().mean()),
            "mes": [{"onset": e.onset, "apex": e.apex, "offset": e.offset, "kind": e.kind,
                     "sides": list(e.sides), "speaking": e.speaking,
                     "amplitude_px": round(e.amplitude * a, 3)} for e in plan.mes],
            "blinks": [list(b) for b in plan.blinks], "nods": [list(n) for n in plan.nods],
            "flickers": [list(f) for f in plan.flickers],
            "speech_mouth_max_px": round(float(plan.channels["mouth_open"].max()) * a, 3),
        })
    return {"format": "meldae-synth", "version": 1, "seed": seed,
            "fps": f"{fps.numerator}/{fps.denominator}", "size": size, "frames": frames,
            "source": None if source is None else str(source), "clips": clips}
