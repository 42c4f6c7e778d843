"""A worker thread around the audio generators of ``meldae.audio``.

``iter_envelope`` and ``iter_vad`` yield progress objects (``done_s``, ``total_s``) and
then their result; the worker turns each into a signal and closes the generator between
yields when cancelled (nothing partial is cached then).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, Signal

from app.workers import TrackedThread

log = logging.getLogger(__name__)


class AudioWorker(TrackedThread):
    """Runs one ``meldae.audio`` generator to its result.

    Args:
        make: returns the generator (called in the thread).
        name: what it computes, for messages ("waveform", "speaking turns").

    Signals:
        progress(float, float): seconds done, seconds in all.
        completed(object): the generator's last item (``Envelope`` or ``SpeechTurns``).
        failed(str): a readable reason (``AudioError``'s message, or the exception's).
    """

    progress = Signal(float, float)
    completed = Signal(object)
    failed = Signal(str)

    def __init__(self, make: Callable[[], Iterator], name: str,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._make = make
        self.name = name

    def run(self) -> None:  # noqa: D102 (QThread entry point)
        from meldae.audio import AudioError

        generator = None
        try:
            generator = self._make()
            last = None
            for item in generator:
                if self.cancel_requested:
                    return
                if hasattr(item, "done_s"):
                    self.progress.emit(float(item.done_s), float(item.total_s))
                else:
                    last = item
            if last is not None and not self.cancel_requested:
                self.completed.emit(last)
        except AudioError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:   # a bug or a library error must not take the window down
            log.exception("%s failed", self.name)
            self.failed.emit(f"{self.name}: {type(exc).__name__}: {exc}")
        finally:
            if generator is not None:
                generator.close()
