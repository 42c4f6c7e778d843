"""``meldae suggest`` (the review queue), ``meldae agreement`` (two annotators compared) and
the review summary of ``meldae stats FOLDER --review``.

All three print text and, with ``--json OUT``, write the same content as JSON (atomically).
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``suggest`` and ``agreement`` subcommands."""
    s = subparsers.add_parser(
        "suggest", help="what to review next in a project: the ranked review queue",
        description="Rank the undecided model proposals of a clip folder (nearest the "
                    "threshold first), then stretches of high S_loc without a proposal, "
                    "then clips not scored yet, from the scores cached for CHECKPOINT "
                    "(the app caches them as clips are scored). Clips marked done are "
                    "skipped. See docs/user-guide.md, 'Reviewing a whole project'.")
    s.add_argument("folder", type=Path, metavar="FOLDER", help="the clip folder (project)")
    s.add_argument("--checkpoint", type=Path, required=True, metavar="CK",
                   help="the model checkpoint whose cached scores and threshold are used")
    s.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the queue as JSON")
    s.add_argument("--limit", type=int, default=50, help="print at most this many entries (default 50)")
    s.set_defaults(func=run_suggest)

    a = subparsers.add_parser(
        "agreement", help="agreement between two annotators of the same clips",
        description="Compare two annotation sets clip by clip (matched by clip name): "
                    "Krippendorff's alpha of speaking vs listening over frames with a face, "
                    "ME segment F1 (one-to-one at IoU >= 0.5, A as reference), onset and "
                    "offset mean absolute error (ms) of the matched pairs; per clip and overall.")
    a.add_argument("dir_a", type=Path, metavar="DIR_A", help="annotator A's folder (the reference)")
    a.add_argument("dir_b", type=Path, metavar="DIR_B", help="annotator B's folder")
    a.add_argument("--annotator-a", default=None, metavar="NAME",
                   help="read DIR_A/<clip>.NAME.eaf instead of <clip>.eaf")
    a.add_argument("--annotator-b", default=None, metavar="NAME",
                   help="read DIR_B/<clip>.NAME.eaf instead of <clip>.eaf")
    a.add_argument("--videos", type=Path, default=None, metavar="DIR",
                   help="where the videos are (default: looked for in DIR_A and DIR_B)")
    a.add_argument("--fps", type=str, default=None,
                   help="frame rate of clips without a video (e.g. 30 or 30000/1001)")
    a.add_argument("--checkpoint", type=Path, default=None, metavar="CK",
                   help="use the face flags of scores cached for this model (default: the demo model)")
    a.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the report as JSON")
    a.set_defaults(func=run_agreement)


def _write_json(path: Path | None, payload: dict) -> None:
    if path is None:
        return
    from meldae.atomic import atomic_write_text

    try:
        atomic_write_text(path, json.dumps(payload, indent=1) + "\n")
    except OSError as exc:
        raise OSError(f"{path}: cannot write ({exc.strerror or exc})") from None
    print(f"wrote {path}")


def run_suggest(args: argparse.Namespace) -> int:
    """``meldae suggest``: returns the exit status."""
    from meldae.review.queue import project_queue

    queue = project_queue(args.folder, args.checkpoint)
    counts = {kind: sum(1 for s in queue if s.kind.value == kind) for kind in ("proposal", "stretch", "unscored")}
    print(f"{args.folder}: {len(queue)} suggestions ({counts['proposal']} proposals, "
          f"{counts['stretch']} stretches, {counts['unscored']} clip(s) not scored)")
    for rank, item in enumerate(queue[: max(0, args.limit)], start=1):
        print(f"{rank:>4}. {item.clip}: {item.describe()} [value {item.value:.2f}]")
    if len(queue) > args.limit:
        print(f"      ... {len(queue) - args.limit} more (--limit, or --json for all)")
    _write_json(args.json, {"format": "meldae-suggestions", "version": 1,
                            "folder": str(args.folder), "checkpoint": str(args.checkpoint),
                            "suggestions": [s.to_json() for s in queue]})
    return 0


def run_agreement(args: argparse.Namespace) -> int:
    """``meldae agreement``: returns the exit status (1 when no clip could be compared)."""
    from meldae.review.agreement import format_report
    from meldae.review.agreement_files import compare_folders

    try:
        fps = Fraction(args.fps) if args.fps else None
        if fps is not None and fps <= 0:
            raise ValueError(f"--fps {args.fps}: must be positive")
        report = compare_folders(args.dir_a, args.dir_b, annotator_a=args.annotator_a,
                                 annotator_b=args.annotator_b, videos=args.videos, fps=fps,
                                 checkpoint=args.checkpoint)
    except (ValueError, ZeroDivisionError) as exc:
        print(f"meldae: error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    _write_json(args.json, report.to_json())
    if not report.clips:
        print("meldae: no clip is annotated in both", file=sys.stderr)
        return 1
    return 0


def run_review_stats(args: argparse.Namespace) -> int:
    """``meldae stats FOLDER --review``: the project's review progress."""
    from meldae.review.progress import format_progress, project_progress

    progress = project_progress(args.folder)
    print(format_progress(progress))
    _write_json(getattr(args, "json", None), progress.to_json())
    return 0
