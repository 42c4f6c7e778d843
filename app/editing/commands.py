"""Undoable edits of an :class:`app.editing.document.AnnotationDocument`.

Every command holds the old and the new values and calls the document's mutators; new
values are stamped with the document's annotator (``AnnotationDocument.stamp``). Segments
are named by their id, which the document keeps through re-sorting and which undo restores
(a removed segment comes back with its id; an added one gets the same id on every redo).

Merging (``QUndoStack`` asks the newest command whether the next one merges into it):

- ``EditSegmentCommand`` with a ``merge_key`` merges a following edit with the same key whose
  old value is this command's new value: one mouse drag (key ``("drag", n)``) or one run of
  ``[``/``]`` nudges on the same edge (key ``("nudge", edge)``) is one undo step. A merged
  step that ends where it started becomes obsolete and leaves the stack.
- ``ReplacePredictionsCommand`` merges consecutive prediction replacements, so a model run
  that streams its results is one undo step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence

from PySide6.QtGui import QUndoCommand

from app.editing.document import AnnotationDocument
from meldae.annotations import ClipAnnotations, ReviewState, Segment, SegmentId

EDIT_SEGMENT_ID = 1001
REPLACE_PREDICTIONS_ID = 1002


def _span(seg: Segment) -> str:
    return f"{seg.onset}–{seg.offset}"


class AddSegmentCommand(QUndoCommand):
    """Add one segment; ``segment_id`` is its id (the same after undo and redo)."""

    def __init__(self, document: AnnotationDocument, segment: Segment, text: str = "") -> None:
        super().__init__(text or f"Add segment {_span(segment)}")
        document.validate(segment)
        self.document = document
        self.segment = document.stamp(segment)
        self.segment_id: SegmentId | None = None

    def redo(self) -> None:
        self.segment_id = self.document.insert_segment(self.segment, self.segment_id)

    def undo(self) -> None:
        self.document.remove_segment(self.segment_id)


class RemoveSegmentCommand(QUndoCommand):
    """Remove segment ``segment_id`` (undo brings it back with the same id)."""

    def __init__(self, document: AnnotationDocument, segment_id: SegmentId, text: str = "") -> None:
        self.segment = document.segment(segment_id)
        super().__init__(text or f"Delete segment {_span(self.segment)}")
        self.document = document
        self.segment_id = segment_id

    def redo(self) -> None:
        self.document.remove_segment(self.segment_id)

    def undo(self) -> None:
        self.document.insert_segment(self.segment, self.segment_id)


class EditSegmentCommand(QUndoCommand):
    """Give segment ``segment_id`` the value ``new``.

    Args:
        document: the document.
        segment_id: the segment's id.
        new: its new value.
        merge_key: edits with equal keys that follow each other merge (``None``: never).
        text: the undo text.
    """

    def __init__(
        self,
        document: AnnotationDocument,
        segment_id: SegmentId,
        new: Segment,
        merge_key: Hashable | None = None,
        text: str = "",
    ) -> None:
        self.old = document.segment(segment_id)
        super().__init__(text or f"Edit segment {_span(self.old)}")
        document.validate(new)
        self.document = document
        self.segment_id = segment_id
        self.new = document.stamp(new)
        self.merge_key = merge_key

    def id(self) -> int:  # noqa: A003 - Qt's name
        return EDIT_SEGMENT_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, EditSegmentCommand) or other.merge_key != self.merge_key:
            return False
        if other.segment_id != self.segment_id or other.old != self.new:
            return False
        self.new = other.new
        self.setObsolete(self.new == self.old)
        return True

    def redo(self) -> None:
        self.document.replace_segment(self.segment_id, self.new)

    def undo(self) -> None:
        self.document.replace_segment(self.segment_id, self.old)


class SetReviewCommand(EditSegmentCommand):
    """Set one segment's review state (accept / reject / back to unreviewed)."""

    def __init__(self, document: AnnotationDocument, segment_id: SegmentId,
                 review: ReviewState) -> None:
        old = document.segment(segment_id)
        verb = {ReviewState.ACCEPTED: "Accept", ReviewState.REJECTED: "Reject"}.get(
            review, "Unreview")
        super().__init__(document, segment_id, dataclasses.replace(old, review=review),
                         text=f"{verb} segment {_span(old)}")


