"""Opening the adjudication view of the clip open in the main window."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QInputDialog

from meldae.annotations import AnnotationError, load_eaf
from meldae.review.adjudicate import find_disagreements
from meldae.review.annotators import annotators_in

if TYPE_CHECKING:  # pragma: no cover
    from app.project_review.adjudication_view import AdjudicationView
    from app.project_review.parts import ProjectReviewParts
    from app.project_review.settings import AnnotatorSetting

log = logging.getLogger(__name__)


def open_adjudication(parts: ProjectReviewParts, annotator: AnnotatorSetting,
                      ask_annotator: Callable[[], bool]) -> AdjudicationView | None:
    """The adjudication view of the open clip, or None (the user was told why).

    Args:
        parts: the window's parts.
        annotator: the adjudicator's name.
        ask_annotator: asks for the name when it is not set; True when one is set.
    """
    from app.project_review.adjudication_model import AdjudicationModel
    from app.project_review.adjudication_view import AdjudicationView

    review, status = parts.review, parts.status
    clip = review.clip
    if clip is None or review.session is None or parts.player.frame_count <= 0:
        status.error("Adjudicate", "Open a clip first: adjudication works on the open clip.")
        return None
    if parts.document.is_modified:
        status.error("Adjudicate", "Save the open clip first: the adjudicated result replaces its file.")
        return None
    if not annotator.name and not ask_annotator():
        status.error("Adjudicate", "Set your annotator name first: the result records who adjudicated.")
        return None
    folder = clip.video_path.parent
    files = choose_files(parts, clip.name, annotators_in(folder, [clip.name]), folder)
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
    model = AdjudicationModel(adjudication, annotator.name)
    eaf_path = clip.eaf_path or clip.video_path.with_suffix(".eaf")
    view = AdjudicationView(model, a, b, eaf_path, fps, clip.video_path, parts.host)
    model.setParent(view)
    view.seek_requested.connect(parts.player.seek)
    view.saved.connect(lambda path: _reload(parts, path, clip.video_path))
    return view


def _reload(parts: ProjectReviewParts, path: str, video: Path) -> None:
    """Show the adjudicated file in the main window (one undoable Load step) when its clip is
    still the open one."""
    session, clip = parts.review.session, parts.review.clip
    if session is None or clip is None or clip.video_path != video:
        parts.status.show(f"Adjudicated result saved to {path}", 6000)
        return
    try:
        session.open_eaf(path)
    except AnnotationError as exc:
        parts.status.error("Cannot read the adjudicated file", str(exc))
        return
    parts.status.show(f"Adjudicated result saved to {path}", 6000)


def choose_files(parts: ProjectReviewParts, clip_name: str, names: list[str],
                 folder: Path) -> list[tuple[str, Path]]:
    """A's and B's files of ``clip_name``: two of ``names`` (asked when more), else two EAFs
    picked by hand (per-annotator folders; named after their folders)."""
    from meldae.review.annotators import annotator_eaf_path

    base = folder / f"{clip_name}.eaf"
    if len(names) == 2:
        return [(n, annotator_eaf_path(base, n)) for n in names]
    if len(names) > 2:
        host = parts.host
        a, ok = QInputDialog.getItem(host, "Adjudicate", "Annotator A:", names, 0, False)
        rest = [n for n in names if n != a]
        b, ok_b = QInputDialog.getItem(host, "Adjudicate", "Annotator B:", rest, 0, False) if ok else ("", False)
        return [(a, annotator_eaf_path(base, a)), (b, annotator_eaf_path(base, b))] if ok_b else []
    files = []
    for who in ("A", "B"):
        name, _ = QFileDialog.getOpenFileName(parts.host, f"Annotator {who}'s EAF of {clip_name}",
                                              str(folder), "ELAN files (*.eaf)")
        if not name:
            return []
        files.append((Path(name).parent.name, Path(name)))
    return files
