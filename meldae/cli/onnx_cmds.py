"""``meldae export-onnx``: a checkpoint's window model as ONNX (``meldae.infer.onnx_export``).

The exported file runs with ``meldae infer --engine onnx --checkpoint MODEL.onnx``, or in
any onnxruntime deployment (inputs and outputs: ``docs/user-guide.md``, "ONNX export").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export-onnx`` subcommand."""
    p = subparsers.add_parser(
        "export-onnx", help="export a checkpoint's window model to ONNX (dynamic batch)",
        description="Write CHECKPOINT's window model as one ONNX graph: uint8 face-crop "
                    "windows (B, T, S, S, 3) in; loc, state (B, T), me (B,) and attention "
                    "(B, T, G, G) probabilities out. The checkpoint's JSON (config, meta and "
                    "the validated post-processing) is stored in the model's metadata.")
    p.add_argument("checkpoint", type=Path, help="the checkpoint (NAME.safetensors)")
    p.add_argument("out", type=Path, help="the .onnx file to write")
    p.add_argument("--no-check", action="store_true",
                   help="skip comparing onnxruntime's outputs with torch's on random windows")
    p.set_defaults(func=run_export_onnx)


def run_export_onnx(args: argparse.Namespace) -> int:
    """Run ``meldae export-onnx``; returns the exit status."""
    from meldae.infer.onnx_export import ExportError, export_onnx

    if args.out.suffix != ".onnx":
        print(f"meldae: error: {args.out}: the output must end in .onnx", file=sys.stderr)
        return 2
    try:
        path = export_onnx(args.checkpoint, args.out)
    except ExportError as exc:
        print(f"meldae: error: {exc}", file=sys.stderr)
        return 2
    print(f"ONNX model written: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if not args.no_check:
        from meldae.infer.onnx_check import max_difference

        diff = max_difference(args.checkpoint, path)
        verdict = "ok" if diff <= 1e-4 else "LARGER THAN 1e-4"
        print(f"onnxruntime vs torch on random windows: max |difference| {diff:.2e} ({verdict})")
        if diff > 1e-4:
            return 1
    return 0
