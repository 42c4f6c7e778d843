"""``meldae synth``: write a synthetic clip folder with exact micro-expression ground truth."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _even_size(text: str) -> int:
    value = int(text)
    if value < 32 or value % 2:
        raise argparse.ArgumentTypeError(f"must be an even number >= 32, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``synth`` subcommand."""
    p = subparsers.add_parser(
        "synth", help="write synthetic face clips with exact ME and speaking ground truth",
        description="Write OUT/<name>.mp4 + OUT/<name>.eaf per clip, OUT/splits.csv (two "
                    "clips per synthetic subject) and OUT/synth.json (every event). Faces "
                    "speak (strong lip and jaw motion), show brief low-amplitude "
                    "micro-expressions (brow raise/lowering, squint, lip-corner pull; "
                    "0.2-0.5 s) while speaking and while listening, and distractors that are "
                    "not MEs (blinks, gaze shifts, head motion, lighting flicker).")
    p.add_argument("out", type=Path, help="clip folder to write (created when missing)")
    p.add_argument("--clips", type=_positive_int, default=10, help="number of clips (default 10)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--source", type=Path, default=None,
                   help="a real face video: warp its face instead of drawing faces")
    p.add_argument("--frames", type=_positive_int, default=300,
                   help="frames per clip (default 300)")
    p.add_argument("--fps", default="30", help="frame rate, e.g. 30, 25, 29.97 or 30000/1001")
    p.add_argument("--size", type=_even_size, default=320,
                   help="frame width and height in pixels (default 320)")
    p.add_argument("--mes-per-10s", type=float, default=2.5,
                   help="mean number of micro-expressions per 10 s (default 2.5)")
    p.add_argument("--me-scale", type=float, default=1.0,
                   help="multiply ME amplitudes (default 1: about 2-3.5 px at 320 px)")
    p.add_argument("--prefix", default="synth",
                   help="clip names are PREFIX_sNN_MM (default synth); give each source its "
                   "own prefix to put clips of several sources in one folder")
    p.set_defaults(func=run_synth)


def run_synth(args: argparse.Namespace) -> int:
    """Write the clips and print a short summary."""
    from meldae.data.synth import synthesize_clips
    from meldae.timebase import as_fps

    try:
        fps = as_fps(args.fps)
    except (ValueError, ZeroDivisionError):
        print(f"meldae: error: --fps: not a frame rate: {args.fps!r}", file=sys.stderr)
        return 2
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        print(f"\rclip {done}/{total}", end="" if done < total else "\n",
              file=sys.stderr, flush=True)

    written = synthesize_clips(args.out, args.clips, args.seed, source=args.source,
                               frames=args.frames, fps=fps, size=args.size,
                               mes_per_10s=args.mes_per_10s, me_scale=args.me_scale,
                               progress=progress, prefix=args.prefix)
    mes = [e for clip in written for e in clip.plan.mes]
    speaking_mes = sum(e.speaking for e in mes)
    frames = sum(clip.plan.n_frames for clip in written)
    speaking = sum(int(clip.plan.speaking_mask().sum()) for clip in written)
    subjects = len({clip.subject for clip in written})
    print(f"wrote {len(written)} clips ({subjects} subjects, {frames} frames at {fps} fps, "
          f"{args.size}x{args.size}) to {args.out} in {time.monotonic() - started:.1f} s")
    print(f"MEs: {len(mes)} ({speaking_mes} while speaking, {len(mes) - speaking_mes} while "
          f"listening); speaking fraction {speaking / max(frames, 1):.2f}")
    return 0
