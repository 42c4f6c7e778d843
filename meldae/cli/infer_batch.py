"""What one rank of ``meldae infer`` knows about its batch, and what happened to each video.

Shared by ``meldae.cli.infer_run`` (resume, shards, summary) and ``meldae.cli.infer_score``
(scoring and writing).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

AUDIO_TIER = "Speaking (audio)"


@dataclass(frozen=True)
class Outcome:
    """What happened to one video in this run."""

    video: str
    status: str          # "scored", "skipped" (already done) or "failed"
    rank: int = 0
    frames: int = 0
    segments: int = 0
    error: str = ""


@dataclass
class Batch:
    """One rank's view of the run."""

    args: argparse.Namespace
    env: object                     # meldae.infer.shard.DistEnv
    key: object | None = None       # meldae.infer.manifest.RunKey (with --out)
    manifest: object | None = None  # meldae.infer.manifest.Manifest (with --out)
    model: object = None
    info: dict | None = None

    def say(self, text: str, err: bool = False) -> None:
        """Print a line (prefixed with the rank in a distributed run)."""
        prefix = f"[rank {self.env.rank}] " if self.env.is_distributed else ""
        print(prefix + text, file=sys.stderr if err else sys.stdout, flush=True)


def naming(exc: BaseException | str, video: Path) -> str:
    """The message, prefixed with the file unless it already names it."""
    text = str(exc)
    return text if str(video) in text or video.name in text else f"{video}: {text}"
