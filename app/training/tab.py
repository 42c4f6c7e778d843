"""The Training tab: fine-tune MELDAE on reviewed clips without leaving the app.

The user picks clips (:class:`app.training.form.ClipChooser`), a preset and the
hyper-parameters (:class:`app.training.form.HyperParameterForm`), and starts a run: the
command-line trainer in a separate process (:class:`app.training.process.TrainingProcess`),
so a crash of the run never takes the window down. Its progress events fill the loss and
F1 curves (:class:`app.training.plots.TrainingPlots`), the epoch/step counters, elapsed and
remaining time and the device; its stderr fills the log. Stop leaves the ``last``
checkpoint (Resume continues the same run folder with ``--resume``); a finished or stopped
run's ``best`` checkpoint becomes the Review tab's model with one click
(``use_checkpoint_requested``). Every disabled button's tooltip says why it is disabled.
"""

from __future__ import annotations

import datetime as _dt
import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog, QGridLayout, QGroupBox, QHBoxLayout, QLineEdit,
    QMessageBox, QPlainTextEdit, QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget,
)

from app.training.form import ClipChooser, HyperParameterForm
from app.training.plots import RunStatusPanel, TrainingPlots
from app.training.process import FAILED, FINISHED, STOP_GRACE_MS, TrainingProcess
from meldae.train.events import EpochEvent, StartEvent, StepEvent, TrainingEvent
from meldae.train.launch import prepare_clip_folder, read_run_info, train_arguments

log = logging.getLogger(__name__)

LOG_LINES = 5000
RUNS_DIR = Path(".meldae") / "runs"


