"""The project's clips with their review status (a view of
``app.project.clip_list_model.ClipListModel``)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeView, QWidget


class ClipListWidget(QTreeView):
    """One row per clip: name, review status, confirmed segments (from the project file).

    Signals:
        clip_activated(object): the user chose a clip (a ``meldae.data.ClipInfo``).
    """

    clip_activated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = None
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setToolTip("Clips of the project: double-click or Enter opens one "
                        "(Ctrl+PgDown / Ctrl+PgUp: next / previous clip)")
        self.activated.connect(self._on_activated)

    def set_project(self, project) -> None:
        """Show the clips of ``project`` (a ``meldae.project.Project``; None: empty)."""
        from app.project.clip_list_model import ClipListModel

        old = self.model()
        self.project = project
        self.setModel(ClipListModel(project, self) if project is not None else None)
        if old is not None:
            old.deleteLater()
        if project is not None:
            header = self.header()
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
            header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
            header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)

    @property
    def clips(self) -> list:
        """The clips listed, in order."""
        return list(self.project.clips) if self.project is not None else []

    def row_of(self, name: str) -> int:
        """Row of the clip called ``name`` (-1 when absent)."""
        return next((i for i, c in enumerate(self.clips) if c.name == name), -1)

    def cell_text(self, name: str, column: int) -> str:
        """The text shown for clip ``name`` in ``column`` (0 name, 1 review, 2 segments)."""
        row = self.row_of(name)
        if row < 0:
            return ""
        return str(self.model().index(row, column).data(Qt.ItemDataRole.DisplayRole))

    def select_clip(self, name: str) -> None:
        """Highlight ``name`` without emitting ``clip_activated``."""
        row = self.row_of(name)
        if row >= 0:
            self.setCurrentIndex(self.model().index(row, 0))

    def neighbour(self, name: str, step: int):
        """The clip ``step`` rows from ``name`` (None past either end or when unknown)."""
        row = self.row_of(name)
        clips = self.clips
        if row < 0 or not 0 <= row + step < len(clips):
            return None
        return clips[row + step]

    def _on_activated(self, index: QModelIndex) -> None:
        clips = self.clips
        if index.isValid() and 0 <= index.row() < len(clips):
            self.clip_activated.emit(clips[index.row()])
