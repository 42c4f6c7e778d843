"""``meldae convert`` (public benchmarks -> clip folder) and ``meldae stats`` (Fig. 1-2)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``convert`` and ``stats`` subcommands."""
    p = subparsers.add_parser(
        "convert", help="turn CAS(ME)^2, SAMM long videos or MMEW into a clip folder",
        description="Read a benchmark's annotation sheet (xlsx, published layout) and its "
                    "videos or image-sequence folders; write OUT/<clip>.<video> + "
                    "OUT/<clip>.eaf and OUT/splits.csv (subjects). Image sequences are "
                    "encoded to near-lossless H.264; video files are hard-linked.")
    p.add_argument("kind", choices=("casme2", "samm", "mmew"), help="which benchmark")
    p.add_argument("sheet", type=Path, help="the annotation sheet (.xlsx)")
    p.add_argument("videos", type=Path, help="folder with the videos or image folders (searched recursively)")
    p.add_argument("out", type=Path, help="clip folder to write")
    p.add_argument("--fps", type=float, default=None,
                   help="frame rate of image sequences (default: casme2 30, samm 200, mmew 90)")
    p.add_argument("--copy", action="store_true", help="copy video files instead of hard-linking")
    p.add_argument("--frame-base", type=int, default=1,
                   help="sheet number of a video file's first frame (default 1)")
    p.set_defaults(func=run_convert)

    s = subparsers.add_parser(
        "stats", help="ME counts by speaking state and duration histogram of a clip folder",
        description="Count the confirmed micro-expressions of a clip folder by speaking "
                    "state (majority of frames, ties -> speaking) and by duration in seven "
                    "bins (the paper's Fig. 1-2); print them, optionally plot them.")
    s.add_argument("folder", type=Path, help="the clip folder")
    s.add_argument("--plots", type=Path, default=None, metavar="OUT",
                   help="write speaking_states.png and durations.png into OUT")
    s.add_argument("--me-tier", default="ME", help="tier holding the MEs (default ME)")
    s.add_argument("--speaking-tier", default="Speaking", help="tier of speaking intervals")
    s.add_argument("--review", action="store_true",
                   help="instead: the project's review progress (clips per review state, "
                        "proposals decided, manual additions, minutes, annotators)")
    s.add_argument("--json", type=Path, default=None, metavar="OUT",
                   help="with --review: also write the summary as JSON")
    s.set_defaults(func=run_stats)


def run_convert(args: argparse.Namespace) -> int:
    """``meldae convert``: returns the exit status."""
    from meldae.data.convert import convert

    clips = convert(args.kind, args.sheet, args.videos, args.out, fps=args.fps, copy=args.copy,
                    frame_base=args.frame_base)
    subjects = {c.subject for c in clips}
    print(f"{args.out}: {len(clips)} clips of {len(subjects)} subjects")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    """``meldae stats``: returns the exit status."""
    if args.review:
        from meldae.cli.review_cmds import run_review_stats

        return run_review_stats(args)
    from meldae.annotations import TierNames
    from meldae.data.stats import clip_statistics, format_statistics, plot_statistics

    tiers = TierNames(me=args.me_tier, speaking=args.speaking_tier)
    stats = clip_statistics(args.folder, tiers)
    print(format_statistics(stats))
    if args.plots is not None:
        for path in plot_statistics(stats, args.plots):
            print(f"wrote {path}")
    return 0