class TrainingTab(QWidget):
    """Clips, hyper-parameters, start/stop/resume, live curves and log of a training run.

    Args:
        project_getter: returns the window's open ``meldae.project.Project`` (or None).
        checkpoint_getter: returns the Review tab's model checkpoint (or None); "Start from"
            offers to fine-tune it.
        parent: Qt parent.
        stop_grace_ms: how long a stopped run may take to save before it is killed.

    Signals:
        use_checkpoint_requested(object): the ``Path`` of a checkpoint to make active.
        run_finished(str, str): outcome (``finished``/``stopped``/``failed``) and message.
    """

    use_checkpoint_requested = Signal(object)
    run_finished = Signal(str, str)

    def __init__(self, project_getter=None, parent: QWidget | None = None,
                 stop_grace_ms: int = STOP_GRACE_MS, checkpoint_getter=None) -> None:
        super().__init__(parent)
        self.checkpoint_getter = checkpoint_getter
        self.before_start = None      # () -> bool: e.g. "save unsaved edits first?"
        self.run_dir: Path | None = None
        self.runs_root: Path | None = None      # None: <clip folder>/.meldae/runs
        self.active_checkpoint: Path | None = None
        self.last_outcome: tuple[str, str] | None = None
        self.process = TrainingProcess(self, stop_grace_ms)
        self.process.event_received.connect(self._on_process_event_received)
        self.process.log_received.connect(self.append_log)
        self.process.finished.connect(self._on_process_finished)
        self.process.started.connect(self._update_buttons)
        self.clips = ClipChooser(self)
        self.clips.open_project_getter = project_getter
        self.form = HyperParameterForm(self)
        self.plots = TrainingPlots(self)
        self.log_view = QPlainTextEdit(self)
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(LOG_LINES)
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log_view.setPlaceholderText("The trainer's log appears here.")
        self._build_run_box()
        self._build_layout()
        self._tick = QTimer(self, interval=1000)
        self._tick.timeout.connect(self._update_times)
        self.clips.selection_changed.connect(self._update_buttons)
        self.form.changed.connect(self._update_buttons)
        self.refresh_active_checkpoint()
        self._update_buttons()

    # ------------------------------------------------------------------ building
    def _build_run_box(self) -> None:
        self.run_edit = QLineEdit(self)
        self.run_edit.setReadOnly(True)
        self.run_edit.setPlaceholderText("a new folder under <clips>/.meldae/runs")
        self.open_run_button = QPushButton("Open run…", self)
        self.open_run_button.clicked.connect(self._on_open_run_button_clicked)
        self.start_button = QPushButton("Start", self)
        self.stop_button = QPushButton("Stop", self)
        self.resume_button = QPushButton("Resume", self)
        self.use_button = QPushButton("Use best checkpoint", self)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self.resume)
        self.use_button.clicked.connect(self.use_best_checkpoint)
        self.status = RunStatusPanel(self)

    def _build_layout(self) -> None:
        clips_box = QGroupBox("Clips to train on", self)
        QVBoxLayout(clips_box).addWidget(self.clips)
        form_box = QGroupBox("Model and training", self)
        QVBoxLayout(form_box).addWidget(self.form)
        run_box = QGroupBox("Run", self)
        run_layout = QVBoxLayout(run_box)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.run_edit, 1)
        folder_row.addWidget(self.open_run_button)
        run_layout.addLayout(folder_row)
        buttons = QGridLayout()
        for i, button in enumerate((self.start_button, self.stop_button, self.resume_button,
                                    self.use_button)):
            buttons.addWidget(button, i // 2, i % 2)
        run_layout.addLayout(buttons)
        run_layout.addWidget(self.status)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(clips_box, 1)
        left_layout.addWidget(form_box)
        left_layout.addWidget(run_box)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(left)
        scroll.setMinimumWidth(left.minimumSizeHint().width() + 16)
        log_box = QGroupBox("Log", self)
        QVBoxLayout(log_box).addWidget(self.log_view)
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(self.plots)
        right.addWidget(log_box)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([480, 920])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.splitter)

    def refresh_active_checkpoint(self) -> None:
        """Offer the Review tab's current model under "Start from" (fine-tuning)."""
        path = self.checkpoint_getter() if self.checkpoint_getter else None
        path = None if path is None else Path(path)
        if path != self.form.active_checkpoint and not self.process.running:
            self.form.set_active_checkpoint(path)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.clips.refresh_from_open_project()
        self.refresh_active_checkpoint()
        self._update_buttons()
        super().showEvent(event)

    # ------------------------------------------------------------------ actions
    def start(self) -> bool:
        """Start a new run on the checked clips; returns whether the process started."""
        if self.process.running or (self.before_start is not None and not self.before_start()):
            return False
        clips = [c for c in self.clips.selected_clips() if c.eaf_path is not None]
        try:
            settings = self.form.settings()
            run_dir = self._new_run_dir()
            data_dir = prepare_clip_folder(clips, self.clips.source_folder, run_dir)
        except (OSError, ValueError) as exc:
            self._report_failure("Cannot start training", str(exc))
            return False
        self._set_run_dir(run_dir)
        self.plots.clear()
        self.log_view.clear()
        self.append_log(f"[studio] training on {len(clips)} clip(s) from {data_dir}"
                        + (f", fine-tuning {settings.init_from}" if settings.init_from else ""))
        self._launch(train_arguments(data_dir, run_dir, settings))
        return True

    def resume(self) -> bool:
        """Continue the run in ``run_dir`` where it stopped (``--resume``)."""
        if self.process.running or self.run_dir is None:
            return False
        try:
            settings = self.form.settings()
        except ValueError as exc:
            self._report_failure("Cannot resume training", str(exc))
            return False
        data_dir = self._resume_data_dir(self.run_dir)
        if data_dir is None:
            self._report_failure("Cannot resume training",
                                 f"{self.run_dir}: the clip folder of this run is gone")
            return False
        self.plots.load_history(self.run_dir)
        self.append_log(f"[studio] resuming {self.run_dir} on {data_dir}")
        self._launch(train_arguments(data_dir, self.run_dir, settings, resume=True))
        return True

    def stop(self) -> None:
        """Ask the run to stop after its current step (it saves ``last`` first)."""
        if self.process.running:
            self.process.stop()
            self.status.state_label.setText("Stopping… (saving the last checkpoint)")
            self.append_log("[studio] stop requested: finishing the current step")
            self._update_buttons()

    def use_best_checkpoint(self) -> None:
        """Make the run's best checkpoint the Review tab's model (the open clip is re-scored)."""
        best = self._best_checkpoint()
        if best is None or self.process.running:
            return
        self.active_checkpoint = best
        self.status.model_label.setText(f"{best.parent.name}/{best.name}")
        self.status.model_label.setToolTip(str(best))
        self.append_log(f"[studio] {best} is now the model of the Review tab")
        self.use_checkpoint_requested.emit(best)
        self.form.set_active_checkpoint(best)

    def open_run(self, run_dir: Path) -> bool:
        """Show an existing run folder: its curves, settings, and what can be done with it."""
        run_dir = Path(run_dir)
        info = read_run_info(run_dir)
        if info["config"] is None:
            self._report_failure("Not a run folder", f"{run_dir}: no config.json (not a "
                                 "training run folder)")
            return False
        self._set_run_dir(run_dir)
        self.form.load_run_config(info["config"])
        steps = self.plots.load_history(run_dir)
        self.plots.set_run_length(int((info["config"].get("train") or {}).get("epochs", 0)), 0)
        self.status.state_label.setText(f"Opened: {info['epochs_done']} epoch(s) done, "
                                        f"{steps} step(s)")
        self._update_buttons()
        return True

    def shutdown(self) -> None:
        """Stop the run and wait for it (application exit only: blocks)."""
        self._tick.stop()
        self.process.shutdown()

    def show_error(self, title: str, text: str) -> None:
        """A non-modal warning (the window keeps working; tests replace this method)."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self._last_error_box = box

    def append_log(self, line: str) -> None:
        """Add a line to the log view."""
        self.log_view.appendPlainText(line)

    def _on_open_run_button_clicked(self) -> None:
        folder = self.ask_run_folder()
        if folder is not None:
            self.open_run(folder)

    def ask_run_folder(self) -> Path | None:
        """Folder dialog for "Open run…" (tests replace it)."""
        name = QFileDialog.getExistingDirectory(self, "Open a training run folder",
                                                str(self._runs_root() or ""))
        return Path(name) if name else None

    # ------------------------------------------------------------------ helpers
    def _launch(self, arguments: list[str]) -> None:
        self.last_outcome = None
        self.status.reset("Starting (loading the trainer)…")
        self.process.start(arguments, working_dir=self.run_dir)
        self._tick.start()
        self._update_buttons()

    def _runs_root(self) -> Path | None:
        if self.runs_root is not None:
            return self.runs_root
        folder = self.clips.source_folder
        return None if folder is None else folder / RUNS_DIR

    def _new_run_dir(self) -> Path:
        root = self._runs_root()
        if root is None:
            raise ValueError("choose the clips to train on first")
        stamp = _dt.datetime.now().strftime("run-%Y%m%d-%H%M%S")
        run_dir, n = root / stamp, 1
        while run_dir.exists():
            n += 1
            run_dir = root / f"{stamp}-{n}"
        run_dir.mkdir(parents=True)
        return run_dir

    def _set_run_dir(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.run_edit.setText(str(self.run_dir))
        self.run_edit.setToolTip(str(self.run_dir))
        self.status.best_label.setText(self._best_text())

    def _resume_data_dir(self, run_dir: Path) -> Path | None:
        trained_on = read_run_info(run_dir)["trained_on"]
        for candidate in (trained_on, run_dir / "clips", self.clips.source_folder):
            if candidate and Path(candidate).is_dir():
                return Path(candidate)
        return None

    def _best_checkpoint(self) -> Path | None:
        if self.run_dir is None:
            return None
        best = self.run_dir / "best.safetensors"
        return best if best.is_file() else None

    def _best_text(self) -> str:
        best = self._best_checkpoint()
        return "–" if best is None else best.name

    def _report_failure(self, title: str, message: str) -> None:
        self.status.show_error(message)
        self.append_log(f"[studio] {title}: {message}")
        self.show_error(title, message)
        self._update_buttons()

    # ------------------------------------------------------------------ events
    def _on_process_event_received(self, event: TrainingEvent) -> None:
        if isinstance(event, StartEvent):
            self.plots.set_run_length(int(event.epochs), int(event.steps_per_epoch))
        elif isinstance(event, StepEvent):
            self.plots.add_step(event.global_step, event.to_json())
        elif isinstance(event, EpochEvent):
            self.plots.add_epoch(event.epoch, event.val)
        line = self.status.on_event(event)
        if line:
            self.append_log(line)
        self.status.update_times(self.process.running)

    def _on_process_finished(self, outcome: str, message: str) -> None:
        self._tick.stop()
        self.status.update_times(False)
        self.last_outcome = (outcome, message)
        if outcome == FAILED:
            self.status.state_label.setText("Failed")
            self._report_failure("Training failed", message)
        else:
            self.status.state_label.setText("Finished" if outcome == FINISHED else
                                            "Stopped (resume to continue)")
            self.append_log(f"[studio] {message}")
        if self._best_checkpoint() is not None and "F1_DR" not in self.status.best_label.text():
            self.status.best_label.setText(self._best_text())
        self._update_buttons()
        self.run_finished.emit(outcome, message)

    def _update_times(self) -> None:
        self.status.update_times(self.process.running)

    # ------------------------------------------------------------------ buttons
    def _update_buttons(self) -> None:
        running = self.process.running
        busy = "A training run is in progress"
        self.clips.setEnabled(not running)
        self.form.setEnabled(not running)
        annotated = [c for c in self.clips.selected_clips() if c.eaf_path is not None]
        problem = self.form.problem()
        start_why = (busy if running else
                     "Check at least one annotated clip to train on" if not annotated else
                     problem if problem else None)
        self._set_button(self.start_button, start_why,
                         f"Train a new run on the {len(annotated)} checked clip(s)")
        stop_why = ("No run in progress" if not running else
                    "Stopping: waiting for the trainer to save" if self.process.stop_requested
                    else None)
        self._set_button(self.stop_button, stop_why, "Stop after the current step; the last "
                         "checkpoint is saved and the run can be resumed")
        self._set_button(self.resume_button, self._resume_problem(running), "Continue "
                         f"{self.run_dir.name if self.run_dir else ''} where it stopped, up to "
                         f"{self.form.epochs.value()} epochs")
        use_why = (busy + ": wait until it ends (or stop it)" if running else
                   "No run yet: start one or open a run folder" if self.run_dir is None else
                   "This run has no best checkpoint yet (one is written after each epoch)"
                   if self._best_checkpoint() is None else None)
        self._set_button(self.use_button, use_why, "Make this run's best checkpoint the "
                         "model of the Review tab and re-score the open clip")
        self._set_button(self.open_run_button, busy if running else None,
                         "Show an earlier run folder (to resume it or use its checkpoint)")

    def _resume_problem(self, running: bool) -> str | None:
        if running:
            return "A training run is in progress"
        if self.run_dir is None or not (self.run_dir / "train_state.json").is_file():
            return "No stopped run to resume: start a run or open a run folder"
        done = read_run_info(self.run_dir)["epochs_done"]
        if done >= self.form.epochs.value():
            return (f"The run has done {done} epoch(s); raise Epochs above {done} to "
                    "train it further")
        return None

    @staticmethod
    def _set_button(button: QPushButton, why_not: str | None, what: str) -> None:
        button.setEnabled(why_not is None)
        button.setToolTip(what if why_not is None else f"Disabled: {why_not}")
