"""A training run in a separate process: ``python -m meldae train ... --json-progress``.

:class:`TrainingProcess` wraps a ``QProcess`` running the command-line trainer. Its stdout
carries one JSON progress event per line (docs/architecture.md, "meldae.train — progress
events"); the process may deliver them in arbitrary pieces, so a ``LineBuffer`` keeps
partial lines until their newline arrives. stderr (logging, warnings, a traceback) goes to
the log as lines. Stopping sends SIGTERM (``QProcess.terminate``): the trainer finishes its
step, writes the ``last`` checkpoint and the train state, and exits; after a grace period
the process is killed. A crash of the run (nonzero exit, an ``error`` event) is reported as
an outcome, never raised: the window keeps working.

The Qt-free parts live in meldae: the settings and command line in
:mod:`meldae.train.launch`, the typed events and the line splitting in
:mod:`meldae.train.events`.
"""

from __future__ import annotations

import logging
import os
import sys
import weakref
from collections import deque
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from meldae.train.events import DoneEvent, ErrorEvent, LineBuffer, parse_event_line

log = logging.getLogger(__name__)

STOP_GRACE_MS = 30_000          # SIGTERM -> SIGKILL delay: a step of the paper preset on a CPU
_REGISTRY: "weakref.WeakSet[TrainingProcess]" = weakref.WeakSet()

FINISHED, STOPPED, FAILED = "finished", "stopped", "failed"


def python_environment() -> QProcessEnvironment:
    """The child's environment: this one, unbuffered output, and ``meldae`` importable."""
    env = QProcessEnvironment.systemEnvironment()
    env.insert("PYTHONUNBUFFERED", "1")
    root = str(Path(__file__).resolve().parents[2])   # the folder holding app/ and meldae/
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
        event_received(object): one progress event from stdout (a ``meldae.train.events`` type).
        log_received(str): a line of stderr, or a stdout line that is not an event.
        finished(str, str): the outcome (``"finished"``, ``"stopped"`` or ``"failed"``)
            and a message (the error for a failed run).
    """

    started = Signal()
    event_received = Signal(object)
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
        self._done_event: DoneEvent | None = None
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
            event = parse_event_line(line)
            if event is None:
                if line.strip():
                    self.log_received.emit(line)
                continue
            if isinstance(event, ErrorEvent):
                self._error_message = event.message or "unknown error"
            elif isinstance(event, DoneEvent):
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
            if self._done_event is not None and self._done_event.stopped:
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
