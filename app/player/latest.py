"""A one-place request slot shared by a GUI thread and a worker: the newest request wins.

While the playhead is dragged, requests arrive faster than any decoder serves them. Queuing
them would show a slide show of stale frames; the slot instead holds one request, and a new
one replaces it. The worker can also ask, in the middle of a long decode, whether a newer
request is waiting (``has_pending``) and give up on the stale one.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Holds the newest request only; thread-safe."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: T | None = None
        self._working = False
        self._closed = False

    def put(self, request: T) -> None:
        """Replace any request not taken yet by ``request`` (never blocks)."""
        with self._cond:
            self._pending = request
            self._cond.notify()

    def take(self, block: bool = True) -> T | None:
        """The newest request, marking the worker busy; None when closed (or none, unblocked).

        Args:
            block: wait until a request arrives or the slot is closed.
        """
        with self._cond:
            while block and self._pending is None and not self._closed:
                self._cond.wait(0.5)
            if self._closed or self._pending is None:
                return None
            request, self._pending = self._pending, None
            self._working = True
            return request

    def done(self) -> None:
        """The request taken last is served (or dropped)."""
        with self._cond:
            self._working = False

    def has_pending(self) -> bool:
        """True when a request waits (or the slot closed): the work in hand is stale."""
        with self._cond:
            return self._pending is not None or self._closed

    @property
    def busy(self) -> bool:
        """True while a request waits or is being served."""
        with self._cond:
            return self._pending is not None or self._working

    @property
    def closed(self) -> bool:
        """True once ``close`` was called."""
        with self._cond:
            return self._closed

    def close(self) -> None:
        """Wake the worker and make every later ``take`` return None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
