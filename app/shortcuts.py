"""Every action of the window with its key: the Help list, ``--list-actions``, and keys
that belong to the Review tab.

- :func:`action_catalog` walks the menu bar: one entry per action (name, shortcut, menu),
  the list Help ▸ Keyboard shortcuts shows and ``python main.py --list-actions`` prints as
  JSON, so the two can never disagree with the menus.
- :class:`TabScopedShortcuts` keeps review keys (Space, Delete, A, R, I, O, …) to the
  Review tab: on another tab their shortcuts are taken off (the menu entries still work by
  mouse), so typing in the Training tab never plays, deletes or accepts anything.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QTabWidget


def _clean(text: str) -> str:
    return text.replace("&", "").replace("…", "").strip()


def _menu_actions(menu: QMenu, path: str) -> Iterable[tuple[str, QAction]]:  # noqa: D103
    for action in menu.actions():
        if action.isSeparator():
            continue
        yield path, action      # a submenu (Open recent) is one entry: its items change


def action_catalog(menu_bar: QMenuBar, scoped: TabScopedShortcuts | None = None) -> list[dict]:
    """``[{"name", "shortcut", "menu"}, …]`` for every menu action, in menu order.

    ``shortcut`` is the portable text of all its keys joined by ", " ("" when none); keys
    a :class:`TabScopedShortcuts` has taken off for now are still listed.
    """
    entries = []
    for top in menu_bar.actions():
        if top.menu() is None:
            continue
        for path, action in _menu_actions(top.menu(), _clean(top.text())):
            keys = scoped.keys_of(action) if scoped is not None else action.shortcuts()
            shortcut = ", ".join(k.toString(QKeySequence.SequenceFormat.PortableText)
                                 for k in keys if not k.isEmpty())
            entries.append({"name": _clean(action.text()), "shortcut": shortcut,
                            "menu": path})
    return entries


class TabScopedShortcuts:
    """Shortcuts of ``actions`` that work only while tab ``index`` of ``tabs`` is current.

    Args:
        tabs: the window's tab widget.
        index: the tab the keys belong to.
        actions: the actions to scope (their shortcuts as set now are remembered).
    """

    def __init__(self, tabs: QTabWidget, index: int, actions: Iterable[QAction]) -> None:
        self.tabs, self.index = tabs, index
        self._keys: dict[QAction, list[QKeySequence]] = {a: list(a.shortcuts()) for a in actions}
        tabs.currentChanged.connect(self._on_tabs_current_changed)
        self._on_tabs_current_changed(tabs.currentIndex())

    def keys_of(self, action: QAction) -> list[QKeySequence]:
        """The keys of ``action`` (also while taken off)."""
        return self._keys.get(action, list(action.shortcuts()))

    @property
    def active(self) -> bool:
        """Whether the keys are on (their tab is current)."""
        return self.tabs.currentIndex() == self.index

    def _on_tabs_current_changed(self, current: int) -> None:
        on = current == self.index
        for action, keys in self._keys.items():
            action.setShortcuts(keys if on else [])
