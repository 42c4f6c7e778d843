"""How ``meldae experiment`` runs the paper's experiments honestly and once.

- **A test split, always.** The figures of a table are test figures; thresholds and
  post-processing are chosen on validation by the trainer. When the folder's split (its
  ``splits.csv`` and the train config) holds no test clip, the experiment holds out
  ``TEST_FRACTION`` of the subjects (seeded, subject-level, the same for every run) and the
  results say so and name them. The folder itself is not changed.
- **One training per configuration.** A run is keyed by its model and train configuration
  and the data folder (``config_digest``). ``OUT/runs.json`` records every finished run; a
  variant whose configuration was trained before under the same ``OUT`` (in this
  experiment or another: Table 3's ``full`` is Table 4's ``λ = 1`` and ``N = 16`` and
  Figure 4's ``BAL``) reuses its result instead of training again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Share of the subjects held out for testing when the folder has no test split.
TEST_FRACTION = 0.2
RUNS_FILE = "runs.json"


@dataclass(frozen=True)
class HeldOutSplit:
    """The experiment's test split and how it came about."""

    test_fraction: float | None   # the train override that creates it; None: the folder's own
    subjects: list[str]
    clips: list[str]

    def describe(self) -> str:
        """One sentence for the results table."""
        how = ("the folder's own" if self.test_fraction is None else
               f"created by the experiment ({self.test_fraction:.0%} of the subjects, seeded; "
               "the folder has none)")
        return (f"test split: {how}: {len(self.clips)} clip(s) of {len(self.subjects)} "
                f"subject(s) ({', '.join(self.subjects)})")

    def to_json(self) -> dict[str, Any]:
        """The split for ``results.json``."""
        return {"created": self.test_fraction is not None, "test_fraction": self.test_fraction,
                "subjects": self.subjects, "clips": self.clips}


def held_out_split(data_dir: Path, train_cfg) -> HeldOutSplit:
    """The test split the experiment's runs will use (see the module docstring).

    Raises:
        meldae.train.run.TrainingError: the folder cannot be split for training at all.
    """
    from meldae.train.run import split_folder

    splits = split_folder(Path(data_dir), train_cfg)
    override = None
    if not [c for c in splits.test if c.eaf_path is not None]:
        override = TEST_FRACTION
        splits = split_folder(Path(data_dir), replace(train_cfg, test_fraction=override))
    test = [c for c in splits.test if c.eaf_path is not None]
    if not test:
        from meldae.train.run import TrainingError

        raise TrainingError(f"{data_dir}: too few subjects for a train, validation and test "
                            "split; add clips of more subjects or fix the splits in splits.csv")
    return HeldOutSplit(override, sorted({c.subject for c in test}), [c.name for c in test])


def config_digest(model_cfg, train_cfg, data_dir: Path) -> str:
    """A key that is equal exactly when two runs would train the same thing."""
    from meldae.train.config import configs_to_json

    doc = {**configs_to_json(model_cfg, train_cfg), "data": str(Path(data_dir).resolve())}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


class RunIndex:
    """``OUT/runs.json``: the finished runs of an output folder, by configuration digest."""

    def __init__(self, out_dir: Path) -> None:
        self.path = Path(out_dir) / RUNS_FILE
        self.runs: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            try:
                self.runs = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                log.warning("%s: unreadable (%s); finished runs will be trained again",
                            self.path, exc)

    def get(self, digest: str) -> dict[str, Any] | None:
        """The stored result of a finished run whose folder still exists, else None."""
        row = self.runs.get(digest)
        if row and Path(row["run_dir"]).is_dir():
            return row
        return None

    def put(self, digest: str, row: dict[str, Any]) -> None:
        """Record a finished run (atomically)."""
        from meldae.atomic import atomic_write_text

        self.runs[digest] = row
        atomic_write_text(self.path, json.dumps(self.runs, indent=2) + "\n")
