"""``meldae infer``: score videos (files or folders of them) and write .npz, .eaf and .csv.

How a batch is run (resuming with ``--out``, ``torchrun`` shards, ``--workers``) is in
``meldae.cli.infer_run``. One bad file never stops a batch: it is reported on one line
(``meldae: error: <file>: <reason>``), listed in the summary, and the exit status is 1 (2
when every video failed).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from meldae.cli.infer_batch import AUDIO_TIER

log = logging.getLogger(__name__)
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg",
                            ".wmv", ".flv", ".mts", ".ts", ".3gp"})


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``infer`` subcommand."""
    p = subparsers.add_parser(
        "infer", help="score videos with a MELDAE model (writes .npz, .eaf, .scores.csv)",
        description="Score each video in overlapping windows (streaming, bounded memory) and "
                    "write <name>.npz (per-frame scores, faces, attention, segments), "
                    "<name>.eaf (predicted ME and speaking tiers) and <name>.scores.csv. "
                    "Without --checkpoint the bundled demo model (resources/demo/README.md) "
                    "is used.")
    p.add_argument("inputs", nargs="+", type=Path, metavar="VIDEO_OR_FOLDER",
                   help="video files, or folders whose videos are all scored")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="a MELDAE checkpoint (NAME.safetensors with NAME.json beside it)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: beside each video; manual annotations in an "
                        "existing <name>.eaf are kept). A manifest there records each finished "
                        "video; a rerun skips those done with the same model and settings. "
                        "Required under torchrun (shared by every rank)")
    p.add_argument("--redo", action="store_true",
                   help="score again the videos the manifest of --out lists as done")
    p.add_argument("--workers", type=int, default=0, metavar="N",
                   help="decode and face-track in N processes feeding the model process "
                        "(default 0: one decoding thread in the model process)")
    p.add_argument("--engine", choices=("torch", "onnx"), default=None,
                   help="torch (checkpoints) or onnx (a model from `meldae export-onnx`, run "
                        "with onnxruntime); default: onnx for a .onnx --checkpoint, else torch")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--threshold", type=float, default=None,
                   help="score threshold (default: the checkpoint's validated one, else 0.5)")
    p.add_argument("--min-length", type=int, default=None, help="shortest segment, in frames")
    p.add_argument("--merge-gap", type=int, default=None,
                   help="merge segments separated by at most this many frames")
    p.add_argument("--stride", type=int, default=None,
                   help="frames between window starts (default: half a window)")
    p.add_argument("--batch-size", type=int, default=None, help="windows per forward pass")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice; on a busy or 2-core "
                        "machine one fewer than the cores leaves a core for decoding)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--audio-vad", action="store_true",
                   help="also find speaking turns in the audio track (silero-vad) and write "
                        f"them as the tier '{AUDIO_TIER}' (model predictions)")
    p.add_argument("--speaking-gap", type=float, default=0.5, metavar="SECONDS",
                   help="--audio-vad: pauses shorter than this stay inside a turn (default 0.5)")
    p.add_argument("--megc-csv", type=Path, default=None, metavar="CSV",
                   help="also write every video's segments as one MEGC submission CSV "
                        "(vid,pred_onset,pred_offset,type; vid = file name without extension, "
                        "frames from 1)")
    p.set_defaults(func=run_infer)
    _add_export_demo(subparsers)


def _add_export_demo(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export-demo", help="store a trained checkpoint as the bundled demo model (fp16)",
        description="Write CHECKPOINT as a demo checkpoint pair (fp16 weights; meta with "
                    "demo=true and a note saying what it was trained on).")
    p.add_argument("checkpoint", type=Path, help="the trained checkpoint (NAME.safetensors)")
    p.add_argument("--out", type=Path, default=None,
                   help="NAME of the pair to write (default: the bundled demo model)")
    p.add_argument("--trained-on", default="", help="how the training data was made")
    p.add_argument("--note", default=None,
                   help="one line shown to users wherever the demo scores (what it saw)")
    p.add_argument("--heldout-report", type=Path, default=None,
                   help="a `meldae evaluate --json` report on held-out data, kept in the meta")
    p.set_defaults(func=run_export_demo)


def run_export_demo(args: argparse.Namespace) -> int:
    """Run ``meldae export-demo``; returns the exit status."""
    import json

    from meldae.infer.demo import export_demo
    from meldae.paths import demo_checkpoint

    extra = {}
    if args.heldout_report is not None:
        try:
            extra["heldout"] = json.loads(args.heldout_report.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"meldae: error: {args.heldout_report}: {exc}", file=sys.stderr)
            return 2
    out = args.out if args.out is not None else demo_checkpoint()
    note = {"note": args.note} if args.note else {}
    path = export_demo(args.checkpoint, out, args.trained_on, extra, **note)
    print(f"demo model written: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def collect_videos(inputs: list[Path]) -> tuple[list[Path], list[str]]:
    """The video files named by ``inputs`` (folders expand to their videos, sorted).

    Returns:
        The videos, and one error line per input that names no video.
    """
    videos: list[Path] = []
    problems: list[str] = []
    for item in inputs:
        if item.is_dir():
            found = sorted(p for p in item.iterdir()
                           if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                problems.append(f"{item}: no video files in this folder")
            videos.extend(found)
        elif item.exists():
            videos.append(item)
        else:
            problems.append(f"{item}: no such file or folder")
    return videos, problems


def run_infer(args: argparse.Namespace) -> int:
    """Run ``meldae infer``; returns the exit status."""
    from meldae.cli.infer_run import run_videos

    if args.out is not None and args.out.exists() and not args.out.is_dir():
        print(f"meldae: error: {args.out}: --out must be a folder", file=sys.stderr)
        return 2
    if args.workers < 0:
        print("meldae: error: --workers must be 0 or more", file=sys.stderr)
        return 2
    onnx_file = args.checkpoint is not None and args.checkpoint.suffix == ".onnx"
    args.engine = args.engine or ("onnx" if onnx_file else "torch")
    if (args.engine == "onnx") != onnx_file:
        print("meldae: error: --engine onnx runs a .onnx model (made by `meldae export-onnx`): "
              "pass it as --checkpoint MODEL.onnx" if args.engine == "onnx" else
              f"meldae: error: {args.checkpoint} is an ONNX model: use --engine onnx",
              file=sys.stderr)
        return 2
    videos, problems = collect_videos(args.inputs)
    return run_videos(args, videos, problems)
