"""``meldae export-project``: a project's ELAN files from the command line.

The same batch export as the app's "Export project as EAF…"
(:func:`meldae.project.export.batch_export`): every clip with an EAF is written to ``--out`` as ``<clip>.eaf`` (+ sidecar), linked to its
video. Exit status 0 when every clip went well, 1 when some failed (each named on stderr),
2 for a folder that is not a clip folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export-project`` subcommand."""
    p = subparsers.add_parser(
        "export-project",
        help="export every clip's annotations of a project folder as ELAN files",
        description="Write <OUT>/<clip>.eaf for every clip of FOLDER that has an EAF "
                    "(as the app's File > Export project as EAF does).",
    )
    p.add_argument("folder", type=Path, metavar="FOLDER", help="the clip folder (project)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--predicted", action="store_true",
                   help="also export predicted segments and cached score CSVs")
    p.set_defaults(func=run_export_project)


def run_export_project(args: argparse.Namespace) -> int:
    """Export the project; prints one line per clip and a summary."""
    from meldae.data import DataError
    from meldae.project import Project
    from meldae.project.export import FAILED, batch_export

    project = Project(args.folder)
    if not project.clips:
        raise DataError(f"{args.folder}: no videos in this folder")
    for warning in project.warnings:
        print(f"meldae: warning: {warning}", file=sys.stderr)
    report = batch_export(project, args.out, include_predicted=args.predicted)
    for result in report.results:
        where = f" -> {result.path}" if result.path is not None else ""
        note = f" ({result.reason})" if result.reason else ""
        line = f"{result.name}: {result.status}{where}{note}"
        print(line, file=sys.stderr if result.status == FAILED else sys.stdout)
    print(report.summary().splitlines()[0])
    return 1 if report.failed else 0
