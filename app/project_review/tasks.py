"""One meldae function run off the GUI thread, its result delivered by a signal."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.workers import TrackedThread

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
