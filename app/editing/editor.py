"""Segment editing: selection, mouse and key edits, review and labels, as undoable commands.

``SegmentEditor`` turns intents (a timeline drag, a key press) into ``app.editing.commands`` pushed
on a ``QUndoStack``; it never changes the document directly (the clip's review progress,
project state, aside).

Behaviour worth knowing:

- The selection is a segment id (``-1``: none), held here and nowhere else: the timeline
  only draws what ``selection_changed`` tells it. An id survives re-sorting and undo, so
  nothing follows positions; the selection clears when its segment is removed or the
  document is reset.
- Drags: ``on_segment_edit_requested`` may be called many times per drag; all calls up to
  the one with ``finished=True`` merge into one undo step.
- Editing a predicted, unreviewed segment (drag, I/O, nudge) accepts it: the annotator's
  correction confirms it.
- I / O: with a segment selected they move its onset / offset to the playhead (refused, with a
  status message, when that would put the onset after the offset). With nothing selected, I
  starts a pending onset and O closes it into a new manual segment, which becomes selected
  (so ``[``/``]`` can fix it at once); Esc clears selection and pending onset.
- Nudges: ``[`` / ``]`` move the *active edge* (the edge last set by I, O or a one-edge drag;
  the onset at first) by -1 / +1 frame; with Shift they move the other edge. Consecutive
  nudges of the same edge of the same segment merge into one undo step.
- Accept / reject (A / R) act on the selected segment, else on the one under the playhead.
  ``accept_above`` / ``reject_below`` only touch predicted segments still unreviewed, picked
  by their stored score against a cutoff the annotator chooses.
- The review loop: ``go_unreviewed`` (N / Shift+N) visits only unreviewed proposals;
  ``review_and_next`` (Shift+A / Shift+R) decides and moves on; ``set_apex`` (P) puts the
  apex at the playhead (see ``app.editing.review_ops``).
- ``set_predictions`` replaces the predicted, unreviewed segments by a model's new ones and
  keeps manual and reviewed segments; a new prediction that overlaps a kept segment with
  IoU >= 0.5 is dropped as a duplicate. It is undoable, but consecutive calls (a streaming
  model run, or re-running the model) merge into a single undo step, so the stack is never
  flooded.
- The clip's review progress goes from unreviewed to in progress on the first edit;
  ``set_clip_done`` marks it done (or back to in progress).
"""

from __future__ import annotations

import dataclasses
import itertools

from PySide6.QtCore import QObject, QStringListModel, Qt, Signal, Slot
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QCompleter

from app.editing.commands import (
    AddSegmentCommand,
    EditSegmentCommand,
    RemoveSegmentCommand,
)
from app.editing.document import AnnotationDocument
from meldae.project import ClipReview
from app.editing.review_ops import ReviewOperations
from meldae.annotations import NO_SEGMENT, ReviewState, Segment, SegmentId, Source

