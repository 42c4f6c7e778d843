"""Progress of a training run: JSON-line events, the CSV log, TensorBoard and a progress bar.

Events are the frozen dataclasses of :mod:`meldae.train.events` (docs/architecture.md,
"meldae.train — progress events"); the desktop app reads them back from the trainer's stdout
with the same classes. Only rank 0 of a distributed run reports.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import sys
from pathlib import Path
from typing import IO, Any

from meldae.train.events import TrainingEvent, event_from_json

log = logging.getLogger(__name__)

CSV_FIELDS = ("kind", "epoch", "step", "global_step", "loss", "loss_me", "loss_state",
              "loss_loc", "lr", "elapsed_s", "train_loss", "val_f1", "val_f1_dr",
              "val_f1_speaking", "val_f1_listening", "val_acc_me", "val_acc_state",
              "val_auc_state", "val_auc_loc")


def _clean(value: Any) -> Any:
    """JSON-safe numbers: floats rounded a little, NaN/inf as null."""
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 6)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class ProgressReporter:
    """Writes every event to the outputs that are switched on.

    Args:
        run_dir: the run folder (``log.csv`` and ``tb/`` go there).
        json_progress: print events as JSON lines on ``stream`` (default stdout).
        enabled: False on ranks other than 0: nothing is written at all.
        progress_bar: show a tqdm bar on stderr (ignored with ``json_progress``).
        tensorboard: write TensorBoard scalars when the package is installed.
        stream: where JSON lines go.
    """

    def __init__(self, run_dir: Path, json_progress: bool = False, enabled: bool = True,
                 progress_bar: bool | None = None, tensorboard: bool = True,
                 stream: IO[str] | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.json_progress = json_progress
        self.enabled = enabled
        self.stream = stream
        self.events: list[dict[str, Any]] = []   # every event of this process, in order
        self._bar = None
        self._tb = None
        self._csv_file: IO[str] | None = None
        self._csv: csv.DictWriter | None = None
        if progress_bar is None:
            progress_bar = not json_progress and sys.stderr.isatty()
        self._want_bar = enabled and progress_bar and not json_progress
        if enabled:
            self._open_logs(tensorboard)

    def _open_logs(self, tensorboard: bool) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / "log.csv"
        new = not path.exists() or path.stat().st_size == 0
        self._csv_file = path.open("a", newline="", encoding="utf-8")
        self._csv = csv.DictWriter(self._csv_file, fieldnames=CSV_FIELDS, extrasaction="ignore")
        if new:
            self._csv.writeheader()
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                log.debug("tensorboard is not installed; logging to log.csv only")
            else:
                self._tb = SummaryWriter(str(self.run_dir / "tb"))

    def emit(self, event: TrainingEvent | dict[str, Any]) -> None:
        """Report one event: a typed event, or its JSON object (read through the types)."""
        typed = event if hasattr(event, "to_json") else event_from_json(event)
        event = _clean(typed.to_json() if typed is not None else dict(event))
        self.events.append(event)
        if not self.enabled:
            return
        if self.json_progress:
            out = self.stream or sys.stdout
            out.write(json.dumps(event) + "\n")
            out.flush()
        kind = event["event"]
        if kind == "step":
            self._on_step(event)
        elif kind == "epoch":
            self._on_epoch(event)
        elif kind in ("checkpoint", "done", "error", "start") and not self.json_progress:
            self._say(event)

    def _on_step(self, event: dict[str, Any]) -> None:
        self._write_csv({"kind": "step", **event})
        if self._tb is not None:
            for key in ("loss", "loss_me", "loss_state", "loss_loc", "lr"):
                if event.get(key) is not None:
                    self._tb.add_scalar(f"train/{key}", event[key], event["global_step"])
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{event['loss']:.4f}", refresh=False)

    def _on_epoch(self, event: dict[str, Any]) -> None:
        val = event.get("val") or {}
        row = {"kind": "epoch", "epoch": event["epoch"], "train_loss": event.get("train_loss"),
               "elapsed_s": event.get("elapsed_s")}
        row.update({f"val_{k}": v for k, v in val.items()})
        self._write_csv(row)
        if self._tb is not None:
            for key, value in val.items():
                if isinstance(value, (int, float)):
                    self._tb.add_scalar(f"val/{key}", value, event["epoch"])
            self._tb.flush()
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if not self.json_progress:
            self._say(event)

    def start_epoch(self, epoch: int, total_steps: int, done_steps: int = 0) -> None:
        """Open the progress bar of an epoch (a no-op without a bar)."""
        if not self._want_bar:
            return
        from tqdm import tqdm

        self._bar = tqdm(total=total_steps, initial=done_steps, desc=f"epoch {epoch}",
                         file=sys.stderr, leave=False, dynamic_ncols=True)

    def _write_csv(self, row: dict[str, Any]) -> None:
        if self._csv is not None and self._csv_file is not None:
            self._csv.writerow(row)
            self._csv_file.flush()

    def _say(self, event: dict[str, Any]) -> None:
        """A short human line on stderr (only without --json-progress)."""
        text = " ".join(f"{k}={v}" for k, v in event.items() if k != "event")
        print(f"[{event['event']}] {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Flush and close the logs."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        if self._csv_file is not None:
            self._csv_file.close()
            self._csv_file = None
            self._csv = None
