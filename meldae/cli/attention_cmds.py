"""``meldae attention``: the enhancer's attention over the face crop (paper Figs. 6-8)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``attention`` subcommand."""
    p = subparsers.add_parser(
        "attention", help="draw the ME Enhancer's attention over the face (paper Figs. 6-8)",
        description="Run the model on the window holding frames A..B of VIDEO and draw its "
                    "enhancer attention laid over the face crop: one row per query group, one "
                    "column per frame, rows of the grid labelled by facial band (forehead, "
                    "eyes & brows, nose & cheeks, mouth, chin & jaw) as in the paper.")
    p.add_argument("video", type=Path, help="the video")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="a MELDAE checkpoint (default: the bundled demo model)")
    p.add_argument("--frames", required=True, metavar="A:B",
                   help="frames to show, inclusive, 0-based (at most one window, T frames)")
    p.add_argument("--out", type=Path, required=True, help="the PNG to write")
    p.add_argument("--groups", type=int, default=4, help="query groups, one row each (default 4)")
    p.add_argument("--max-frames", type=int, default=8,
                   help="at most this many columns, evenly spaced over A..B (default 8)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.set_defaults(func=run_attention)


def run_attention(args: argparse.Namespace) -> int:
    """Run ``meldae attention``; returns the exit status."""
    from meldae.attention import AttentionError, attention_figure, parse_frames, plot_attention
    from meldae.faces import FaceSettings, load_face_crops
    from meldae.infer import DeviceError, load_model

    try:
        first, last = parse_frames(args.frames)
        if args.groups < 1 or args.max_frames < 1:
            raise AttentionError("--groups and --max-frames must be at least 1")
        model, _ = load_model(args.checkpoint, args.device)
        faces = load_face_crops(args.video, FaceSettings(crop_size=model.cfg.img_size))
        if not faces.face_found[first:last + 1].any():
            print(f"meldae: warning: {args.video}: no face found in frames {first}..{last}",
                  file=sys.stderr)
        data = attention_figure(model, faces.crops, first, last, args.groups, args.max_frames)
    except (AttentionError, DeviceError) as exc:
        print(f"meldae: error: {args.video}: {exc}", file=sys.stderr)
        return 2
    plot_attention(data, args.out, title=f"{args.video.name}: frames {first}..{last} "
                   f"(window {data.window[0]}..{data.window[1] - 1})")
    print(f"{args.out}: attention of {len(data.groups)} query groups over {len(data.frames)} "
          f"frames ({', '.join(str(f) for f in data.frames)})")
    return 0