ONSET, OFFSET = "onset", "offset"
class SegmentEditor(ReviewOperations, QObject):
    """Edits of one ``AnnotationDocument`` through a ``QUndoStack``.

    Args:
        document: the document edited.
        undo_stack: where every edit is pushed.
        parent: Qt parent.
    """

    selection_changed = Signal(int)
    seek_requested = Signal(int)
    status_message = Signal(str)
    pending_onset_changed = Signal(int)  # -1: none

    def __init__(
        self, document: AnnotationDocument, undo_stack: QUndoStack, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.undo_stack = undo_stack
        self._selected = -1
        self._pending_onset: int | None = None
        self._active_edge = ONSET
        self._drag_tokens = itertools.count(1)
        self._drag_token: int | None = None  # the merge key of the drag under way
        self.label_model = QStringListModel(self)
        document.segment_removed.connect(self._on_document_segment_removed)
        document.reset.connect(self._on_document_reset)
        document.vocabulary_changed.connect(self._refresh_labels)
        undo_stack.indexChanged.connect(self._on_undo_stack_index_changed)
        self._refresh_labels()

    # --------------------------------------------------------------- properties
    @property
    def selected(self) -> SegmentId:
        """Id of the selected segment, ``-1`` when none."""
        return self._selected

    @property
    def pending_onset(self) -> int | None:
        """The onset set by I while nothing was selected, waiting for O."""
        return self._pending_onset

    @property
    def active_edge(self) -> str:
        """``"onset"`` or ``"offset"``: the edge ``[`` and ``]`` move."""
        return self._active_edge

    def completer(self, parent: QObject | None = None) -> QCompleter:
        """A completer over the labels used so far (updated as labels are set)."""
        completer = QCompleter(self.label_model, parent)
        completer.setCaseSensitivity(Qt.CaseInsensitive)
        return completer

    # --------------------------------------------------------------- selection
    @Slot(int)
    def select(self, segment_id: SegmentId) -> None:
        """Select segment ``segment_id`` (``-1``: clear); also drops a pending onset."""
        if segment_id != NO_SEGMENT and segment_id not in self.document:
            raise KeyError(f"no segment with id {segment_id}")
        self._set_pending(None)
        self._set_selected(segment_id)

    def clear(self) -> None:
        """Clear the selection and any pending onset (Esc)."""
        self.select(-1)

    @Slot(int)
    def go_next(self, frame: int) -> SegmentId | None:
        """Select the first segment starting after ``frame`` and request a seek to it."""
        return self._go(self.document.next_segment(frame), f"No segment after frame {frame}")

    @Slot(int)
    def go_previous(self, frame: int) -> SegmentId | None:
        """Select the last segment starting before ``frame`` and request a seek to it."""
        return self._go(self.document.previous_segment(frame), f"No segment before frame {frame}")

    def _go(self, segment_id: SegmentId | None, message: str) -> SegmentId | None:
        if segment_id is None:
            self.status_message.emit(message)
            return None
        self.select(segment_id)
        self.seek_requested.emit(self.document.segment(segment_id).onset)
        return segment_id

    # ------------------------------------------------------------- mouse edits
    @Slot(int, int, int, bool)
    def on_segment_edit_requested(self, segment_id: SegmentId, onset: int, offset: int,
                                  finished: bool) -> None:
        """Move or resize a segment (one drag, ended by ``finished``, is one step)."""
        if self._drag_token is None:
            self._drag_token = next(self._drag_tokens)
        token = self._drag_token
        if finished:
            self._drag_token = None
        if segment_id not in self.document:
            self.status_message.emit(f"No segment {segment_id} to edit")
            return
        old = self.document.segment(segment_id)
        onset, offset = self.document.clamp(onset, offset)
        if (onset != old.onset) != (offset != old.offset):
            self._active_edge = ONSET if onset != old.onset else OFFSET
        text = "Move segment" if old.n_frames == offset - onset + 1 else "Resize segment"
        self._edit(segment_id, onset, offset, ("drag", token), text)

    @Slot(int, int)
    def on_segment_create_requested(self, onset: int, offset: int) -> SegmentId:
        """Add a manual segment and select it; returns its id."""
        onset, offset = self.document.clamp(onset, offset)
        command = AddSegmentCommand(self.document, Segment(onset, offset, source=Source.MANUAL))
        self.undo_stack.push(command)
        self.select(command.segment_id)
        self.status_message.emit(f"Added segment {onset}–{offset}")
        return command.segment_id

    # --------------------------------------------------------------- key edits
    @Slot(int)
    def set_onset(self, frame: int) -> None:
        """I: move the selected segment's onset here, or start a pending onset."""
        frame = self.document.clamp(frame, frame)[0]
        if self._selected < 0:
            self._set_pending(frame)
            self.status_message.emit(f"Onset at frame {frame}: press O at the offset")
            return
        seg = self.document.segment(self._selected)
        if frame > seg.offset:
            self.status_message.emit(
                f"Onset {frame} would be after the offset {seg.offset}: move the offset first")
            return
        self._active_edge = ONSET
        self._edit(self._selected, frame, seg.offset, None, "Set onset")

    @Slot(int)
    def set_offset(self, frame: int) -> None:
        """O: move the selected segment's offset here, or close the pending onset."""
        frame = self.document.clamp(frame, frame)[0]
        if self._selected >= 0:
            seg = self.document.segment(self._selected)
            if frame < seg.onset:
                self.status_message.emit(
                    f"Offset {frame} would be before the onset {seg.onset}: move the onset first")
                return
            self._active_edge = OFFSET
            self._edit(self._selected, seg.onset, frame, None, "Set offset")
        elif self._pending_onset is not None:
            onset = self._pending_onset
            self._set_pending(None)
            self._active_edge = OFFSET
            self.on_segment_create_requested(onset, frame)
        else:
            self.status_message.emit("Press I at the onset first, or select a segment")

    def nudge(self, delta: int, edge: str = "active") -> bool:
        """Move an edge of the selected segment by ``delta`` frames.

        Args:
            delta: frames to move (negative: earlier).
            edge: ``"active"``, ``"other"``, ``"onset"`` or ``"offset"``.

        Returns:
            Whether the segment changed.
        """
        if self._selected < 0:
            self.status_message.emit("Select a segment to nudge")
            return False
        other = OFFSET if self._active_edge == ONSET else ONSET
        edge = {"active": self._active_edge, "other": other}.get(edge, edge)
        if edge not in (ONSET, OFFSET):
            raise ValueError(f"edge must be active, other, onset or offset, got {edge!r}")
        seg = self.document.segment(self._selected)
        last = self.document.n_frames - 1 if self.document.n_frames > 0 else None
        if edge == ONSET:
            onset, offset = min(max(seg.onset + delta, 0), seg.offset), seg.offset
        else:
            hi = seg.offset + delta if last is None else min(seg.offset + delta, last)
            onset, offset = seg.onset, max(hi, seg.onset)
        if (onset, offset) == (seg.onset, seg.offset):
            self.status_message.emit(f"The {edge} cannot move further")
            return False
        self._edit(self._selected, onset, offset, ("nudge", edge), f"Nudge {edge}")
        return True

    @Slot()
    def delete_selected(self) -> bool:
        """Delete the selected segment; returns whether one was deleted."""
        if self._selected < 0:
            self.status_message.emit("Select a segment to delete")
            return False
        self.undo_stack.push(RemoveSegmentCommand(self.document, self._selected))
        return True

    # ------------------------------------------------------------- clip review
    def set_clip_done(self, done: bool = True) -> None:
        """Mark the clip's review done (or back in progress)."""
        self.document.set_clip_review(ClipReview.DONE if done else ClipReview.IN_PROGRESS)

    # ----------------------------------------------------------------- helpers
    def _edit(self, segment_id: SegmentId, onset: int, offset: int, merge_key, text: str) -> None:
        old = self.document.segment(segment_id)
        changes: dict[str, object] = {"onset": onset, "offset": offset}
        if old.apex is not None and not onset <= old.apex <= offset:
            changes["apex"] = None
        if old.source == Source.PREDICTED and old.review == ReviewState.UNREVIEWED:
            changes["review"] = ReviewState.ACCEPTED
        new = dataclasses.replace(old, **changes)
        if new == old:
            return
        self.undo_stack.push(EditSegmentCommand(self.document, segment_id, new,
                                                merge_key=merge_key, text=text))
        self._set_selected(segment_id)

    def _set_selected(self, segment_id: SegmentId) -> None:
        if segment_id != self._selected:
            self._selected = segment_id
            self.selection_changed.emit(segment_id)

    def _set_pending(self, frame: int | None) -> None:
        if frame != self._pending_onset:
            self._pending_onset = frame
            self.pending_onset_changed.emit(-1 if frame is None else frame)

    def _refresh_labels(self) -> None:
        # "Previous labels": everything used since the editor was made, also on other clips.
        labels = sorted(set(self.label_model.stringList()) | set(self.document.labels())
                        | set(self.document.vocabulary))
        if labels != self.label_model.stringList():
            self.label_model.setStringList(labels)

    @Slot(int)
    def _on_document_segment_removed(self, segment_id: SegmentId) -> None:
        if segment_id == self._selected:
            self._set_selected(NO_SEGMENT)

    @Slot()
    def _on_document_reset(self) -> None:
        self._drag_token = None
        if self._selected not in self.document:
            self._set_selected(NO_SEGMENT)
        self._refresh_labels()

    @Slot(int)
    def _on_undo_stack_index_changed(self, _index: int) -> None:
        self._refresh_labels()
        if self.document.is_modified and self.document.clip_review == ClipReview.UNREVIEWED:
            self.document.set_clip_review(ClipReview.IN_PROGRESS)

