"""Where controllers report to the user: one small object instead of the window's methods.

Controllers get a :class:`StatusSink` and call ``show(text)`` for the status bar and
``error(title, text)`` for an error the user must see; the window connects its signals to
its status bar and its (non-modal) error box. So no controller needs the window.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class StatusSink(QObject):
    """Status messages and errors, as signals the window turns into widgets.

    Signals:
        message_shown(str, int): a status-bar message and its timeout (ms; 0: until replaced).
        error_shown(str, str): an error's title and text.
    """

    message_shown = Signal(str, int)
    error_shown = Signal(str, str)

    def show(self, text: str, timeout_ms: int = 0) -> None:
        """A message in the status bar."""
        self.message_shown.emit(text, int(timeout_ms))

    def error(self, title: str, text: str) -> None:
        """Tell the user about an error."""
        self.error_shown.emit(title, text)
