"""What a training run shows: loss curves per step, validation F1 per epoch, its status.

:class:`TrainingPlots` keeps the numbers (``steps``, ``losses``, ``epochs``, ``f1_dr``,
``f1``) and draws them with pyqtgraph; redraws are throttled (a fast GPU run reports many
steps a second). ``load_history`` refills the curves from a run folder's ``log.csv``, so a
run opened later, or resumed, shows its whole past. A step whose ``global_step`` is not
after the last one shown (a run resumed from an earlier state) replaces the tail.
:class:`RunStatusPanel` turns progress events into state, device, epoch and step, elapsed
and remaining time (:class:`RunClock`) and the best checkpoint.
"""

from __future__ import annotations

import csv
import logging
import math
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer  # PySide6 must be imported before pyqtgraph
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

import pyqtgraph as pg

from meldae.train.events import (
    CheckpointEvent, DoneEvent, EpochEvent, ErrorEvent, StartEvent, StepEvent, TrainingEvent,
)

log = logging.getLogger(__name__)

LOSS_KEYS = ("loss", "loss_loc", "loss_me", "loss_state")
_LOSS_STYLE = {"loss": ("total", "#fad75a", 2), "loss_loc": ("localisation", "#ff785a", 1),
               "loss_me": ("ME", "#78dc8c", 1), "loss_state": ("state", "#78c8ff", 1)}
F1_DR_COLOUR, F1_COLOUR = "#ffa03c", "#b4a0ff"
BACKGROUND, FOREGROUND = "#1b1c20", "#c8c8c8"      # the timeline's colours
REDRAW_MS = 250


def _plot_widget(parent: QWidget, title: str, x_label: str, y_label: str) -> pg.PlotWidget:
    """A dark plot with a grid and a legend, like the Review tab's timeline."""
    plot = pg.PlotWidget(parent, background=BACKGROUND)
    plot.setTitle(title, color=FOREGROUND, size="10pt")
    plot.setLabel("bottom", x_label, color=FOREGROUND)
    plot.setLabel("left", y_label, color=FOREGROUND)
    for side in ("bottom", "left"):
        plot.getAxis(side).setTextPen(FOREGROUND)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setMenuEnabled(False)
    plot.addLegend(offset=(-10, 10), brush=(27, 28, 32, 220), labelTextColor=FOREGROUND)
    return plot


def format_duration(seconds: float | None) -> str:
    """``1:02:03`` / ``2:03`` for a duration; ``–`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "–"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def fmt_number(value, digits: int = 4) -> str:
    """A number from an event (None when it was NaN) for display."""
    return "–" if value is None else f"{float(value):.{digits}f}"

class RunClock:
    """Elapsed and remaining time of the running process, from its events."""

    def __init__(self) -> None:
        self.total_steps = 0
        self.elapsed = 0.0            # trainer's elapsed_s at the last event (resume included)
        self.at = time.monotonic()    # when that event arrived
        self._first: tuple[float, int] | None = None
        self.global_step = 0

    def on_start(self, event: StartEvent) -> None:
        """A run started: its length in steps."""
        self.total_steps = int(event.epochs) * int(event.steps_per_epoch)
        self._first, self.at = None, time.monotonic()

    def on_progress(self, event: StepEvent | EpochEvent) -> None:
        """A step or epoch event: the trainer's clock (and, for steps, the step count)."""
        if event.elapsed_s is None:
            return
        self.elapsed, self.at = float(event.elapsed_s), time.monotonic()
        if isinstance(event, StepEvent):
            self.global_step = int(event.global_step)
            if self._first is None:
                self._first = (self.elapsed, self.global_step)

    def elapsed_now(self) -> float:
        return self.elapsed + (time.monotonic() - self.at)

    def remaining(self) -> float | None:
        """Seconds left: this process's time per step (validation included) × steps left."""
        if self._first is None or self.global_step <= self._first[1]:
            return None
        rate = (self.elapsed - self._first[0]) / (self.global_step - self._first[1])
        left = rate * max(0, self.total_steps - self.global_step)
        return max(0.0, left - (time.monotonic() - self.at))


