"""One meldae function run off the GUI thread, its result delivered by a signal."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.workers import TrackedThread, dispose_finished

log = logging.getLogger(__name__)


class TaskWorker(TrackedThread):
    """Runs ``function()`` in a thread.

    Signals:
        succeeded(object): its result.
        failed(str): the error, in one line (user errors: the exception's message).
    """

    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, function: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._function = function

    def run(self) -> None:  # noqa: D102 (QThread)
        try:
            result = self._function()
        except Exception as exc:  # noqa: BLE001 - reported to the user, never a crash
            log.warning("%s failed: %s", getattr(self._function, "__name__", "task"), exc)
            self.failed.emit(str(exc) or type(exc).__name__)
            return
        if not self.cancel_requested:
            self.succeeded.emit(result)


class TaskRunner(QObject):
    """At most one :class:`TaskWorker` at a time for a widget: start, busy, shutdown, and
    the finished worker disposed of safely (``app.workers.dispose_finished``).

    Signals:
        idle(): the running task ended (after its ``succeeded`` or ``failed``).
    """

    idle = Signal()

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._worker: TaskWorker | None = None

    @property
    def busy(self) -> bool:
        """True while a task runs."""
        return self._worker is not None

    def start(self, function: Callable[[], Any], succeeded: Callable[[Any], None],
              failed: Callable[[str], None]) -> bool:
        """Run ``function`` in a thread; False (nothing started) while another task runs."""
        if self._worker is not None:
            return False
        self._worker = TaskWorker(function, self)
        self._worker.succeeded.connect(succeeded)
        self._worker.failed.connect(failed)
        self._worker.finished.connect(self._on_worker_finished)
        self._worker.start()
        return True

    def shutdown(self) -> None:
        """Stop a running task (window or dialog closing)."""
        if self._worker is not None:
            self._worker.shutdown()

    def _on_worker_finished(self) -> None:
        worker, self._worker = self._worker, None
        dispose_finished(worker)
        self.idle.emit()
