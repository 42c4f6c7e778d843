"""Base class and registry for the application's worker threads.

Every ``QThread`` the app starts derives from :class:`TrackedThread`, so that shutdown code
and the tests can see which workers are still running (a QThread running Python code is
invisible to ``threading.enumerate()``).
"""

from __future__ import annotations

import logging
import weakref

from PySide6.QtCore import QObject, QThread

log = logging.getLogger(__name__)

_REGISTRY: "weakref.WeakSet[TrackedThread]" = weakref.WeakSet()


class TrackedThread(QThread):
    """A QThread that registers itself and supports cooperative cancellation."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel_requested = False
        _REGISTRY.add(self)

    def cancel(self) -> None:
        """Ask the worker to stop at its next checkpoint (never blocks)."""
        self._cancel_requested = True

    @property
    def cancel_requested(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel_requested

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel, then wait for the thread to end (shutdown only: blocks the caller).

        Returns:
            True when the thread is no longer running.
        """
        self.cancel()
        if self.isRunning():
            self.wait(timeout_ms)
        if self.isRunning():
            log.warning("%s did not stop within %d ms", type(self).__name__, timeout_ms)
        return not self.isRunning()


def dispose_finished(worker: QThread) -> None:
    """Delete a worker whose ``finished`` signal just arrived, safely (for workers that are
    not kept in a pool; see :func:`retire` for those that may be cancelled mid-run).

    ``finished`` is emitted by the thread itself just before it ends, so a slot that runs
    ``deleteLater`` at once can have the object deleted while the thread is still on its way
    out (under load: a crash in the next event loop turn). Waiting first makes the deletion
    safe; the wait is over as soon as the thread's last instructions ran.
    """
    worker.wait()
    worker.deleteLater()


def running_workers() -> list[TrackedThread]:
    """The tracked worker threads that are running now."""
    alive: list[TrackedThread] = []
    for worker in list(_REGISTRY):
        try:
            if worker.isRunning():
                alive.append(worker)
        except RuntimeError:  # the C++ object is already gone
            continue
    return alive


def retire(pool: set[TrackedThread], worker: TrackedThread) -> None:
    """Cancel ``worker`` and keep a reference in ``pool`` until it has finished.

    A QThread object must outlive its thread, so finished workers are dropped from the
    pool only here (lazily), never from a signal of the worker itself.
    """
    worker.cancel()
    pool.add(worker)
    for old in list(pool):
        if old.isFinished():
            pool.discard(old)