def _number(value: Any) -> float:
    """A float from an event or CSV value; NaN for missing or bad ones."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


class TrainingPlots(QWidget):
    """Loss curves (per step) above validation F1_DR and F1 (per epoch)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.steps: list[int] = []
        self.losses: dict[str, list[float]] = {key: [] for key in LOSS_KEYS}
        self.epochs: list[int] = []
        self.f1_dr: list[float] = []
        self.f1: list[float] = []
        self.loss_plot = _plot_widget(self, "Training loss (per step)", "step", "loss")
        self.loss_curves = {}
        for key in LOSS_KEYS:
            name, colour, width = _LOSS_STYLE[key]
            self.loss_curves[key] = self.loss_plot.plot([], [], name=name,
                                                        pen=pg.mkPen(colour, width=width))
        self.f1_plot = _plot_widget(self, "Validation (per epoch)", "epoch", "F1")
        self.f1_plot.setYRange(-0.03, 1.03, padding=0)
        self.f1_dr_curve = self.f1_plot.plot([], [], name="F1_DR",
                                             pen=pg.mkPen(F1_DR_COLOUR, width=2), symbol="o",
                                             symbolSize=7, symbolBrush=F1_DR_COLOUR)
        self.f1_curve = self.f1_plot.plot([], [], name="F1", pen=pg.mkPen(F1_COLOUR, width=1),
                                          symbol="t", symbolSize=6, symbolBrush=F1_COLOUR)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 3)
        layout.addWidget(self.f1_plot, 2)
        self._dirty = False
        self._timer = QTimer(self, interval=REDRAW_MS)
        self._timer.timeout.connect(self._on_timer)
        self._timer.start()

    # ------------------------------------------------------------------ data
    def clear(self) -> None:
        """Forget every point."""
        self.steps.clear()
        for values in self.losses.values():
            values.clear()
        self.epochs.clear()
        self.f1_dr.clear()
        self.f1.clear()
        self.redraw()

    def set_run_length(self, epochs: int, steps_per_epoch: int) -> None:
        """Span the whole run on both x axes (from its ``start`` event), whole epochs ticked."""
        if epochs > 0:
            self.f1_plot.setXRange(0.5, epochs + 0.5, padding=0)
            major = max(1, epochs // 10)
            self.f1_plot.getAxis("bottom").setTickSpacing(major, major)
        if epochs > 0 and steps_per_epoch > 0:
            self.loss_plot.setXRange(0, epochs * steps_per_epoch, padding=0.02)

    def add_step(self, step: int, losses: dict[str, Any]) -> None:
        """Add one step's losses (``loss``, ``loss_me``, ... ; missing ones are NaN)."""
        step = int(step)
        keep = len(self.steps)
        while keep and self.steps[keep - 1] >= step:
            keep -= 1
        if keep < len(self.steps):
            del self.steps[keep:]
            for values in self.losses.values():
                del values[keep:]
        self.steps.append(step)
        for key in LOSS_KEYS:
            self.losses[key].append(_number(losses.get(key)))
        self._dirty = True

    def add_epoch(self, epoch: int, val: dict[str, Any] | None) -> None:
        """Add one epoch's validation F1_DR and F1 (NaN without validation)."""
        epoch = int(epoch)
        keep = len(self.epochs)
        while keep and self.epochs[keep - 1] >= epoch:
            keep -= 1
        del self.epochs[keep:], self.f1_dr[keep:], self.f1[keep:]
        val = val or {}
        self.epochs.append(epoch)
        self.f1_dr.append(_number(val.get("f1_dr")))
        self.f1.append(_number(val.get("f1")))
        self._dirty = True

    def load_history(self, run_dir: Path) -> int:
        """Replace the curves with ``run_dir/log.csv``; returns the number of steps read."""
        self.clear()
        path = Path(run_dir) / "log.csv"
        if not path.is_file():
            return 0
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
        except (OSError, csv.Error) as exc:
            log.warning("%s: cannot read the training log (%s)", path, exc)
            return 0
        for row in rows:
            if row.get("kind") == "step" and row.get("global_step"):
                self.add_step(int(row["global_step"]), row)
            elif row.get("kind") == "epoch" and row.get("epoch"):
                self.add_epoch(int(row["epoch"]),
                               {"f1_dr": row.get("val_f1_dr"), "f1": row.get("val_f1")})
        self.redraw()
        return len(self.steps)

    # ------------------------------------------------------------------ drawing
    def redraw(self) -> None:
        """Push the numbers to the curves (the timer calls it when something changed)."""
        self._dirty = False
        for key, curve in self.loss_curves.items():
            curve.setData(self.steps, self.losses[key], connect="finite")
        self.f1_dr_curve.setData(self.epochs, self.f1_dr, connect="finite")
        self.f1_curve.setData(self.epochs, self.f1, connect="finite")

    def drawn_steps(self) -> int:
        """How many step points the total-loss curve shows now."""
        xs, _ys = self.loss_curves["loss"].getData()
        return 0 if xs is None else len(xs)

    def drawn_epochs(self) -> int:
        """How many epoch points the F1_DR curve shows now."""
        xs, _ys = self.f1_dr_curve.getData()
        return 0 if xs is None else len(xs)

    def _on_timer(self) -> None:
        if self._dirty:
            self.redraw()


class RunStatusPanel(QWidget):
    """State, device, progress, elapsed and remaining time, best checkpoint, errors."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.clock = RunClock()
        self.epochs_total = 0
        self.steps_per_epoch = 0
        self.state_label = QLabel("No run", self)
        self.device_label = QLabel("–", self)
        self.progress_label = QLabel("–", self)
        self.elapsed_label = QLabel("–", self)
        self.remaining_label = QLabel("–", self)
        self.best_label = QLabel("–", self)
        self.model_label = QLabel("unchanged (the model the window started with)", self)
        self.error_label = QLabel("", self)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020;")
        self.error_label.setVisible(False)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        for text, label in (("State", self.state_label), ("Device", self.device_label),
                            ("Progress", self.progress_label), ("Elapsed", self.elapsed_label),
                            ("Remaining", self.remaining_label), ("Best", self.best_label),
                            ("Review model", self.model_label)):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            form.addRow(text, label)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.error_label)

    def reset(self, state: str) -> None:
        """A new process is starting."""
        self.clock = RunClock()
        self.state_label.setText(state)
        for label in (self.device_label, self.progress_label, self.remaining_label):
            label.setText("–")
        self.show_error(None)

    def show_error(self, message: str | None) -> None:
        """Show (or hide, with None) an error under the status."""
        self.error_label.setText(message or "")
        self.error_label.setVisible(bool(message))

    def on_event(self, event: TrainingEvent) -> str | None:
        """Update from a progress event; returns a line for the log (or None)."""
        if isinstance(event, StartEvent):
            return self._on_start(event)
        if isinstance(event, StepEvent):
            self.clock.on_progress(event)
            self.progress_label.setText(
                f"epoch {event.epoch}/{self.epochs_total} · step {event.step}/"
                f"{self.steps_per_epoch} · loss {fmt_number(event.loss)}")
            return None
        if isinstance(event, EpochEvent):
            self.clock.on_progress(event)
            return (f"[epoch {event.epoch}] train loss {fmt_number(event.train_loss)}, val F1_DR "
                    f"{fmt_number(event.val.get('f1_dr'), 3)}, "
                    f"F1 {fmt_number(event.val.get('f1'), 3)}")
        if isinstance(event, CheckpointEvent):
            if event.kind == "best":
                self.best_label.setText(f"epoch {event.epoch} · F1_DR "
                                        f"{fmt_number(event.f1_dr, 3)}")
            return f"[checkpoint] {event.kind}: {event.path}"
        if isinstance(event, DoneEvent):
            return f"[done] best epoch {event.best_epoch}, {format_duration(event.elapsed_s)}"
        if isinstance(event, ErrorEvent):
            return f"[error] {event.message}"
        return None

    def _on_start(self, event: StartEvent) -> str:
        self.clock.on_start(event)
        self.epochs_total = int(event.epochs)
        self.steps_per_epoch = int(event.steps_per_epoch)
        self.device_label.setText(event.device or "?")
        self.state_label.setText("Training")
        return (f"[start] device {event.device}, {self.epochs_total} epoch(s) of "
                f"{self.steps_per_epoch} step(s), from epoch {event.resumed_from_epoch}")

    def update_times(self, running: bool) -> None:
        """Refresh elapsed (and, while running, remaining) time."""
        if not running and self.clock.global_step == 0:
            return
        self.elapsed_label.setText(format_duration(
            self.clock.elapsed_now() if running else self.clock.elapsed))
        self.remaining_label.setText(format_duration(self.clock.remaining()) if running else "–")
