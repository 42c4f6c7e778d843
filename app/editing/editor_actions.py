"""The QActions (menu entries and keyboard shortcuts) of a :class:`app.editing.editor.SegmentEditor`.

Built by the window as ``EditingActions(editor, window, playhead)`` (the editor
knows nothing of its actions). Every action is added to the
window with ``Qt.WindowShortcut`` context, has a tooltip naming its shortcut, and is disabled
when it cannot apply, its status tip then saying why. Keys:

==================  ==========================================================
I / O               onset / offset at the playhead (see ``app.editing.editor``)
[ / ]               nudge the active edge by -1 / +1 frame
Shift+[ / Shift+]   nudge the other edge (``{`` / ``}`` work too)
Delete              delete the selected segment
Alt+Left/Right      previous / next segment: select it and seek to its onset
A / R               accept / reject the selected segment (else the one under the playhead)
L                   label the selected segment (with a completer of labels in use)
Esc                 clear the selection and a pending onset
N / Shift+N         next / previous unreviewed proposal (select it, go to its onset)
Shift+A / Shift+R   accept / reject, then go to the next unreviewed proposal
P                   apex of the selected segment (else the one there) at the playhead
Ctrl+Shift+A / R    accept / reject unreviewed proposals by their stored score (asks the
                    cutoff, showing how many it picks)
Ctrl+D              toggle "clip review done"
Ctrl+Z              undo; Ctrl+Shift+Z or Ctrl+Y: redo
==================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from meldae.project import ClipReview
from meldae.annotations import ReviewState, Source

if TYPE_CHECKING:
    from app.editing.editor import SegmentEditor


def ask_label(parent: QWidget, current: str, editor: SegmentEditor) -> str | None:
    """Ask for a segment label with a completer of labels in use; ``None`` when cancelled.

    Tests monkeypatch this function.
    """
    dialog = QInputDialog(parent)
    dialog.setWindowTitle("Segment label")
    dialog.setLabelText("Label (e.g. micro:disgust):")
    dialog.setInputMode(QInputDialog.TextInput)
    dialog.setTextValue(current)
    line_edit = dialog.findChild(QLineEdit)
    if line_edit is not None:
        line_edit.setCompleter(editor.completer(line_edit))
    accepted = dialog.exec() == QInputDialog.Accepted
    text = dialog.textValue()
    dialog.deleteLater()
    return text if accepted else None


class EditingActions(QObject):
    """Creates the editing actions on ``window`` and keeps their enabled state current.

    Args:
        editor: the editor the actions drive.
        window: the window the shortcuts live in.
        playhead: returns the current frame.
    """

    def __init__(
        self,
        editor: SegmentEditor,
        window: QWidget,
        playhead: Callable[[], int],
    ) -> None:
        super().__init__(window)
        self.editor = editor
        self.window = window
        self.playhead = playhead
        self.actions: dict[str, QAction] = {}
        self._tips: dict[str, str] = {}
        self._build()
        doc, stack = editor.document, editor.undo_stack
        for signal in (editor.selection_changed, editor.pending_onset_changed,
                       doc.segment_added, doc.segment_removed, doc.segment_changed,
                       stack.indexChanged, stack.cleanChanged):
            signal.connect(self.update)
        doc.reset.connect(self.update)
        doc.clip_review_changed.connect(self.update)
        self.update()

    def _build(self) -> None:
        ed = self.editor
        specs: list[tuple[str, str, tuple[str, ...], str, Callable[[], object]]] = [
            ("set_onset", "Set onset", ("I",),
             "Onset at the playhead (starts a segment when none is selected)",
             lambda: ed.set_onset(self.playhead())),
            ("set_offset", "Set offset", ("O",), "Offset at the playhead (closes a pending onset)",
             lambda: ed.set_offset(self.playhead())),
            ("nudge_back", "Nudge edge earlier", ("[",), "Move the active edge one frame earlier",
             lambda: ed.nudge(-1)),
            ("nudge_forward", "Nudge edge later", ("]",), "Move the active edge one frame later",
             lambda: ed.nudge(+1)),
            ("nudge_other_back", "Nudge other edge earlier", ("Shift+[", "{"),
             "Move the other edge one frame earlier", lambda: ed.nudge(-1, "other")),
            ("nudge_other_forward", "Nudge other edge later", ("Shift+]", "}"),
             "Move the other edge one frame later", lambda: ed.nudge(+1, "other")),
            ("delete", "Delete segment", ("Delete",), "Delete the selected segment",
             ed.delete_selected),
            ("previous_segment", "Previous segment", ("Alt+Left",),
             "Select the previous segment and go to its onset", lambda: ed.go_previous(self.playhead())),
            ("next_segment", "Next segment", ("Alt+Right",),
             "Select the next segment and go to its onset", lambda: ed.go_next(self.playhead())),
            ("accept", "Accept segment", ("A",), "Accept the selected segment (else the one at the playhead)",
             lambda: ed.accept(self._target())),
            ("reject", "Reject segment", ("R",), "Reject the selected segment (else the one at the playhead)",
             lambda: ed.reject(self._target())),
            ("label", "Label segment…", ("L",), "Set the selected segment's label", self._label),
            ("deselect", "Clear selection", ("Esc",), "Clear the selection and a pending onset", ed.clear),
            ("clip_done", "Clip review done", ("Ctrl+D",), "Mark this clip's review as done",
             self._toggle_done),
            ("undo", "Undo", ("Ctrl+Z",), "Undo the last edit", ed.undo_stack.undo),
            ("redo", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo the last undone edit", ed.undo_stack.redo),
        ]
        specs += [
            ("next_unreviewed", "Next unreviewed proposal", ("N",),
             "Select the next proposal still to accept or reject and go to it",
             lambda: ed.go_unreviewed(+1, self.playhead())),
            ("previous_unreviewed", "Previous unreviewed proposal", ("Shift+N",),
             "Select the previous proposal still to accept or reject and go to it",
             lambda: ed.go_unreviewed(-1, self.playhead())),
            ("accept_next", "Accept and next", ("Shift+A",),
             "Accept the selected segment, then go to the next unreviewed proposal",
             lambda: ed.review_and_next(ReviewState.ACCEPTED, self.playhead())),
            ("reject_next", "Reject and next", ("Shift+R",),
             "Reject the selected segment, then go to the next unreviewed proposal",
             lambda: ed.review_and_next(ReviewState.REJECTED, self.playhead())),
            ("set_apex", "Set apex", ("P",),
             "Apex of the selected segment (else the one under the playhead) at the playhead",
             lambda: ed.set_apex(self.playhead())),
            ("accept_above", "Accept proposals by score…", ("Ctrl+Shift+A",),
             "Accept every unreviewed proposal whose stored score is at least a cutoff",
             lambda: self._bulk(True)),
            ("reject_below", "Reject proposals by score…", ("Ctrl+Shift+R",),
             "Reject every unreviewed proposal whose stored score is below a cutoff",
             lambda: self._bulk(False)),
        ]
        for name, text, keys, tip, slot in specs:
            self._add(name, text, keys, tip, slot)
        self.actions["clip_done"].setCheckable(True)

    def _add(self, name: str, text: str, keys: tuple[str, ...], tip: str,
             slot: Callable[[], object]) -> None:
        action = QAction(text, self.window)
        action.setObjectName(f"edit_{name}")
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.WindowShortcut)
        readable = QKeySequence(keys[0]).toString(QKeySequence.NativeText)
        action.setToolTip(f"{text} ({readable})")
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False, fn=slot: fn())
        self.window.addAction(action)
        self.actions[name] = action
        self._tips[name] = tip

    def _target(self) -> int:
        if self.editor.selected >= 0:
            return self.editor.selected
        index = self.editor.document.segment_at(self.playhead())
        return -1 if index is None else index

    def _label(self) -> None:
        index = self.editor.selected
        if index < 0:
            return
        text = ask_label(self.window, self.editor.document.segment(index).label, self.editor)
        if text is not None:
            self.editor.set_label(self.editor.selected, text)

    def _bulk(self, at_least: bool) -> None:
        from app.editing import score_cutoff
        from meldae.review import proposal_scores

        scores = proposal_scores(self.editor.document.items())
        cutoff = score_cutoff.ask_score_cutoff(self.window, scores, at_least)
        if cutoff is not None:
            (self.editor.accept_above if at_least else self.editor.reject_below)(cutoff)

    def _toggle_done(self) -> None:
        self.editor.set_clip_done(self.editor.document.clip_review != ClipReview.DONE)

    def _why_disabled(self) -> dict[str, str | None]:
        """For every action: ``None`` when it applies, else the reason it does not."""
        ed, doc, stack = self.editor, self.editor.document, self.editor.undo_stack
        selected = None if ed.selected >= 0 else "Select a segment first (click it or Alt+Left/Right)"
        empty = None if len(doc) else "This clip has no segments yet"
        pending = any(s.source == Source.PREDICTED and s.review == ReviewState.UNREVIEWED
                      for s in doc.segments)
        return {
            "set_onset": None,
            "set_offset": None if ed.selected >= 0 or ed.pending_onset is not None
            else "Press I at the onset first, or select a segment",
            "nudge_back": selected, "nudge_forward": selected,
            "nudge_other_back": selected, "nudge_other_forward": selected,
            "delete": selected, "label": selected,
            "previous_segment": empty, "next_segment": empty,
            "accept": empty, "reject": empty,
            "deselect": None if ed.selected >= 0 or ed.pending_onset is not None else "Nothing is selected",
            "clip_done": None,
            "undo": None if stack.canUndo() else "Nothing to undo",
            "redo": None if stack.canRedo() else "Nothing to redo",
            "accept_above": None if pending else "No unreviewed proposals",
            "reject_below": None if pending else "No unreviewed proposals",
            "next_unreviewed": None if pending else "No unreviewed proposals",
            "previous_unreviewed": None if pending else "No unreviewed proposals",
            "accept_next": empty, "reject_next": empty, "set_apex": empty,
        }

    def update(self, *_args: object) -> None:
        """Refresh enabled states, status tips and the undo/redo texts."""
        for name, why in self._why_disabled().items():
            action = self.actions.get(name)
            if action is None:
                continue
            action.setEnabled(why is None)
            action.setStatusTip(self._tips[name] if why is None else why)
        stack = self.editor.undo_stack
        if stack.canUndo():
            self.actions["undo"].setStatusTip(f"Undo: {stack.undoText()}")
        if stack.canRedo():
            self.actions["redo"].setStatusTip(f"Redo: {stack.redoText()}")
        self.actions["clip_done"].setChecked(self.editor.document.clip_review == ClipReview.DONE)
