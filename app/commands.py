"""Undoable edits of an :class:`app.document.AnnotationDocument`.

Every command holds the old and the new values and calls the document's mutators. Segments
are found by value (``document.index_of``) when a command runs, not by a stored index, so a
command stays correct whatever the index shifts the document went through in between.

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

from app.document import AnnotationDocument
from meldae.annotations import ClipAnnotations, ReviewState, Segment

EDIT_SEGMENT_ID = 1001
REPLACE_PREDICTIONS_ID = 1002


def _span(seg: Segment) -> str:
    return f"{seg.onset}–{seg.offset}"


class AddSegmentCommand(QUndoCommand):
    """Add one segment."""

    def __init__(self, document: AnnotationDocument, segment: Segment, text: str = "") -> None:
        super().__init__(text or f"Add segment {_span(segment)}")
        document.validate(segment)
        self.document = document
        self.segment = segment
        self.index = -1

    def redo(self) -> None:
        self.index = self.document.insert_segment(self.segment)

    def undo(self) -> None:
        self.document.remove_segment(self.document.index_of(self.segment))


class RemoveSegmentCommand(QUndoCommand):
    """Remove the segment at ``index``."""

    def __init__(self, document: AnnotationDocument, index: int, text: str = "") -> None:
        self.segment = document.segments[index]
        super().__init__(text or f"Delete segment {_span(self.segment)}")
        self.document = document

    def redo(self) -> None:
        self.document.remove_segment(self.document.index_of(self.segment))

    def undo(self) -> None:
        self.document.insert_segment(self.segment)


class EditSegmentCommand(QUndoCommand):
    """Replace the segment at ``index`` by ``new``; ``new_index`` is its index afterwards.

    Args:
        document: the document.
        index: the segment's current index.
        new: its new value.
        merge_key: edits with equal keys that follow each other merge (``None``: never).
        text: the undo text.
    """

    def __init__(
        self,
        document: AnnotationDocument,
        index: int,
        new: Segment,
        merge_key: Hashable | None = None,
        text: str = "",
    ) -> None:
        self.old = document.segments[index]
        super().__init__(text or f"Edit segment {_span(self.old)}")
        document.validate(new)
        self.document = document
        self.new = new
        self.merge_key = merge_key
        self.new_index = index

    def id(self) -> int:  # noqa: A003 - Qt's name
        return EDIT_SEGMENT_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, EditSegmentCommand) or other.merge_key != self.merge_key:
            return False
        if other.old != self.new:
            return False
        self.new = other.new
        self.new_index = other.new_index
        self.setObsolete(self.new == self.old)
        return True

    def redo(self) -> None:
        self.new_index = self.document.replace_segment(self.document.index_of(self.old), self.new)

    def undo(self) -> None:
        self.document.replace_segment(self.document.index_of(self.new), self.old)


class SetReviewCommand(EditSegmentCommand):
    """Set one segment's review state (accept / reject / back to unreviewed)."""

    def __init__(self, document: AnnotationDocument, index: int, review: ReviewState) -> None:
        old = document.segments[index]
        verb = {ReviewState.ACCEPTED: "Accept", ReviewState.REJECTED: "Reject"}.get(
            review, "Unreview")
        super().__init__(document, index, dataclasses.replace(old, review=review),
                         text=f"{verb} segment {_span(old)}")


class SetLabelCommand(EditSegmentCommand):
    """Set one segment's label."""

    def __init__(self, document: AnnotationDocument, index: int, label: str) -> None:
        old = document.segments[index]
        super().__init__(document, index, dataclasses.replace(old, label=label),
                         text=f"Label segment {_span(old)} '{label}'")


class BulkReviewCommand(QUndoCommand):
    """Set the review state of several segments as one step."""

    def __init__(
        self, document: AnnotationDocument, indices: Sequence[int], review: ReviewState,
        text: str = "",
    ) -> None:
        super().__init__(text or f"Set {len(indices)} segments to {review.value}")
        self.document = document
        self.olds = [document.segments[i] for i in indices]
        self.news = [dataclasses.replace(s, review=review) for s in self.olds]

    def redo(self) -> None:
        for old, new in zip(self.olds, self.news):
            self.document.replace_segment(self.document.index_of(old), new)

    def undo(self) -> None:
        for old, new in zip(reversed(self.olds), reversed(self.news)):
            self.document.replace_segment(self.document.index_of(new), old)


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
        self.new = list(speaking)

    def redo(self) -> None:
        self.document.set_speaking(self.new)

    def undo(self) -> None:
        self.document.set_speaking(self.old)


class ReplacePredictionsCommand(QUndoCommand):
    """Replace all ME segments by ``segments`` (used to swap in a model's predictions)."""

    def __init__(
        self, document: AnnotationDocument, segments: Sequence[Segment],
        text: str = "Update predictions",
    ) -> None:
        super().__init__(text)
        for seg in segments:
            document.validate(seg)
        self.document = document
        self.old = list(document.segments)
        self.new = list(segments)

    def id(self) -> int:  # noqa: A003 - Qt's name
        return REPLACE_PREDICTIONS_ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, ReplacePredictionsCommand) or other.old != self.new:
            return False
        self.new = other.new
        self.setObsolete(self.new == self.old)
        return True

    def redo(self) -> None:
        self.document.set_segments(self.new)

    def undo(self) -> None:
        self.document.set_segments(self.old)


class LoadAnnotationsCommand(QUndoCommand):
    """Replace segments and speaking intervals by a loaded file's content, as one step."""

    def __init__(
        self, document: AnnotationDocument, annotations: ClipAnnotations, text: str = "Load"
    ) -> None:
        super().__init__(text)
        self.document = document
        self.old_segments = list(document.segments)
        self.old_speaking = list(document.speaking)
        fitted = AnnotationDocument(annotations, document.n_frames)  # clamps like load()
        self.new_segments = list(fitted.segments)
        self.new_speaking = list(fitted.speaking)
        fitted.deleteLater()

    def redo(self) -> None:
        self.document.set_segments(self.new_segments)
        self.document.set_speaking(self.new_speaking)

    def undo(self) -> None:
        self.document.set_segments(self.old_segments)
        self.document.set_speaking(self.old_speaking)
