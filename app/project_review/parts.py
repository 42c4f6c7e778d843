"""The collaborators the project review works with (the window builds them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMainWindow

from app.status import StatusSink

if TYPE_CHECKING:  # pragma: no cover
    from app.editing.document import AnnotationDocument
    from app.player.player_widget import PlayerWidget
    from app.review.controller import ReviewController
    from app.timeline.timeline_widget import TimelineWidget


@dataclass(frozen=True)
class ProjectReviewParts:
    """The collaborators of a :class:`ProjectReviewController`."""

    review: ReviewController
    player: PlayerWidget
    timeline: TimelineWidget
    document: AnnotationDocument
    status: StatusSink
    checkpoint: Callable[[], Path | None]   # the active model (None: the demo model)
    host: QMainWindow                       # holds the docks; parent of the dialogs
