"""Editing the speaking intervals (the EAF's ``Speaking`` tier) from the Review tab.

ELAN-style in/out marking at the playhead, every change one undo step
(``SetSpeakingCommand``):

==================  ==============================================================
S                   first press: the speaking interval starts at the playhead;
                    second press: it ends there (either order), merged with the
                    intervals it overlaps or touches
Shift+S             delete the speaking interval under the playhead
(Edit menu)         use the model's speaking intervals (the timeline's
                    "Speaking (model)" band) as the annotation: they keep
                    ``source=PREDICTED`` (the model proposed them, as in the files
                    ``meldae infer`` writes) and are marked accepted
==================  ==============================================================

The interval operations are plain functions in :mod:`meldae.annotations.speaking`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QUndoStack
from PySide6.QtWidgets import QWidget

from app.actions import window_action
from app.editing.commands import SetSpeakingCommand
from app.editing.document import AnnotationDocument
from meldae.annotations import Segment
from meldae.annotations.speaking import accept_intervals, add_interval, remove_at


class SpeakingEditor(QObject):
    """The speaking-interval actions of the Review tab.

    Args:
        document: the open clip's annotations.
        undo_stack: where every change goes.
        window: the window the shortcuts live in (``Qt.WindowShortcut``).
        playhead: returns the current frame.
        model_speaking: returns the model's proposed speaking intervals (the speaking runs of
            ``meldae.postprocess.Proposals``, drawn as the timeline's band).
        status: shows a message (the window's status bar).
    """

    def __init__(self, document: AnnotationDocument, undo_stack: QUndoStack, window: QWidget,
                 playhead: Callable[[], int], model_speaking: Callable[[], Sequence[Segment]],
                 status: Callable[[str, int], None]) -> None:
        super().__init__(window)
        self.document = document
        self.undo_stack = undo_stack
        self.playhead = playhead
        self.model_speaking = model_speaking
        self.status = status
        self.pending: int | None = None     # the in-point waiting for its out-point
        self.mark_action = self._action(window, "Speaking in/out", "S", self.mark,
                                        "Mark where speaking starts, then where it ends")
        self.delete_action = self._action(window, "Delete speaking interval", "Shift+S",
                                          self.delete_here,
                                          "Delete the speaking interval under the playhead")
        self.model_action = self._action(window, "Use the model's speaking intervals", "",
                                         self.use_model,
                                         "Replace the annotated speaking intervals by the "
                                         "model's (the 'Speaking (model)' band)")
        document.reset.connect(self._forget_pending)

    def actions(self) -> list[QAction]:
        """The actions, for the Edit menu."""
        return [self.mark_action, self.delete_action, self.model_action]

    def mark(self) -> None:
        """First press: remember the in-point; second press: add the interval."""
        frame = int(self.playhead())
        if self.pending is None:
            self.pending = frame
            self.status(f"Speaking from frame {frame}: go to where it ends and press S", 0)
            return
        onset, self.pending = self.pending, None
        self._apply(add_interval(self.document.speaking, onset, frame),
                    f"Mark speaking {min(onset, frame)}-{max(onset, frame)}")
        self.status(f"Speaking {min(onset, frame)}-{max(onset, frame)} marked", 5000)

    def delete_here(self) -> None:
        """Delete the interval under the playhead (says so when there is none)."""
        frame = int(self.playhead())
        remaining = remove_at(self.document.speaking, frame)
        if len(remaining) == len(self.document.speaking):
            self.status(f"No speaking interval at frame {frame}", 5000)
            return
        self._apply(remaining, "Delete speaking interval")

    def use_model(self) -> None:
        """Replace the annotated intervals by the model's, accepted (see ``accept_intervals``)."""
        proposed = self.model_speaking()
        if self.document.n_frames == 0:
            self.status("Open a clip first", 5000)
            return
        self._apply(accept_intervals(proposed), "Use the model's speaking intervals")
        self.status(f"{len(proposed)} speaking interval(s) from the model", 5000)

    def _apply(self, intervals: list[Segment], text: str) -> None:
        self.undo_stack.push(SetSpeakingCommand(self.document, intervals, text))

    def _forget_pending(self) -> None:
        self.pending = None

    def _action(self, window: QWidget, text: str, keys: str, slot, tip: str) -> QAction:
        action = window_action(window, text, keys, slot, tip)
        window.addAction(action)
        return action
