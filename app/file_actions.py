"""The File menu's annotation actions: save, export, open an EAF, batch export a project.

They drive the editing helper's :class:`app.session.ClipSession` and
:func:`app.elan_actions.batch_export`; every action is disabled, with a tooltip saying why,
when there is no clip (or project) to act on.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

if TYPE_CHECKING:  # pragma: no cover
    from app.review import ReviewController

log = logging.getLogger(__name__)

EAF_FILTER = "ELAN files (*.eaf)"


class FileActions(QObject):
    """Save / export / open-EAF / batch-export actions of the open clip and project."""

    def __init__(self, review: ReviewController) -> None:
        super().__init__(review)
        self.review = review
        self.w = review.w
        self.save = self._action("Save annotations", "Ctrl+S", self.save_clip,
                                 "Write the clip's EAF (3 backups are kept)")
        self.export = self._action("Export EAF…", "Ctrl+Shift+S", self.export_clip,
                                   "Write the confirmed segments to another EAF")
        self.export_full = self._action(
            "Export EAF with predictions and scores…", "", self.export_clip_full,
            "Write every segment, the predicted tiers and a per-frame score CSV")
        self.open_eaf = self._action("Open EAF…", "", self.open_eaf_file,
                                     "Load another EAF into this clip (undoable)")
        self.batch = self._action("Export project as EAF…", "", self.batch_export,
                                  "Write every clip's EAF into a folder")
        self.w.document.modified_changed.connect(self.update)
        self.w.clip_opened.connect(self.update)
        self.update()

    def _action(self, text: str, keys: str, slot, tip: str) -> QAction:
        action = QAction(text, self.w)
        if keys:
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            tip = f"{tip} ({keys})"
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setData(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def actions(self) -> list[QAction]:
        """The actions in menu order."""
        return [self.save, self.export, self.export_full, self.open_eaf, self.batch]

    def update(self, *_args) -> None:
        """Enable what applies; a disabled action's tooltip says why."""
        has_clip = self.review.session is not None
        has_project = self.review.project is not None
        reasons = {self.save: None if has_clip else "open a clip first",
                   self.export: None if has_clip else "open a clip first",
                   self.export_full: None if has_clip else "open a clip first",
                   self.open_eaf: None if has_clip else "open a clip first",
                   self.batch: None if has_project else "open a clip folder first"}
        for action, why in reasons.items():
            action.setEnabled(why is None)
            tip = action.data()
            action.setToolTip(tip if why is None else f"{tip} — disabled: {why}")
            action.setStatusTip(action.toolTip())

    def _run(self, title: str, fn) -> object | None:
        from meldae.annotations import AnnotationError

        try:
            return fn()
        except (AnnotationError, OSError, ValueError) as exc:
            self.w._show_error(title, str(exc))
            return None

    def save_clip(self) -> Path | None:
        """Save the open clip's EAF; returns the path written (None on failure)."""
        if self.review.session is None:
            return None
        return self._run("Save failed", self.review.session.save)

    def export_clip(self, path: Path | None = None, full: bool = False) -> Path | None:
        """Export the open clip (asks for the file when ``path`` is None)."""
        session = self.review.session
        if session is None:
            return None
        if path is None:
            name, _ = QFileDialog.getSaveFileName(self.w, "Export EAF",
                                                  str(session.eaf_path), EAF_FILTER)
            if not name:
                return None
            path = Path(name)
        scores = self.w.scores.scores
        kwargs = {}
        if full and scores is not None and scores.done > 0:
            kwargs = dict(include_scores=True, loc_scores=scores.loc, state_scores=scores.state)
        return self._run("Export failed", lambda: session.save_as(
            path, include_predicted=full, **kwargs))

    def export_clip_full(self) -> Path | None:
        """Export every segment, the predicted tiers and the scores."""
        return self.export_clip(full=True)

    def open_eaf_file(self, path: Path | None = None) -> None:
        """Load an EAF into the open clip (one undoable step)."""
        session = self.review.session
        if session is None:
            return
        if path is None:
            name, _ = QFileDialog.getOpenFileName(self.w, "Open EAF",
                                                  str(session.eaf_path.parent), EAF_FILTER)
            if not name:
                return
            path = Path(name)
        self._run("Cannot open EAF", lambda: session.open_eaf(path))

    def batch_export(self, out_dir: Path | None = None, include_predicted: bool | None = None):
        """Export every clip of the project into a folder; reports per clip."""
        from app.elan_actions import batch_export

        project = self.review.project
        if project is None:
            return None
        if out_dir is None:
            name = QFileDialog.getExistingDirectory(self.w, "Export project to folder")
            if not name:
                return None
            out_dir = Path(name)
        if include_predicted is None:
            answer = QMessageBox.question(self.w, "Export project",
                                          "Include predicted segments and scores?")
            include_predicted = answer == QMessageBox.StandardButton.Yes
        if self.review.session is not None:
            self.save_clip()
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            report = self._run("Export failed", lambda: batch_export(
                project, out_dir, include_predicted,
                progress=lambda done, total, clip: self.w.show_status(
                    f"Exporting {clip} ({done}/{total}) …")))
        finally:
            QApplication.restoreOverrideCursor()
        if report is not None:
            self.w.show_status(report.summary(), 10000)
            if report.failed:
                self.w._show_error("Export: some clips failed", report.summary())
        return report
