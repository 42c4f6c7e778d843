"""File ▸ Open recent: the projects (clip folders and videos) opened before, newest first.

The list itself is :class:`meldae.review.RecentPaths` (a JSON file in the user's config
folder); this menu shows it, opens an entry, and is rebuilt whenever a path opens.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from meldae.review import RecentPaths


class RecentMenu(QMenu):
    """The "Open recent" submenu.

    Args:
        open_path: opens a path (the window's ``open_path``).
        store: the recent list (default: the user's).
        parent: the parent widget.
    """

    def __init__(self, open_path: Callable[[Path], None], store: RecentPaths | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__("Open recent", parent)
        self.open_path = open_path
        self.store = store or RecentPaths()
        self.rebuild()

    def remember(self, path: str | Path) -> None:
        """``path`` was opened: put it first."""
        self.store.add(path)
        self.rebuild()

    def rebuild(self) -> None:
        """Show the remembered paths that still exist (with 1–9 as accelerators)."""
        self.clear()
        paths = self.store.paths()
        for k, path in enumerate(paths, start=1):
            kind = "folder" if path.is_dir() else "video"
            prefix = f"&{k} " if k < 10 else ""
            action = QAction(f"{prefix}{path.name}  ({kind}: {path.parent})", self)
            action.setData(str(path))
            action.triggered.connect(lambda _checked=False, p=path: self.open_path(p))
            self.addAction(action)
        if not paths:
            empty = self.addAction("No recent projects")
            empty.setEnabled(False)
        self.addSeparator()
        clear = self.addAction("Clear list")
        clear.setEnabled(bool(paths))
        clear.triggered.connect(self._on_clear_triggered)

    def _on_clear_triggered(self) -> None:
        self.store.clear()
        self.rebuild()
