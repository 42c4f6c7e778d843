"""Help ▸ Keyboard shortcuts: every action of the menus with its keys, filterable."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QHeaderView, QLineEdit, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)


class ShortcutsDialog(QDialog):
    """A table of ``action_catalog`` entries (action, keys, menu) with a filter box.

    Args:
        entries: what :func:`app.shortcuts.action_catalog` returned.
        parent: the window.
    """

    def __init__(self, entries: list[dict], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(640, 560)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter: an action, a key or a menu")
        self.filter_edit.setClearButtonEnabled(True)
        self.table = QTableWidget(len(entries), 3, self)
        self.table.setHorizontalHeaderLabels(["Action", "Shortcut", "Menu"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, entry in enumerate(entries):
            for col, key in enumerate(("name", "shortcut", "menu")):
                self.table.setItem(row, col, QTableWidgetItem(entry[key]))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)   # menu order until clicked
        self.table.setSortingEnabled(True)
        self.filter_edit.textChanged.connect(self._on_filter_edit_text_changed)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.table)

    def visible_rows(self) -> int:
        """Rows the filter leaves visible."""
        return sum(not self.table.isRowHidden(r) for r in range(self.table.rowCount()))

    def _on_filter_edit_text_changed(self, text: str) -> None:
        needle = text.strip().lower()
        for row in range(self.table.rowCount()):
            cells = " ".join(self.table.item(row, c).text().lower() for c in range(3))
            self.table.setRowHidden(row, bool(needle) and needle not in cells)
