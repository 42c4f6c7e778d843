"""The clip list's Qt table model over a :class:`meldae.project.Project`."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt

from meldae.data import ClipInfo
from meldae.project import ClipReview, Project

_REVIEW_TEXT = {ClipReview.UNREVIEWED: "Unreviewed", ClipReview.IN_PROGRESS: "In progress",
                ClipReview.DONE: "Done"}


class ClipListModel(QAbstractTableModel):
    """The clip list: columns name, review, segments (from the project file; no parsing).

    ``Qt.UserRole`` on any column gives the clip name; ``Qt.ToolTipRole`` the video path.
    Rows update when ``project.update`` changes a clip.
    """

    COLUMNS = ("Clip", "Review", "Segments")
    NAME, REVIEW, SEGMENTS = range(3)

    def __init__(self, project: Project, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        listener = self._on_project_updated
        project.add_listener(listener)
        self.destroyed.connect(lambda *_: project.remove_listener(listener))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self.project.clips)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt's name
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt's name
                   role: int = Qt.DisplayRole) -> object:
        if role == Qt.DisplayRole and orientation == Qt.Horizontal and 0 <= section < len(self.COLUMNS):
            return self.COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.project.clips):
            return None
        clip = self.project.clips[index.row()]
        if role == Qt.UserRole:
            return clip.name
        if role == Qt.ToolTipRole:
            return str(clip.video_path)
        if role not in (Qt.DisplayRole, Qt.EditRole):
            return None
        state = self.project.state(clip.name)
        if index.column() == self.NAME:
            return clip.name
        if index.column() == self.REVIEW:
            return _REVIEW_TEXT[state.review]
        if index.column() == self.SEGMENTS:
            return "" if state.segments is None else state.segments
        return None

    def clip_at(self, row: int) -> ClipInfo:
        """The clip shown in ``row``."""
        return self.project.clips[row]

    def _on_project_updated(self, name: str) -> None:
        row = self.project.row(name)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.COLUMNS) - 1))
