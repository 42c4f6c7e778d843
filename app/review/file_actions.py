"""The File menu's annotation actions: save, export, open an EAF, batch export a project.

They drive the editing helper's :class:`app.review.session.ClipSession` and
:func:`meldae.project.export.batch_export`; every action is disabled, with a tooltip saying why,
when there is no clip (or project) to act on.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.actions import window_action
from app.status import StatusSink
from app.workers import TrackedThread

log = logging.getLogger(__name__)

EAF_FILTER = "ELAN files (*.eaf)"


class ExportWorker(TrackedThread):
    """Runs :func:`meldae.project.export.batch_export` off the GUI thread.

    Signals:
        progress(int, int, str): clips done, clips in all, the clip just handled.
        report_ready(object): the ``ExportReport`` (also when cancelled).
        failed(str): the output folder could not be created.
    """

    progress = Signal(int, int, str)
    report_ready = Signal(object)
    failed = Signal(str)

    def __init__(self, project, out_dir: Path, include_predicted: bool,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project, self.out_dir, self.include_predicted = project, out_dir, include_predicted

    def run(self) -> None:  # noqa: D102 - QThread entry point
        from meldae.project.export import batch_export

        try:
            report = batch_export(self.project, self.out_dir, self.include_predicted,
                                  progress=self.progress.emit,
                                  should_stop=lambda: self.cancel_requested)
        except OSError as exc:
            self.failed.emit(f"{self.out_dir}: {exc.strerror or exc}")
            return
        self.report_ready.emit(report)


class FileActions(QObject):
    """Save / export / open-EAF / batch-export actions of the open clip and project.

    Args:
        review: the review controller (its ``session``, ``project`` and ``clip_opened``).
        document: the open clip's document (its ``modified_changed``).
        scores: the score controller (the scores an export may include).
        status: where messages and errors go.
        dialog_parent: parent of the dialogs and of the actions.

    Signals:
        export_finished(object): a project export ended (its ``ExportReport``, or None
            when it could not start writing).
    """

    export_finished = Signal(object)

    def __init__(self, review: QObject, document, scores, status: StatusSink,
                 dialog_parent: QWidget) -> None:
        super().__init__(review)
        self.review = review
        self.document = document
        self.scores = scores
        self.status = status
        self.dialog_parent = dialog_parent
        self.export_worker: ExportWorker | None = None
        self.save = self._action("Save annotations", "Ctrl+S", self.save_clip,
                                 "Write the clip's EAF (3 backups are kept)")
        self.export = self._action("Export EAF…", "Ctrl+Shift+S", self.export_clip,
                                   "Write the confirmed segments to another EAF (the clip "
                                   "keeps saving to its own)")
        self.export_full = self._action(
            "Export EAF with predictions and scores…", "", self.export_clip_full,
            "Write every segment, the predicted tiers and a per-frame score CSV")
        self.open_eaf = self._action("Import EAF…", "", self.open_eaf_file,
                                     "Load another EAF's annotations into this clip (undoable; "
                                     "Ctrl+S still saves to the clip's own EAF)")
        self.batch = self._action("Export project as EAF…", "", self.batch_export,
                                  "Write every clip's EAF into a folder")
        self.cancel_batch = self._action("Cancel project export", "", self.cancel_export,
                                         "Stop the running project export after its clip")
        document.modified_changed.connect(self.update)
        review.clip_opened.connect(self.update)
        self.update()

    def _action(self, text: str, keys: str, slot, tip: str) -> QAction:
        return window_action(self.dialog_parent, text, keys, slot, tip)

    def actions(self) -> list[QAction]:
        """The actions in menu order."""
        return [self.save, self.export, self.export_full, self.open_eaf, self.batch,
                self.cancel_batch]

    def update(self, *_args) -> None:
        """Enable what applies; a disabled action's tooltip says why."""
        has_clip = self.review.session is not None
        has_project = self.review.project is not None
        reasons = {self.save: None if has_clip else "open a clip first",
                   self.export: None if has_clip else "open a clip first",
                   self.export_full: None if has_clip else "open a clip first",
                   self.open_eaf: None if has_clip else "open a clip first",
                   self.batch: "an export is running" if self.export_worker is not None
                   else None if has_project else "open a clip folder first",
                   self.cancel_batch: None if self.export_worker is not None
                   else "no project export is running"}
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
            self.status.error(title, str(exc))
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
            suggestion = session.eaf_path.with_name(f"{session.eaf_path.stem}.export.eaf")
            name, _ = QFileDialog.getSaveFileName(self.dialog_parent, "Export EAF",
                                                  str(suggestion), EAF_FILTER)
            if not name:
                return None
            path = Path(name)
        scores = self.scores.scores
        kwargs = {}
        if full and scores is not None and scores.done > 0:
            kwargs = dict(include_scores=True, loc_scores=scores.loc, state_scores=scores.state)
        written = self._run("Export failed", lambda: session.save_as(
            path, include_predicted=full, **kwargs))
        if written is not None:
            self.status.show(f"Exported {written} (the clip still saves to "
                             f"{session.eaf_path.name})", 8000)
        return written

    def export_clip_full(self) -> Path | None:
        """Export every segment, the predicted tiers and the scores."""
        return self.export_clip(full=True)

    def open_eaf_file(self, path: Path | None = None) -> None:
        """Import an EAF into the open clip (one undoable step; the clip keeps its file)."""
        session = self.review.session
        if session is None:
            return
        if path is None:
            name, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Import EAF",
                                                  str(session.eaf_path.parent), EAF_FILTER)
            if not name:
                return
            path = Path(name)
        self._run("Cannot open EAF", lambda: session.open_eaf(path))

    def batch_export(self, out_dir: Path | None = None,
                     include_predicted: bool | None = None) -> ExportWorker | None:
        """Export every clip of the project into a folder, in a worker thread.

        The window stays usable; the status bar shows the progress, "Cancel export" stops
        between clips, and the per-clip report is shown at the end (``export_finished``).

        Returns:
            The running worker, or None when nothing was started.
        """
        project = self.review.project
        if project is None:
            return None
        if out_dir is None:
            name = QFileDialog.getExistingDirectory(self.dialog_parent, "Export project to folder")
            if not name:
                return None
            out_dir = Path(name)
        if include_predicted is None:
            answer = QMessageBox.question(self.dialog_parent, "Export project",
                                          "Include predicted segments and scores?")
            include_predicted = answer == QMessageBox.StandardButton.Yes
        if self.review.session is not None:
            self.save_clip()
        worker = ExportWorker(project, Path(out_dir), include_predicted, self)
        # bound methods of this GUI-thread object: the worker's signals arrive queued
        worker.progress.connect(self._on_export_progress)
        worker.report_ready.connect(self._on_export_done)
        worker.failed.connect(self._on_export_failed)
        self.export_worker = worker
        self.update()
        worker.start()
        return worker

    def cancel_export(self) -> None:
        """Stop a running project export after the clip it is writing."""
        if self.export_worker is not None:
            self.export_worker.cancel()

    def _on_export_progress(self, done: int, total: int, clip: str) -> None:
        self.status.show(f"Exporting {clip} ({done}/{total}) …")

    def _on_export_failed(self, message: str) -> None:
        self._on_export_done(None, message)

    def _on_export_done(self, report, message: str = "") -> None:
        if self.export_worker is not None:
            self.export_worker.wait()
        self.export_worker = None
        self.update()
        if report is None:
            self.status.error("Export failed", message)
        else:
            self.status.show(report.summary().splitlines()[0], 10000)
            if report.failed:
                self.status.error("Export: some clips failed", report.summary())
        self.export_finished.emit(report)
