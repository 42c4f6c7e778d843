"""A QAction the way the window's menus use them: an optional window-wide shortcut, a tooltip
and status tip that name the shortcut, and the plain tip kept in ``data()`` (so that code
disabling the action can say why next to it)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence


def window_action(parent: QObject, text: str, keys: str, slot: Callable[[], object],
                  tip: str) -> QAction:
    """A new action calling ``slot()`` (without the ``checked`` argument).

    Args:
        parent: the action's owner (the main window).
        text: the menu text.
        keys: a shortcut such as ``"Shift+S"``; ``""`` for none.
        slot: what the action does.
        tip: what it does, in words (the shortcut is appended to the tooltip).
    """
    action = QAction(text, parent)
    if keys:
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        tip = f"{tip} ({keys})"
    action.setToolTip(tip)
    action.setStatusTip(tip)
    action.setData(tip)
    action.triggered.connect(lambda _checked=False: slot())
    return action
