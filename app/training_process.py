"""A training run in a separate process: ``python -m meldae train ... --json-progress``.

:class:`TrainingProcess` wraps a ``QProcess`` running the command-line trainer. Its stdout
carries one JSON progress event per line (docs/architecture.md, "meldae.train — progress
events"); the process may deliver them in arbitrary pieces, so :class:`LineBuffer` keeps
partial lines until their newline arrives. stderr (logging, warnings, a traceback) goes to
the log as lines. Stopping sends SIGTERM (``QProcess.terminate``): the trainer finishes its
step, writes the ``last`` checkpoint and the train state, and exits; after a grace period
the process is killed. A crash of the run (nonzero exit, an ``error`` event) is reported as
an outcome, never raised: the window keeps working.

Also here, free of Qt: :class:`TrainingSettings` (what the form edits) and its command
line; :func:`prepare_clip_folder`, which gives the trainer a clip folder holding only the
chosen clips (symbolic links in ``RUN/clips``) when they are a subset of a folder; and
:func:`read_run_info`, what a run folder says about itself (for Open run and Resume).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import weakref
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

log = logging.getLogger(__name__)

STOP_GRACE_MS = 30_000          # SIGTERM -> SIGKILL delay: a step of the paper preset on a CPU
SUBSET_DIR = "clips"            # RUN/clips: links to the chosen clips
_REGISTRY: "weakref.WeakSet[TrainingProcess]" = weakref.WeakSet()

FINISHED, STOPPED, FAILED = "finished", "stopped", "failed"


@dataclass(frozen=True)
class TrainingSettings:
    """The run's preset and the hyper-parameters the app exposes (``meldae train`` flags)."""

    preset: str = "lite"                # paper | lite | tiny
    epochs: int = 10
    batch_size: int = 8
    lr_backbone: float | None = None    # None: the trainer's rule (1e-5 pretrained, else lr_new)
    lr_new: float = 5e-4
    loc_loss: str = "bal"
    lam: float = 1.0                    # BAL boundary weight λ
    num_queries: int = 16               # N enhancer query tokens
    max_steps: int | None = None        # cap of optimiser steps per epoch (quick runs)
    device: str = "auto"                # auto | cpu | cuda | cuda:N
    init_from: Path | None = None       # fine-tune this checkpoint (its config fixes the model)

    def train_flags(self) -> list[str]:
        """The hyper-parameter flags of ``meldae train`` for a new run.

        Fine-tuning (``init_from``) passes ``--init-from`` instead of ``--preset`` and
        ``--num-queries``: the model's shape comes from the checkpoint.
        """
        tuning = self.init_from is not None
        flags = (["--init-from", str(self.init_from)] if tuning else ["--preset", self.preset])
        flags += ["--epochs", str(self.epochs),
                  "--batch-size", str(self.batch_size), "--lr-new", repr(float(self.lr_new)),
                  "--loc-loss", self.loc_loss, "--lam", repr(float(self.lam))]
        if not tuning:
            flags += ["--num-queries", str(self.num_queries)]
        if self.lr_backbone is not None:
            flags += ["--lr-backbone", repr(float(self.lr_backbone))]
        if self.max_steps is not None:
            flags += ["--max-steps", str(self.max_steps)]
        return flags


def train_arguments(data_dir: Path, run_dir: Path, settings: TrainingSettings,
                    resume: bool = False) -> list[str]:
    """The arguments after ``python -m meldae`` for a new run or a resumed one.

    A resumed run keeps the configuration in ``RUN/config.json``; only the number of
    epochs (to train further) and the device may change, so only those are passed.
    """
    args = ["train", str(data_dir), "--out", str(run_dir), "--json-progress",
            "--device", settings.device]
    if resume:
        return args + ["--resume", "--epochs", str(settings.epochs)]
    return args + settings.train_flags()