class SetLabelCommand(EditSegmentCommand):
    """Set one segment's label."""

    def __init__(self, document: AnnotationDocument, segment_id: SegmentId, label: str) -> None:
        old = document.segment(segment_id)
        super().__init__(document, segment_id, dataclasses.replace(old, label=label),
                         text=f"Label segment {_span(old)} '{label}'")


class BulkReviewCommand(QUndoCommand):
    """Set the review state of several segments as one step."""

    def __init__(
        self, document: AnnotationDocument, segment_ids: Sequence[SegmentId],
        review: ReviewState, text: str = "",
    ) -> None:
        super().__init__(text or f"Set {len(segment_ids)} segments to {review.value}")
        self.document = document
        self.segment_ids = list(segment_ids)
        self.olds = [document.segment(sid) for sid in self.segment_ids]
        self.news = [document.stamp(dataclasses.replace(s, review=review)) for s in self.olds]

    def redo(self) -> None:
        for sid, new in zip(self.segment_ids, self.news):
            self.document.replace_segment(sid, new)

    def undo(self) -> None:
        for sid, old in zip(reversed(self.segment_ids), reversed(self.olds)):
            self.document.replace_segment(sid, old)


class SetSpeakingCommand(QUndoCommand):
    """Replace the speaking intervals."""

    def __init__(
        self, document: AnnotationDocument, speaking: Sequence[Segment], text: str = "Edit speaking"
    ) -> None:
        super().__init__(text)
        for seg in speaking:
            document.validate(seg)
        self.document = document
        self.old = list(document.speaking)
        self.new = [seg if seg in self.old else document.stamp(seg) for seg in speaking]

    def redo(self) -> None:
        self.document.set_speaking(self.new)

    def undo(self) -> None:
        self.document.set_speaking(self.old)


class ReplacePredictionsCommand(QUndoCommand):
    """Replace all ME segments (used to swap in a model's predictions).

    ``segments`` may hold ``(id, segment)`` pairs for segments that stay (they keep their
    ids) and bare segments for new ones (they get ids on the first redo, kept after).
    """

    def __init__(
        self, document: AnnotationDocument,
        segments: Sequence[Segment | tuple[SegmentId, Segment]],
        text: str = "Update predictions",
    ) -> None:
        super().__init__(text)
        for item in segments:
            document.validate(item[1] if isinstance(item, tuple) else item)
        self.document = document
        self.old = document.items()
        self.new: list = list(segments)

    def id(self) -> int:  # noqa: A003 - Qt's name
        return REPLACE_PREDICTIONS_ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, ReplacePredictionsCommand) or other.old != self.new:
            return False
        self.new = other.new
        self.setObsolete([s for _sid, s in self.new] == [s for _sid, s in self.old])
        return True

    def redo(self) -> None:
        self.document.set_segments(self.new)
        self.new = self.document.items()

    def undo(self) -> None:
        self.document.set_segments(self.old)


class LoadAnnotationsCommand(QUndoCommand):
    """Replace segments and speaking intervals by a loaded file's content, as one step."""

    def __init__(
        self, document: AnnotationDocument, annotations: ClipAnnotations, text: str = "Load"
    ) -> None:
        super().__init__(text)
        self.document = document
        self.old_segments = document.items()
        self.old_speaking = list(document.speaking)
        self.new_segments, self.new_speaking = document.fit(annotations)   # clamps like load()

    def redo(self) -> None:
        self.document.set_segments(self.new_segments)
        self.new_segments = self.document.items()
        self.document.set_speaking(self.new_speaking)

    def undo(self) -> None:
        self.document.set_segments(self.old_segments)
        self.document.set_speaking(self.old_speaking)
