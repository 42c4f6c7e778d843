"""The ``meldae`` command line: one subcommand module per task.

Each module in ``COMMAND_MODULES`` defines ``register(subparsers)``, which adds its
subcommand(s) and sets ``func`` on the parser: ``func(args) -> int`` (the exit status).
Errors a user can cause are turned into one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMAND_MODULES = (
    "meldae.cli.data_cmds",      # synth
    "meldae.cli.dataset_cmds",   # convert, stats
    "meldae.cli.train_cmds",     # train, evaluate, experiment, baseline
    "meldae.cli.infer_cmds",     # infer, export-demo
    "meldae.cli.onnx_cmds",      # export-onnx
    "meldae.cli.project_cmds",   # export-project
    "meldae.cli.review_cmds",    # suggest, agreement
    "meldae.cli.attention_cmds",  # attention (paper Figs. 6-8)
)

log = logging.getLogger("meldae")


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    from meldae import __version__

    parser = argparse.ArgumentParser(
        prog="meldae",
        description="MELDAE micro-expression spotting: data, training, evaluation, inference.",
    )
    parser.add_argument("--version", action="version", version=f"meldae {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types that mean bad input, reported as one line without a traceback."""
    errors: list[type[BaseException]] = [FileNotFoundError, NotADirectoryError, PermissionError]
    for module, attr in (
        ("meldae.video", "VideoError"),
        ("meldae.annotations", "AnnotationError"),
        ("meldae.checkpoint", "CheckpointError"),
        ("meldae.data", "DataError"),
        ("meldae.audio", "AudioError"),
    ):
        try:
            errors.append(getattr(importlib.import_module(module), attr))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("meldae: interrupted", file=sys.stderr)
        return 130
    except user_errors() as exc:
        print(f"meldae: error: {exc}", file=sys.stderr)
        return 2
