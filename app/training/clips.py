"""The training tab's clip chooser: which clips to train on.

:class:`ClipChooser` lists the clips of a project (the open one, or a clip folder chosen
with a dialog) with check boxes; clips the annotator marked as reviewed are checked first.
Clips without an ``.eaf`` cannot teach the model anything and cannot be checked (their
tooltip says so).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem,
    QVBoxLayout, QWidget,
)

from meldae.project import ClipReview

log = logging.getLogger(__name__)

_REVIEW_TEXT = {ClipReview.UNREVIEWED: "unreviewed", ClipReview.IN_PROGRESS: "in progress",
                ClipReview.DONE: "reviewed"}


class _ClipTree(QTreeWidget):
    """A clip list that prefers a short height (it still takes any space left over).

    The panel's word-wrapped labels make its layout height-for-width, and then a scroll
    area sizes it by preferred heights: the default 192 px would push the run box off a
    laptop screen.
    """

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(320, 120)


class ClipChooser(QWidget):
    """Check boxes over the clips of a project; reviewed clips come checked.

    Signals:
        selection_changed(): the checked clips or the clip source changed.
    """

    selection_changed = Signal()
    NAME, REVIEW, ANNOTATED = range(3)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = None
        self.open_project_getter = None      # callable returning the window's open Project
        self._follow_window = True           # False once a clip folder was chosen
        self.source_label = QLabel("No clips yet: open a project or choose a clip folder.", self)
        self.source_label.setWordWrap(True)
        self.tree = _ClipTree(self)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Clip", "Review", "Annotations"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(self.NAME, QHeaderView.ResizeMode.Stretch)
        for col in (self.REVIEW, self.ANNOTATED):
            self.tree.header().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemChanged.connect(self._on_tree_item_changed)
        self.count_label = QLabel("", self)
        self.hint_label = QLabel("Training reads the saved .eaf files: save your edits first.",
                                 self)
        self.hint_label.setStyleSheet("color: #999;")
        self.hint_label.setWordWrap(True)
        self.project_button = QPushButton("Use open project", self)
        self.project_button.clicked.connect(self.use_open_project)
        self.folder_button = QPushButton("Clip folder…", self)
        self.folder_button.setToolTip("Train on the clips of another clip folder")
        self.folder_button.clicked.connect(self._on_folder_button_clicked)
        self.reviewed_button = QPushButton("Reviewed", self)
        self.reviewed_button.setToolTip("Check the clips marked as reviewed")
        self.reviewed_button.clicked.connect(lambda: self.check(self._reviewed_names()))
        self.all_button = QPushButton("All", self)
        self.all_button.setToolTip("Check every annotated clip")
        self.all_button.clicked.connect(lambda: self.check(None))
        self.none_button = QPushButton("None", self)
        self.none_button.clicked.connect(lambda: self.check(set()))
        self._build_layout()
        self._update_project_button()

    def _build_layout(self) -> None:
        sources = QHBoxLayout()
        sources.addWidget(self.project_button)
        sources.addWidget(self.folder_button)
        sources.addStretch(1)
        checks = QHBoxLayout()
        checks.addWidget(QLabel("Check:", self))
        for button in (self.reviewed_button, self.all_button, self.none_button):
            checks.addWidget(button)
        checks.addStretch(1)
        checks.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.source_label)
        layout.addLayout(sources)
        layout.addWidget(self.tree, 1)
        layout.addLayout(checks)
        layout.addWidget(self.hint_label)

    # ------------------------------------------------------------------ sources
    def set_project(self, project) -> None:
        """Show ``project``'s clips (an ``meldae.project.Project``); reviewed ones checked."""
        self.project = project
        self.tree.blockSignals(True)
        self.tree.clear()
        for clip in project.clips:
            self.tree.addTopLevelItem(self._item(clip))
        self.tree.blockSignals(False)
        self.source_label.setText(f"Clips of <b>{project.folder.name}</b> "
                                  f"<span style='color:#666'>({project.folder})</span>")
        self.source_label.setToolTip(str(project.folder))
        reviewed = self._reviewed_names()
        self.check(reviewed if reviewed else None)
        self._update_project_button()

    def _item(self, clip) -> QTreeWidgetItem:
        state = self.project.state(clip.name)
        annotated = clip.eaf_path is not None
        item = QTreeWidgetItem([clip.name, _REVIEW_TEXT[state.review],
                                ".eaf" if annotated else "none"])
        item.setData(self.NAME, Qt.ItemDataRole.UserRole, clip.name)
        item.setCheckState(self.NAME, Qt.CheckState.Unchecked)
        if annotated:
            item.setToolTip(self.NAME, str(clip.video_path))
            item.setToolTip(self.ANNOTATED, str(clip.eaf_path))
        else:
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            reason = f"{clip.name} has no .eaf annotations to learn from"
            for col in range(3):
                item.setToolTip(col, reason)
        return item

    def set_folder(self, folder: Path) -> bool:
        """Show the clips of ``folder``; returns False (and says why) when it has none."""
        from meldae.project import Project
        from meldae.data import DataError

        try:
            project = Project(folder)
        except DataError as exc:
            self.source_label.setText(f"<span style='color:#b00'>{exc}</span>")
            return False
        if not project.clips:
            self.source_label.setText(f"<span style='color:#b00'>{folder}: no videos in this "
                                      "folder</span>")
            return False
        self.set_project(project)
        return True

    def use_open_project(self) -> None:
        """Show the clips of the project open in the window, and follow it from now on."""
        self._follow_window = True
        project = self.open_project_getter() if self.open_project_getter else None
        if project is not None:
            self.set_project(project)

    def refresh_from_open_project(self) -> None:
        """Follow the window's project (unless a folder was chosen); update review states."""
        self._update_project_button()
        project = self.open_project_getter() if self.open_project_getter else None
        if self._follow_window and project is not None and project is not self.project:
            self.set_project(project)
            return
        if self.project is None:
            return
        for item in self._items():
            name = item.data(self.NAME, Qt.ItemDataRole.UserRole)
            item.setText(self.REVIEW, _REVIEW_TEXT[self.project.state(name).review])

    def _update_project_button(self) -> None:
        project = self.open_project_getter() if self.open_project_getter else None
        self.project_button.setEnabled(project is not None)
        self.project_button.setToolTip(
            f"Train on the clips of the open project ({project.folder})" if project is not None
            else "No project is open in the Review tab (File ▸ Open clip folder…)")

    def ask_folder(self) -> Path | None:
        """Folder dialog (tests replace it)."""
        name = QFileDialog.getExistingDirectory(self, "Clip folder to train on")
        return Path(name) if name else None

    def _on_folder_button_clicked(self) -> None:
        folder = self.ask_folder()
        if folder is not None and self.set_folder(folder):
            self._follow_window = False

    # ------------------------------------------------------------------ checks
    def _items(self) -> list[QTreeWidgetItem]:
        return [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]

    def _reviewed_names(self) -> set[str]:
        if self.project is None:
            return set()
        return {c.name for c in self.project.clips
                if self.project.state(c.name).review == ClipReview.DONE}

    def check(self, names: set[str] | None) -> None:
        """Check exactly ``names`` (None: every annotated clip)."""
        self.tree.blockSignals(True)
        for item in self._items():
            enabled = bool(item.flags() & Qt.ItemFlag.ItemIsEnabled)
            name = item.data(self.NAME, Qt.ItemDataRole.UserRole)
            on = enabled and (names is None or name in names)
            item.setCheckState(self.NAME, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.tree.blockSignals(False)
        self._on_tree_item_changed()

    def selected_clips(self) -> list:
        """The checked clips (``meldae.data.ClipInfo``), in list order."""
        if self.project is None:
            return []
        checked = {item.data(self.NAME, Qt.ItemDataRole.UserRole) for item in self._items()
                   if item.checkState(self.NAME) == Qt.CheckState.Checked}
        return [c for c in self.project.clips if c.name in checked]

    @property
    def source_folder(self) -> Path | None:
        """The folder the listed clips come from."""
        return None if self.project is None else self.project.folder

    def _on_tree_item_changed(self, *_args) -> None:
        total = sum(1 for c in self.project.clips if c.eaf_path is not None) if self.project else 0
        self.count_label.setText(f"{len(self.selected_clips())} of {total} annotated clip(s)")
        self.selection_changed.emit()