def prepare_clip_folder(clips: list, source: Path, run_dir: Path) -> Path:
    """The clip folder the trainer reads: ``source`` itself, or ``RUN/clips`` for a subset.

    The subset folder holds symbolic links (hard links or copies where links are not
    allowed) to each chosen clip's video, ``.eaf`` and sidecar, and the rows of
    ``source/splits.csv`` that name them, so subjects and fixed splits are kept.

    Args:
        clips: the chosen ``meldae.data.ClipInfo`` (all from ``source``).
        source: the folder they come from.
        run_dir: the run folder (``clips/`` is created in it, replacing an older one).

    Returns:
        The folder to pass to ``meldae train``.

    Raises:
        ValueError: no clip chosen.
        OSError: the links cannot be written.
    """
    from meldae.annotations import sidecar_path
    from meldae.data import discover_clips, read_splits_csv, write_splits_csv

    if not clips:
        raise ValueError("no clip chosen for training")
    source = Path(source)
    chosen = {c.name for c in clips}
    if chosen == {c.name for c in discover_clips(source)}:
        return source
    folder = Path(run_dir) / SUBSET_DIR
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for clip in clips:
        files = [Path(clip.video_path)]
        if clip.eaf_path is not None:
            files += [Path(clip.eaf_path), sidecar_path(clip.eaf_path)]
        for path in files:
            if path.is_file():
                _link(path, folder / path.name)
    splits_csv = source / "splits.csv"
    if splits_csv.is_file():
        rows = read_splits_csv(splits_csv)
        write_splits_csv(folder / "splits.csv",
                         [(name, *rows[name]) for name in sorted(chosen) if name in rows])
    return folder


def _link(target: Path, link: Path) -> None:
    """A symbolic link, else a hard link, else a copy."""
    try:
        link.symlink_to(target.resolve())
        return
    except OSError:
        pass
    try:
        os.link(target, link)
    except OSError:
        shutil.copy2(target, link)


def read_run_info(run_dir: Path) -> dict:
    """What a run folder says about itself: ``config`` (or None) and ``epochs_done``."""
    info: dict = {"config": None, "epochs_done": 0, "trained_on": None}
    for name, key in (("config.json", "config"), ("train_state.json", "state"),
                      ("last.json", "last")):
        path = Path(run_dir) / name
        try:
            info[key] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("%s: unreadable (%s)", path, exc)
            info[key] = None
    state, last = info.pop("state"), info.pop("last")
    if isinstance(state, dict):
        info["epochs_done"] = int((state.get("position") or {}).get("epoch", 0))
    if isinstance(last, dict):
        info["trained_on"] = (last.get("meta") or {}).get("trained_on")
    return info


class LineBuffer:
    """Splits a byte stream into text lines, keeping an unfinished last line for later."""

    def __init__(self) -> None:
        self._partial = b""

    def feed(self, data: bytes) -> list[str]:
        """Add bytes; returns the lines they complete (without line endings)."""
        chunks = (self._partial + bytes(data)).split(b"\n")
        self._partial = chunks.pop()
        return [c.rstrip(b"\r").decode("utf-8", errors="replace") for c in chunks]

    def flush(self) -> list[str]:
        """The unfinished line, if any (at the end of the stream)."""
        rest, self._partial = self._partial, b""
        text = rest.rstrip(b"\r").decode("utf-8", errors="replace")
        return [text] if text else []


def parse_event(line: str) -> dict[str, Any] | None:
    """The progress event on ``line``, or None when the line is not one."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        event = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return None
    return event


def python_environment() -> QProcessEnvironment:
    """The child's environment: this one, unbuffered output, and ``meldae`` importable."""
    env = QProcessEnvironment.systemEnvironment()
    env.insert("PYTHONUNBUFFERED", "1")
    root = str(Path(__file__).resolve().parents[1])   # the folder holding app/ and meldae/
    old = env.value("PYTHONPATH", "")
    env.insert("PYTHONPATH", root + (os.pathsep + old if old else ""))
    return env


def running_processes() -> list[TrainingProcess]:
    """The training processes that are running now (for shutdown and tests)."""
    return [p for p in list(_REGISTRY) if p.running]


