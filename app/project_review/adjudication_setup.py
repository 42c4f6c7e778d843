"""Opening the adjudication view of the clip open in the main window."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from meldae.annotations import AnnotationError, load_eaf
from meldae.review.adjudicate import find_disagreements
from meldae.review.annotators import annotators_in

if TYPE_CHECKING:  # pragma: no cover
    from app.project_review.adjudication_view import AdjudicationView
    from app.project_review.controller import ProjectReviewController

log = logging.getLogger(__name__)


def open_adjudication(controller: ProjectReviewController) -> AdjudicationView | None:
    """The adjudication view of the open clip, or None (the user was told why)."""
    from app.project_review.adjudication_model import AdjudicationModel
    from app.project_review.adjudication_view import AdjudicationView

    parts = controller.parts
    review, status = parts.review, parts.status
    clip = review.clip
    if clip is None or review.session is None or parts.player.frame_count <= 0:
        status.error("Adjudicate", "Open a clip first: adjudication works on the open clip.")
        return None
    if parts.document.is_modified:
        status.error("Adjudicate", "Save the open clip first: the adjudicated result replaces its file.")
        return None
    if not controller.annotator.name and not controller.ask_annotator():
        status.error("Adjudicate", "Set your annotator name first: the result records who adjudicated.")
        return None
    folder = clip.video_path.parent
    files = controller.choose_files(clip.name, annotators_in(folder, [clip.name]), folder)
    if len(files) != 2:
        return None
    fps, n_frames = parts.player.fps, parts.player.frame_count
    try:
        (name_a, path_a), (name_b, path_b) = files
        a, b = load_eaf(path_a, fps), load_eaf(path_b, fps)
    except AnnotationError as exc:
        status.error("Adjudicate", str(exc))
        return None
    adjudication = find_disagreements(a, b, n_frames, name_a, name_b)
    model = AdjudicationModel(adjudication, controller.annotator.name)
    eaf_path = clip.eaf_path or clip.video_path.with_suffix(".eaf")
    view = AdjudicationView(model, a, b, eaf_path, fps, clip.video_path, parts.host)
    model.setParent(view)
    view.seek_requested.connect(parts.player.seek)
    view.saved.connect(lambda path: _reload(controller, path))
    return view


def _reload(controller: ProjectReviewController, path: str) -> None:
    """Show the adjudicated file in the main window (one undoable Load step)."""
    session = controller.parts.review.session
    if session is None:
        return
    try:
        session.open_eaf(path)
    except AnnotationError as exc:
        controller.parts.status.error("Cannot read the adjudicated file", str(exc))
        return
    controller.parts.status.show(f"Adjudicated result saved to {path}", 6000)
