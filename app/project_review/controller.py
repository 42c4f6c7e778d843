"""The Project menu and its glue: Review next, Progress, agreement, adjudication, annotator.

:class:`ProjectReviewController` is given the parts it uses (:class:`ProjectReviewParts`),
never the window. Going to a suggestion opens its clip through the review controller and,
once the clip has opened, seeks the player to the spot and zooms the timeline around it
(``TimelineWidget.zoom_to``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from app.actions import window_action
from app.project_review.parts import ProjectReviewParts
from app.project_review.progress_dock import ProgressDock
from app.project_review.review_next import ReviewNextDock
from app.project_review.settings import AnnotatorSetting
from meldae.review.annotators import AnnotatorError
from meldae.review.queue import Suggestion

log = logging.getLogger(__name__)

ZOOM_CONTEXT = 2.0     # frames of context on each side, in lengths of the spot (at least 25)


class ProjectReviewController(QObject):
    """Builds the docks and the Project menu's actions, and carries out their requests."""

    def __init__(self, parts: ProjectReviewParts, parent: QObject | None = None,
                 annotator: AnnotatorSetting | None = None) -> None:
        super().__init__(parent)
        self.parts = parts
        self.annotator = annotator or AnnotatorSetting(self)
        parts.document.annotator = self.annotator.name
        self.annotator.changed.connect(self._on_annotator_changed)
        self.review_next = ReviewNextDock(self._queue_function, parts.host)
        self.progress = ProgressDock(self._progress_function, parts.host)
        for dock in (self.review_next, self.progress):
            parts.host.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            dock.hide()
        self.review_next.suggestion_activated.connect(self.go_to)
        self.review_next.visibilityChanged.connect(
            lambda shown: shown and not self.review_next.suggestions and self.review_next.refresh())
        self.progress.visibilityChanged.connect(lambda shown: shown and self.progress.refresh())
        parts.review.clip_opened.connect(self._on_review_clip_opened)
        parts.document.modified_changed.connect(self._on_document_modified_changed)
        self._pending: Suggestion | None = None
        self.dialogs: list = []
        self.actions = self._build_actions()

    # ------------------------------------------------------------------ menu
    def _build_actions(self) -> dict[str, QAction]:
        host = self.parts.host
        actions = {
            "review_next": self.review_next.toggleViewAction(),
            "next_suggestion": window_action(host, "Next suggestion", "Ctrl+G", self.next_suggestion,
                                             "Open the next clip and spot of the review queue"),
            "progress": self.progress.toggleViewAction(),
            "agreement": window_action(host, "Annotator agreement…", "", self.open_agreement,
                                       "Compare two annotators' files of the same clips"),
            "adjudicate": window_action(host, "Adjudicate this clip…", "", self.open_adjudication,
                                        "Decide between two annotators' versions of the open clip"),
            "annotator": window_action(host, "Annotator name…", "", self.ask_annotator,
                                       "Set the name stamped on your edits and files"),
            "save_own": window_action(host, "Save as my version (clip.NAME.eaf)", "",
                                      self.save_own_version,
                                      "Save the open clip as your own file beside the video"),
            "open_own": window_action(host, "Open my version", "", self.open_own_version,
                                      "Load your own file of the open clip (clip.NAME.eaf)"),
        }
        actions["review_next"].setText("Review next")
        actions["progress"].setText("Progress")
        host.addAction(actions["next_suggestion"])
        return actions

    def fill_menu(self, menu: QMenu) -> None:
        """Put the actions in ``menu`` (the window's Project menu)."""
        for name in ("review_next", "next_suggestion", "progress"):
            menu.addAction(self.actions[name])
        menu.addSeparator()
        for name in ("agreement", "adjudicate"):
            menu.addAction(self.actions[name])
        menu.addSeparator()
        for name in ("save_own", "open_own", "annotator"):
            menu.addAction(self.actions[name])

    # ------------------------------------------------------------------ review next
    def _queue_function(self):
        project = self.parts.review.project
        if project is None:
            return None
        from meldae.review.queue import project_queue

        folder, checkpoint = project.folder, self.parts.checkpoint()
        return lambda: project_queue(folder, checkpoint)

    def _progress_function(self):
        project = self.parts.review.project
        if project is None:
            return None
        from meldae.review.progress import project_progress

        folder = project.folder
        return lambda: project_progress(folder)

    def next_suggestion(self) -> None:
        """Go to the next suggestion of the queue (showing the dock first)."""
        if not self.review_next.isVisible():
            self.review_next.show()
        if self.review_next.busy:
            self.parts.status.show("Still ranking the project …", 3000)
            return
        if self.review_next.next_suggestion() is None:
            self.parts.status.show("No more suggestions", 4000)

    def go_to(self, suggestion: Suggestion) -> None:
        """Open ``suggestion``'s clip (when not open) and show its frames."""
        review = self.parts.review
        if review.project is None:
            return
        try:
            clip = review.project.clip(suggestion.clip)
        except KeyError:
            self.parts.status.show(f"{suggestion.clip} is no longer in the project", 5000)
            return
        if review.clip is not None and review.clip.name == clip.name and review.session is not None:
            self._show(suggestion)
            return
        self._pending = suggestion
        if not review.open_clip(clip):
            self._pending = None

    def _on_review_clip_opened(self, name: str) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and pending.clip == name:
            # after the event: the player puts a newly opened video on frame 0 once it has
            # announced it (PlayerWidget._on_worker_opened)
            QTimer.singleShot(0, lambda: self._show(pending))

    def _on_document_modified_changed(self, modified: bool) -> None:
        # a save (or undoing back to the saved state): rank again, decided proposals leave
        if not modified and self.review_next.isVisible() and self.parts.review.session is not None:
            self.review_next.refresh()

    def _show(self, suggestion: Suggestion) -> None:
        if suggestion.onset is None:
            self.parts.status.show(f"{suggestion.clip}: not scored yet; the model scores it now", 6000)
            return
        onset, offset = suggestion.onset, suggestion.offset
        context = max(25, int(ZOOM_CONTEXT * (offset - onset + 1)))
        self.parts.player.seek(onset)
        zoom = getattr(self.parts.timeline, "zoom_to", None)
        if zoom is not None:
            zoom(max(0, onset - context), offset + 1 + context)
        self.parts.status.show(f"{suggestion.clip}: {suggestion.describe()}", 6000)

    # ------------------------------------------------------------------ annotator
    def ask_annotator(self) -> bool:
        """Ask for the annotator's name; True when one is set afterwards."""
        try:
            self.annotator.ask(self.parts.host)
        except AnnotatorError as exc:
            self.parts.status.error("Annotator name", str(exc))
        return bool(self.annotator.name)

    def own_version_path(self) -> Path | None:
        """``<clip>.<annotator>.eaf`` of the open clip (asks for the name when not set)."""
        from meldae.review.annotators import annotator_eaf_path

        clip = self.parts.review.clip
        if clip is None or self.parts.review.session is None:
            self.parts.status.error("My version", "Open a clip first.")
            return None
        if not self.annotator.name and not self.ask_annotator():
            return None
        return annotator_eaf_path(clip.video_path.with_suffix(".eaf"), self.annotator.name)

    def save_own_version(self) -> Path | None:
        """Save the open clip as ``<clip>.<annotator>.eaf``; it becomes the session's file."""
        from meldae.annotations import AnnotationError

        path = self.own_version_path()
        if path is None:
            return None
        try:
            self.parts.review.session.save_to(path)
        except AnnotationError as exc:
            self.parts.status.error("Not saved", str(exc))
            return None
        self.parts.status.show(f"Saved {path.name}; Ctrl+S now saves to it", 5000)
        return path

    def open_own_version(self) -> bool:
        """Load ``<clip>.<annotator>.eaf`` into the open clip (one undoable step)."""
        from meldae.annotations import AnnotationError

        path = self.own_version_path()
        if path is None:
            return False
        if not path.is_file():
            self.parts.status.error("My version", f"{path.name} does not exist yet (save it first).")
            return False
        if self.parts.document.is_modified:
            self.parts.status.error("My version", "Save or undo the open clip's changes first.")
            return False
        try:
            self.parts.review.session.open_eaf(path)
        except AnnotationError as exc:
            self.parts.status.error("Cannot read your file", str(exc))
            return False
        return True

    def _on_annotator_changed(self, name: str) -> None:
        self.parts.document.annotator = name
        self.parts.status.show(f"Annotator: {name}", 4000)

    # ------------------------------------------------------------------ dialogs
    def open_agreement(self):
        """Open the agreement dialog, pre-filled with the project and its annotators."""
        from app.project_review.agreement_dialog import AgreementDialog
        from meldae.review.annotators import annotators_in

        project = self.parts.review.project
        folder = project.folder if project is not None else None
        names = annotators_in(folder, project.names) if project is not None else []
        dialog = AgreementDialog(folder, tuple(names[:2]) if len(names) >= 2 else None,
                                 self.parts.checkpoint(), self.parts.host)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._keep(dialog)
        dialog.show()
        return dialog

    def open_adjudication(self):
        """Open the adjudication view of the open clip (None when it cannot open)."""
        from app.project_review.adjudication_setup import open_adjudication

        view = open_adjudication(self.parts, self.annotator, self.ask_annotator)
        if view is not None:
            self._keep(view)
            view.show()
        return view

    def _keep(self, dialog) -> None:
        self.dialogs = [d for d in self.dialogs if _alive(d)] + [dialog]

    def shutdown(self) -> None:
        """Stop the docks' and dialogs' workers (window closing)."""
        self.review_next.shutdown()
        self.progress.shutdown()
        for dialog in self.dialogs:
            if _alive(dialog) and hasattr(dialog, "shutdown"):
                dialog.shutdown()


def _alive(obj) -> bool:
    try:
        obj.objectName()
    except RuntimeError:   # deleted on close
        return False
    return True
