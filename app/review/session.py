"""One open clip: its files, autosave and crash recovery, saving and opening ELAN files.

``ClipSession`` never loses work:

- Every document change (re)starts a single-shot timer (2 s by default); when it fires, and
  on ``flush()`` (the window calls it on close; the session also flushes when the
  application loses focus), the whole document is written as JSON to the autosave file
  ``<video>.meldae-autosave.json`` beside the clip (or where ``autosave_path`` says, e.g. the
  project's ``.meldae`` folder). Writes are atomic: a temporary file in the same folder,
  flushed and fsync'ed, then ``os.replace``. When the document is back at its saved state
  the autosave file is removed instead.
- An autosave found when a session starts means the app died with unsaved edits:
  ``has_recovery()`` is true, and the autosave is left untouched until the window decides
  (``offer_recovery(parent)`` asks with a dialog, then ``recover()`` or
  ``discard_recovery()``). ``recover()`` loads the edits as *modified* content, so the user
  still has to save them. Load the EAF into the document before recovering.
- ``save()`` writes the EAF (``meldae.annotations.save_eaf``: atomic, 3 backups, a JSON
  sidecar with review states and scores) and removes the autosave; ``maybe_close(parent)``
  asks Save / Discard / Cancel when there are unsaved changes.

``open_eaf(path)`` imports another EAF as one undoable "Load" step (nothing is lost: undo
brings the previous content back); the clip keeps its own file. ``save_as`` is an export
(annotator's tiers, optionally predictions and a score CSV) that never changes which file
the clip saves to; only ``save_to`` (Save As: an annotator's own version) does. Batch export
of a whole project lives in :mod:`meldae.project.export`.
"""

from __future__ import annotations

import datetime as _dt
import logging
from fractions import Fraction
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication, QUndoStack
from PySide6.QtWidgets import QMessageBox, QWidget

from app.editing.commands import LoadAnnotationsCommand
from app.editing.document import AnnotationDocument
from meldae.project import ClipReview
from meldae.annotations import (
    AnnotationError,
    ClipAnnotations,
    load_eaf,
    save_eaf,
    save_scores_csv,
)
from meldae.project.autosave import (
    default_autosave_path,
    keep_as_corrupt,
    read_autosave,
    write_autosave,
)
from meldae.timebase import as_fps

log = logging.getLogger(__name__)