class TrainingProcess(QObject):
    """One ``meldae train`` process and its progress events.

    Signals:
        started(): the process is running.
        event_received(dict): one progress event from stdout.
        log_received(str): a line of stderr, or a stdout line that is not an event.
        finished(str, str): the outcome (``"finished"``, ``"stopped"`` or ``"failed"``)
            and a message (the error for a failed run).
    """

    started = Signal()
    event_received = Signal(dict)
    log_received = Signal(str)
    finished = Signal(str, str)

    def __init__(self, parent: QObject | None = None, stop_grace_ms: int = STOP_GRACE_MS) -> None:
        super().__init__(parent)
        self.stop_grace_ms = stop_grace_ms
        self.arguments: list[str] = []
        self._process: QProcess | None = None
        self._out = LineBuffer()
        self._err = LineBuffer()
        self._stderr_tail: deque[str] = deque(maxlen=15)
        self._error_message: str | None = None
        self._done_event: dict[str, Any] | None = None
        self._stop_requested = False
        self._kill_timer = QTimer(self, singleShot=True)
        self._kill_timer.timeout.connect(self._on_kill_timer_timeout)
        _REGISTRY.add(self)

    @property
    def running(self) -> bool:
        """True from ``start`` until the process has ended."""
        return self._process is not None

    @property
    def stop_requested(self) -> bool:
        """True once ``stop`` was called for the current process."""
        return self._stop_requested

    def start(self, arguments: list[str], working_dir: Path | None = None) -> None:
        """Run ``python -m meldae ARGUMENTS`` (see :func:`train_arguments`).

        Raises:
            RuntimeError: a process is already running.
        """
        if self._process is not None:
            raise RuntimeError("a training process is already running")
        self.arguments = list(arguments)
        self._out, self._err = LineBuffer(), LineBuffer()
        self._stderr_tail.clear()
        self._error_message, self._done_event, self._stop_requested = None, None, False
        proc = QProcess(self)
        proc.setProcessEnvironment(python_environment())
        if working_dir is not None:
            proc.setWorkingDirectory(str(working_dir))
        proc.readyReadStandardOutput.connect(self._on_process_stdout)
        proc.readyReadStandardError.connect(self._on_process_stderr)
        proc.finished.connect(self._on_process_finished)
        proc.errorOccurred.connect(self._on_process_error)
        proc.started.connect(self.started)
        self._process = proc
        log.info("starting: %s -m meldae %s", sys.executable, " ".join(self.arguments))
        proc.start(sys.executable, ["-u", "-m", "meldae", *self.arguments])

    def stop(self) -> None:
        """Ask the run to stop (SIGTERM); kill it when it has not ended after the grace time."""
        if self._process is None or self._stop_requested:
            return
        self._stop_requested = True
        self._process.terminate()
        self._kill_timer.start(self.stop_grace_ms)

    def shutdown(self, timeout_ms: int = STOP_GRACE_MS) -> None:
        """Stop and wait for the process (application exit only: blocks)."""
        proc = self._process
        if proc is None:
            return
        self.stop()
        if not proc.waitForFinished(timeout_ms):
            proc.kill()
            proc.waitForFinished(5000)

    # ------------------------------------------------------------------ process signals
    def _on_process_stdout(self) -> None:
        if self._process is not None:
            self._handle_stdout(self._out.feed(self._process.readAllStandardOutput().data()))

    def _on_process_stderr(self) -> None:
        if self._process is not None:
            self._handle_stderr(self._err.feed(self._process.readAllStandardError().data()))

    def _handle_stdout(self, lines: list[str]) -> None:
        for line in lines:
            event = parse_event(line)
            if event is None:
                if line.strip():
                    self.log_received.emit(line)
                continue
            if event["event"] == "error":
                self._error_message = str(event.get("message") or "unknown error")
            elif event["event"] == "done":
                self._done_event = event
            self.event_received.emit(event)

    def _handle_stderr(self, lines: list[str]) -> None:
        for line in lines:
            if line.strip():
                self._stderr_tail.append(line)
                self.log_received.emit(line)

    def _on_kill_timer_timeout(self) -> None:
        if self._process is not None:
            log.warning("the training process did not stop within %d ms; killing it",
                        self.stop_grace_ms)
            self.log_received.emit(f"[studio] no exit {self.stop_grace_ms / 1000:g} s after "
                                   "the stop request: killed")
            self._process.kill()

    def _on_process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._process is not None:
            message = f"could not start {sys.executable}: {self._process.errorString()}"
            self._end(FAILED, message)

    def _on_process_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        if self._process is None:
            return
        self._on_process_stdout()
        self._on_process_stderr()
        self._handle_stdout(self._out.flush())
        self._handle_stderr(self._err.flush())
        crashed = exit_status == QProcess.ExitStatus.CrashExit
        self._end(*self._outcome(exit_code, crashed))

    def _outcome(self, exit_code: int, crashed: bool) -> tuple[str, str]:
        if self._error_message is not None:
            return FAILED, self._error_message
        if self._stop_requested:
            return STOPPED, "stopped on request; the last checkpoint is kept"
        if exit_code == 0 and not crashed:
            if self._done_event is not None and self._done_event.get("stopped"):
                return STOPPED, "stopped; the last checkpoint is kept"
            return FINISHED, "finished"
        how = "crashed" if crashed else f"exited with status {exit_code}"
        tail = "\n".join(list(self._stderr_tail)[-6:])
        return FAILED, f"the training process {how}" + (f":\n{tail}" if tail else "")

    def _end(self, outcome: str, message: str) -> None:
        proc, self._process = self._process, None
        self._kill_timer.stop()
        if proc is not None:
            proc.deleteLater()
        log.info("training process %s: %s", outcome, message.splitlines()[0] if message else "")
        self.finished.emit(outcome, message)