def show_recovery_dialog(parent: QWidget | None, clip: str, saved_at: str) -> bool:
    """Ask whether to restore unsaved edits (monkeypatched in tests)."""
    answer = QMessageBox.question(
        parent, "Recover unsaved edits?",
        f"MELDAE Studio closed without saving your edits of {clip} (last autosave {saved_at}).\n"
        "Restore them? (No discards them.)",
        QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
    return answer == QMessageBox.Yes


def show_save_changes_dialog(parent: QWidget | None, clip: str) -> str:
    """Ask Save / Discard / Cancel; returns ``"save"``, ``"discard"`` or ``"cancel"``."""
    answer = QMessageBox.question(
        parent, "Unsaved changes", f"Save your changes to {clip}?",
        QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Save)
    return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(answer, "cancel")


def show_train_unsaved_dialog(parent: QWidget | None, clip: str) -> str:
    """Ask Save / Train without them / Cancel before training; returns ``"save"``,
    ``"ignore"`` or ``"cancel"`` (monkeypatched in tests)."""
    box = QMessageBox(QMessageBox.Icon.Question, "Unsaved edits",
                      f"{clip} has unsaved edits. Training reads the saved EAF files, so it "
                      "would not see them.\nSave them first?", parent=parent)
    save = box.addButton("Save and train", QMessageBox.ButtonRole.AcceptRole)
    ignore = box.addButton("Train without them", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(save)
    box.exec()
    return {id(save): "save", id(ignore): "ignore"}.get(id(box.clickedButton()), "cancel")


def confirm_save_before_training(session: ClipSession | None, parent: QWidget | None) -> bool:
    """Before training (which reads the saved EAFs): offer to save ``session``'s unsaved
    edits; False when the user cancels (or the save failed)."""
    if session is None or not session.document.is_modified:
        return True
    answer = show_train_unsaved_dialog(parent, session.video_path.name)
    if answer == "cancel":
        return False
    return answer != "save" or session.save_or_report(parent)


def show_error_dialog(parent: QWidget | None, title: str, message: str) -> None:
    """Tell the user an operation failed (monkeypatched in tests)."""
    QMessageBox.critical(parent, title, message)


class ClipSession(QObject):
    """The open clip's files, autosave, recovery and saving.

    Args:
        video_path: the video.
        eaf_path: its EAF (``None``: ``<video stem>.eaf`` beside it, written on save).
        fps: the video's frame rate (``Fraction`` preferred).
        n_frames: frames in the video.
        document: the clip's document (already loaded from the EAF, if any).
        parent: Qt parent.
        undo_stack: cleared on recovery; "Load" steps are pushed on it (when given). Whether
            there are unsaved edits is the document's ``is_modified`` alone.
        autosave_path: where to autosave (default: beside the video).
        autosave_delay_ms: debounce delay after the last edit.
        project: a ``meldae.project.Project`` to keep informed (review, segment count, dates).
        clip_name: the clip's name in ``project``.
    """

    autosaved = Signal(str)        # path written (or removed when clean)
    autosave_failed = Signal(str)  # reason
    saved = Signal(str)            # EAF path

    def __init__(self, video_path: str | Path, eaf_path: str | Path | None, fps, n_frames: int,
                 document: AnnotationDocument, parent: QObject | None = None, *,
                 undo_stack: QUndoStack | None = None, autosave_path: str | Path | None = None,
                 autosave_delay_ms: int = 2000, project=None, clip_name: str | None = None) -> None:
        super().__init__(parent)
        self.video_path = Path(video_path)
        self.eaf_path = Path(eaf_path) if eaf_path else self.video_path.with_suffix(".eaf")
        self.fps: Fraction = as_fps(fps)
        self.n_frames = int(n_frames)
        self.document = document
        self.undo_stack = undo_stack
        self.autosave_path = Path(autosave_path) if autosave_path else default_autosave_path(video_path)
        self.project = project
        self.clip_name = clip_name or self.video_path.stem
        self._recovery_pending = self.autosave_path.exists()
        self._closed = False
        self.refuse_save: str | None = None   # why ``save`` must not write the clip's EAF
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(autosave_delay_ms))
        self._timer.timeout.connect(self.autosave_now)
        for signal in (document.segment_added, document.segment_changed, document.segment_removed):
            signal.connect(self._on_document_changed)
        for signal in (document.speaking_changed, document.reset):
            signal.connect(self._on_document_changed)
        document.clip_review_changed.connect(self._on_document_clip_review_changed)
        app = QGuiApplication.instance()
        if app is not None:
            app.applicationStateChanged.connect(self._on_application_state_changed)
        if project is not None:
            self._sync_project_review()

    # ----------------------------------------------------------------- autosave
    @property
    def autosave_pending(self) -> bool:
        """Whether an autosave is scheduled but not yet written."""
        return self._timer.isActive()

    @Slot()
    def _on_document_changed(self, *_args: object) -> None:
        if not self._closed:
            self._timer.start()

    @Slot()
    def flush(self) -> None:
        """Write a scheduled autosave now (on focus loss and before closing)."""
        if self._timer.isActive():
            self._timer.stop()
            self.autosave_now()

    @Slot()
    def autosave_now(self) -> bool:
        """Autosave the document (or remove the autosave when clean); returns success."""
        if self._recovery_pending:
            log.info("%s: not autosaving while an older autosave awaits recovery", self.autosave_path)
            return False
        try:
            if self.document.is_modified:
                write_autosave(self.autosave_path, self.video_path, self.eaf_path, self.fps,
                               self.n_frames, _now(), self.document.annotations(),
                               self.document.clip_review)
            else:
                self.autosave_path.unlink(missing_ok=True)
        except OSError as exc:
            reason = f"{self.autosave_path}: autosave failed ({exc.strerror or exc})"
            log.warning(reason)
            self.autosave_failed.emit(reason)
            return False
        self.autosaved.emit(str(self.autosave_path))
        return True

    @Slot(Qt.ApplicationState)
    def _on_application_state_changed(self, state: Qt.ApplicationState) -> None:
        if state != Qt.ApplicationActive:
            self.flush()

    # ----------------------------------------------------------------- recovery
    def has_recovery(self) -> bool:
        """Whether an autosave from an earlier, unsaved run is waiting to be recovered."""
        return self._recovery_pending and self.autosave_path.exists()

    def ask_recovery(self, parent: QWidget | None = None) -> bool:
        """Ask the user whether to restore the autosaved edits (does not act)."""
        try:
            saved_at = read_autosave(self.autosave_path)[2].get("saved_at", "?")
        except ValueError:
            saved_at = "unreadable"
        return show_recovery_dialog(parent, self.video_path.name, saved_at)

    def offer_recovery(self, parent: QWidget | None = None) -> bool:
        """If there is a recovery, ask, then recover or discard; returns whether recovered."""
        if not self.has_recovery():
            return False
        if self.ask_recovery(parent):
            return self.recover()
        self.discard_recovery()
        return False

    def recover(self) -> bool:
        """Load the autosaved edits into the document as unsaved changes.

        Returns:
            ``False`` when the autosave is unreadable (it is then kept as ``*.corrupt``).
        """
        try:
            ann, review, _payload = read_autosave(self.autosave_path)
        except ValueError as exc:
            log.warning("%s", exc)
            self._recovery_pending = False
            keep_as_corrupt(self.autosave_path)
            return False
        self._recovery_pending = False
        self.document.load(ann, self.n_frames, mark_clean=False)
        self.document.set_clip_review(review)
        if self.undo_stack is not None:
            self.undo_stack.clear()
        self._timer.stop()
        log.info("recovered unsaved edits of %s from %s", self.video_path.name, self.autosave_path)
        return True

    def discard_recovery(self) -> None:
        """Delete the autosave (the edits in it are lost)."""
        self._recovery_pending = False
        self.autosave_path.unlink(missing_ok=True)

    # ------------------------------------------------------------------- saving
    def save(self) -> Path:
        """Write the whole document to the session's EAF and remove the autosave.

        Raises:
            AnnotationError: the file cannot be written (the autosave is kept), or saving is
                refused (``refuse_save``: a damaged file that could not be kept aside).
        """
        if self.refuse_save:
            raise AnnotationError(f"{self.eaf_path}: not saved over: {self.refuse_save} "
                                  "(use Export EAF… to write your work elsewhere)")
        save_eaf(self.document.annotations(), self.eaf_path, self.fps, media_path=self.video_path,
                 backups=3, annotator=self.document.annotator)
        self._mark_saved()
        return self.eaf_path

    def save_or_report(self, parent: QWidget | None) -> bool:
        """:meth:`save`, telling the user when it fails; returns whether it saved."""
        try:
            self.save()
        except AnnotationError as exc:
            show_error_dialog(parent, "Save failed", str(exc))
            return False
        return True

    def save_to(self, path: str | Path) -> Path:
        """Save As ``path`` (e.g. ``<clip>.<annotator>.eaf``), the clip's file from now on."""
        self.eaf_path, self.refuse_save = Path(path), None
        return self.save()

    def save_as(self, path: str | Path, include_predicted: bool = False, include_scores: bool = False,
                loc_scores: np.ndarray | None = None, state_scores: np.ndarray | None = None) -> Path:
        """Write the annotator's tiers (and optionally predictions and scores) to ``path``.

        Args:
            path: the EAF to write.
            include_predicted: also write predicted segments not accepted (predicted tiers).
            include_scores: also write ``<stem>.scores.csv`` beside it and link it.
            loc_scores, state_scores: per-frame scores (``loc_scores`` needed with ``include_scores``).

        Raises:
            ValueError: ``include_scores`` without ``loc_scores``, or ``path`` is the clip's
                own EAF (an export must not replace it behind the autosave's back).
            AnnotationError: the file cannot be written.
        """
        path = Path(path)
        ann = self.document.annotations()
        if not include_predicted:
            ann = ClipAnnotations(ann.confirmed_segments(), ann.confirmed_speaking(), ann.review,
                                  ann.vocabulary)
        scores_csv = None
        if include_scores:
            if loc_scores is None:
                raise ValueError("include_scores needs loc_scores")
            scores_csv = path.with_name(f"{path.stem}.scores.csv")
            save_scores_csv(scores_csv, np.asarray(loc_scores),
                            None if state_scores is None else np.asarray(state_scores), self.fps)
        if path.resolve() == self.eaf_path.resolve():
            raise ValueError(f"{path} is this clip's own file: use Save (Ctrl+S), not Export")
        save_eaf(ann, path, self.fps, media_path=self.video_path, scores_csv=scores_csv, backups=3,
                 annotator=self.document.annotator)
        return path

    def open_eaf(self, path: str | Path) -> None:
        """Import ``path`` into the document (one undoable "Load" step); the clip keeps
        saving to its own EAF, so the imported content is an unsaved edit.

        Raises:
            AnnotationError: the file cannot be read; the document is unchanged.
        """
        path = Path(path)
        ann = load_eaf(path, self.fps)
        if self.undo_stack is not None:
            self.undo_stack.push(LoadAnnotationsCommand(self.document, ann, text=f"Load {path.name}"))
        else:
            self.document.load(ann, self.n_frames, mark_clean=False)
        self._timer.start()

    def _mark_saved(self) -> None:
        self.document.set_clean()
        self._timer.stop()
        self._recovery_pending = False
        self.autosave_path.unlink(missing_ok=True)
        self._update_project(modified_at=_now())
        self.saved.emit(str(self.eaf_path))

    def _update_project(self, **changes: object) -> None:
        if self.project is None:
            return
        confirmed = sum(1 for s in self.document.segments if s.confirmed)
        try:
            self.project.update(self.clip_name, review=self.document.clip_review,
                                segments=confirmed, **changes)
        except KeyError:
            log.warning("clip %s is not in the project; project state not updated", self.clip_name)

    def _sync_project_review(self) -> None:
        """The project remembers "in progress", which an EAF cannot hold: it wins when set."""
        try:
            remembered = self.project.state(self.clip_name).review
        except KeyError:
            remembered = ClipReview.UNREVIEWED
        if remembered != ClipReview.UNREVIEWED:
            self.document.set_clip_review(remembered)
        self._update_project()

    @Slot()
    def _on_document_clip_review_changed(self) -> None:
        self._update_project()

    # ------------------------------------------------------------------ closing
    def maybe_close(self, parent: QWidget | None = None) -> bool:
        """Ask about unsaved changes; returns whether the clip may close."""
        if self.document.is_modified:
            answer = show_save_changes_dialog(parent, self.video_path.name)
            if answer == "cancel":
                return False
            if answer == "save":
                if not self.save_or_report(parent):
                    return False
            else:
                self._timer.stop()  # or close() would write the discarded edits again
                self.discard_recovery()
        elif not self._recovery_pending:
            self.autosave_path.unlink(missing_ok=True)
        self.close()
        return True

    def close(self) -> None:
        """Stop autosaving (writing a scheduled autosave first) and detach from the document."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        doc = self.document
        for signal in (doc.segment_added, doc.segment_changed, doc.segment_removed,
                       doc.speaking_changed, doc.reset):
            signal.disconnect(self._on_document_changed)
        doc.clip_review_changed.disconnect(self._on_document_clip_review_changed)
        app = QGuiApplication.instance()
        if app is not None:
            app.applicationStateChanged.disconnect(self._on_application_state_changed)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
