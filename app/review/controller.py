"""What happens when a clip opens: video, annotations, scores, and the signals between views.

:class:`ReviewController` opens videos and clip folders (or the demo project), loads the
clip's annotations into the document, starts the scores, and routes the views' intents to
the player and the editor. It is given the parts it works with (:class:`ReviewParts`), never
the window: it reports through a :class:`app.status.StatusSink` and tells the window what
to show in its title (``title_changed``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QFileDialog, QLabel, QProgressBar, QPushButton, QWidget

from app import APP_NAME
from app.editing.document import AnnotationDocument
from app.editing.editor import SegmentEditor
from app.status import StatusSink
from meldae.data.clipfolder import single_video_clip

if TYPE_CHECKING:  # pragma: no cover
    from app.review.attention_panel import AttentionPanel
    from app.project.clip_list import ClipListWidget
    from app.review.inference_worker import ScoreController
    from app.review.model_choice import ModelChoice
    from app.review.proposals import ProposalController
    from app.player.player_widget import PlayerWidget
    from app.timeline.timeline_widget import TimelineWidget

log = logging.getLogger(__name__)

VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v);;All files (*)"
DEMO_MODEL_HINT = ("The model could not be loaded, so there are no scores; the videos and "
                   "annotations still work.\n\nBuild the bundled demo model with "
                   "`make demo-model`, or start with --checkpoint CKPT.")


@dataclass(frozen=True)
class ReviewParts:
    """The collaborators of a :class:`ReviewController` (the window builds them)."""

    player: PlayerWidget
    timeline: TimelineWidget
    attention: AttentionPanel
    clip_list: ClipListWidget
    document: AnnotationDocument
    undo_stack: QUndoStack
    editor: SegmentEditor
    scores: ScoreController
    proposals: ProposalController   # the post-processing in force and the model's proposals
    models: ModelChoice
    status: StatusSink
    progress_bar: QProgressBar     # the scoring progress
    cancel_button: QPushButton     # cancels the scoring
    clip_label: QLabel             # the open clip's name
    dialog_parent: QWidget         # parent of the file and question dialogs


class ReviewController(QObject):
    """Opens clips and keeps the player, timeline, attention panel and editor in step.

    Signals:
        clip_opened(str): a clip's video opened (its name).
        scores_ready(): the open clip's scores are complete and drawn.
        title_changed(str): the window title to show (clip, unsaved star, demo).
        banner_changed(str): a warning to show above the timeline while the clip is open
            (its EAF was unreadable); "" hides it.
        project_opened(object): a folder or video was opened (its ``Path``).
    """

    clip_opened = Signal(str)
    scores_ready = Signal()
    title_changed = Signal(str)
    banner_changed = Signal(str)
    project_opened = Signal(object)

    def __init__(self, parts: ReviewParts, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.parts = parts
        self.clip = None
        self.project = None
        self.session = None
        self.demo = False
        self._demo_worker = None
        self._predictions_timer = QTimer(self, singleShot=True, interval=300)
        self._predictions_timer.timeout.connect(self.push_predictions)
        self._connect()
        from app.review.file_actions import FileActions

        self.files = FileActions(self, parts.document, parts.scores, parts.status,
                                 parts.dialog_parent)

    def _connect(self) -> None:
        parts = self.parts
        parts.player.video_opened.connect(self._on_player_video_opened)
        parts.player.video_failed.connect(self._on_player_video_failed)
        parts.player.frame_changed.connect(self._on_player_frame_changed)
        parts.timeline.seek_requested.connect(parts.player.seek)
        parts.timeline.segment_edit_requested.connect(parts.editor.on_segment_edit_requested)
        parts.timeline.segment_create_requested.connect(parts.editor.on_segment_create_requested)
        parts.timeline.segment_selected.connect(parts.editor.select)
        parts.proposals.threshold_changed.connect(self._on_proposals_threshold_changed)
        parts.editor.selection_changed.connect(parts.timeline.set_selected)
        parts.editor.seek_requested.connect(parts.player.seek)
        parts.editor.status_message.connect(lambda text: parts.status.show(text, 5000))
        parts.clip_list.clip_activated.connect(self.open_clip)
        parts.document.clip_review_changed.connect(self._update_clip_status)
        parts.document.modified_changed.connect(self._update_title)
        s = parts.scores
        s.scores_updated.connect(self._on_scores_updated)
        s.progress.connect(self._on_scores_progress)
        s.running_changed.connect(self._on_scores_running_changed)
        s.completed.connect(self._on_scores_completed)
        s.model_missing.connect(self._on_scores_model_missing)
        s.failed.connect(lambda msg: parts.status.error("Scoring failed", msg))

    # ------------------------------------------------------------------ opening
    def open_path(self, path: Path, demo: bool = False) -> None:
        """Open a clip folder as a project (first clip) or one video (``demo``: the demo
        project)."""
        from meldae.project import Project
        from meldae.data import DataError

        if path.is_dir():
            try:
                project = Project(path)
            except DataError as exc:
                self.parts.status.error("Cannot open folder", str(exc))
                return
            if not project.clips:
                self.parts.status.error("Cannot open folder", f"{path}: no videos in this folder")
                return
            for warning in project.warnings:
                self.parts.status.show(warning, 8000)
            clips = project.clips
        elif path.is_file():
            project, clips = None, [single_video_clip(path)]
        else:
            self.parts.status.error("Cannot open", f"{path}: no such file or folder")
            return
        if not self.close_clip():
            return
        self.demo = demo
        self.project = project
        self.parts.models.adopt(project)
        self.parts.clip_list.set_project(project)
        self.parts.clip_list.setVisible(project is not None)
        self.open_clip(clips[0])
        self.project_opened.emit(path)

    def open_clip(self, clip) -> bool:
        """Open ``clip`` (a ``ClipInfo``): the video first, the rest when it has opened.

        Returns:
            False when the user kept the current clip (unsaved changes, Cancel).
        """
        if self.clip is not None and self.clip.video_path == clip.video_path \
                and self.session is not None:
            return True
        if not self.close_clip():
            if self.clip is not None:
                self.parts.clip_list.select_clip(self.clip.name)
            return False
        self.clip = clip
        self.parts.clip_list.select_clip(clip.name)
        self.parts.attention.clear()
        self.parts.player.open_video(clip.video_path)
        self.parts.clip_label.setText(f"{clip.name} · demo project" if self.demo else clip.name)
        self._update_title()
        self.parts.status.show(f"Opening {clip.video_path.name} …")
        return True

    def close_clip(self) -> bool:
        """Close the open clip (asking about unsaved changes); False when the user cancels."""
        self.parts.scores.cancel()
        if self.session is not None:
            if not self.session.maybe_close(self.parts.dialog_parent):
                return False
            if self.project is not None:
                self._remember(last_frame=self.parts.player.current_frame)
            self.session.deleteLater()
            self.session = None
            self.banner_changed.emit("")
        return True

    def _remember(self, **changes) -> None:
        try:
            self.project.update(self.clip.name, **changes)
        except (KeyError, OSError) as exc:
            log.warning("project state of %s not updated: %s", self.clip.name, exc)

    def open_neighbour(self, step: int) -> None:
        """Open the next (``step=1``) or previous (``-1``) clip of the list."""
        if self.clip is not None:
            clip = self.parts.clip_list.neighbour(self.clip.name, step)
            if clip is not None:
                self.open_clip(clip)

    def ask_open_video(self) -> None:
        """File dialog: open one video."""
        name, _ = QFileDialog.getOpenFileName(self.parts.dialog_parent, "Open video", "",
                                              VIDEO_FILTER)
        if name:
            self.open_path(Path(name))

    def ask_open_folder(self) -> None:
        """Folder dialog: open a clip folder."""
        name = QFileDialog.getExistingDirectory(self.parts.dialog_parent, "Open clip folder")
        if name:
            self.open_path(Path(name))

    def _on_player_video_opened(self, n_frames: int) -> None:
        parts, clip = self.parts, self.clip
        parts.timeline.set_frame_count(n_frames)
        parts.timeline.set_fps(parts.player.fps)
        parts.proposals.clear()
        self._open_session(clip, n_frames)
        parts.scores.start(clip.video_path, n_frames, parts.player.fps)
        parts.status.show(f"{clip.name}: {n_frames} frames at {float(parts.player.fps):.3f} fps",
                          5000)
        if self.project is not None:
            fps = parts.player.fps
            self._remember(fps=f"{fps.numerator}/{fps.denominator}", n_frames=n_frames)
            last = self.project.state(clip.name).last_frame
            if 0 < last < n_frames:
                parts.player.seek(last)
        self.clip_opened.emit(clip.name)

    def _on_player_video_failed(self, message: str) -> None:
        self.parts.scores.cancel()
        self.parts.status.show("Could not open the video")
        self.parts.status.error("Cannot open video", message)

    def _on_player_frame_changed(self, frame_idx: int) -> None:
        self.parts.timeline.set_playhead(frame_idx, follow=True)   # paused too
        self.parts.attention.show_frame(frame_idx)

    # ------------------------------------------------------------------ annotations
    def _open_session(self, clip, n_frames: int) -> None:
        """Load the clip's EAF into the document and start its autosaving session."""
        from app.review.session import ClipSession
        from app.review.unreadable import open_unreadable
        from meldae.annotations import AnnotationError
        from meldae.data import load_clip_annotations

        parts, outcome = self.parts, None
        try:
            annotations = load_clip_annotations(clip, parts.player.fps)
        except AnnotationError as exc:
            outcome = open_unreadable(clip.eaf_path, parts.player.fps, exc, parts.dialog_parent)
            annotations = outcome.annotations
        parts.document.load(annotations, n_frames, mark_clean=outcome is None or not outcome.salvaged)
        self.banner_changed.emit("" if outcome is None else outcome.banner)
        parts.undo_stack.clear()
        parts.editor.select(-1)
        autosave = self.project.autosave_path(clip.name) if self.project is not None else None
        self.session = ClipSession(clip.video_path, clip.eaf_path, parts.player.fps, n_frames,
                                   parts.document, self, undo_stack=parts.undo_stack,
                                   autosave_path=autosave, project=self.project,
                                   clip_name=clip.name)
        if outcome is not None and outcome.copy is None:
            self.session.refuse_save = f"{clip.eaf_path.name} could not be copied aside"
        self.session.autosave_failed.connect(lambda reason: parts.status.show(reason, 10000))
        self.session.saved.connect(lambda path: parts.status.show(f"Saved {path}", 5000))
        self.session.offer_recovery(parts.dialog_parent)
        self._update_clip_status()

    def confirm_close(self) -> bool:
        """Whether the window may close now (asks about unsaved changes)."""
        return self.close_clip()

    def _update_clip_status(self) -> None:
        self.parts.clip_list.viewport().update()

    def _update_title(self, *_args) -> None:
        parts = [APP_NAME]
        if self.clip is not None:
            star = "*" if self.parts.document.is_modified else ""
            parts.insert(0, f"{self.clip.name}{star}")
        if self.demo:
            parts.append("demo project")
        self.title_changed.emit(" — ".join(parts))

    # ------------------------------------------------------------------ scores
    def _on_scores_updated(self, scores) -> None:
        parts = self.parts
        parts.timeline.set_scores(scores.loc, scores.face_found)
        parts.proposals.set_scores(scores)
        parts.attention.set_attention(scores.attention, scores.done)
        parts.player.set_face_boxes(scores.boxes)

    def _on_scores_progress(self, done: int, total: int) -> None:
        self.parts.progress_bar.setRange(0, max(total, 1))
        self.parts.progress_bar.setValue(done)

    def _on_scores_running_changed(self, running: bool) -> None:
        self.parts.progress_bar.setVisible(running)
        self.parts.cancel_button.setVisible(running)
        if running:
            self.parts.progress_bar.setValue(0)
            self.parts.status.show("Scoring with the model …")

    def _on_scores_completed(self, scores) -> None:
        self.parts.proposals.set_complete_scores(scores)
        self._predictions_timer.stop()
        self.push_predictions()
        self._store_scores_csv(scores)
        n = len(self.parts.proposals.current.segments)
        meta = scores.info.get("meta") or {}
        demo = f" (demo model: {meta.get('note') or 'not trained on real data'})" if (
            meta.get("demo")) else ""
        self.parts.status.show(f"Scores ready{demo}: {n} predicted segment(s) at threshold "
                               f"{self.parts.proposals.post.threshold:.2f}", 8000)
        self.scores_ready.emit()

    def _store_scores_csv(self, scores) -> None:
        """Keep a per-frame score CSV beside the cache, for the project's batch export."""
        if self.project is None or self.parts.scores.key is None:
            return
        from meldae.annotations import save_scores_csv

        path = self.parts.scores.cache.path(self.parts.scores.key).with_suffix(".scores.csv")
        try:
            if not path.is_file():
                save_scores_csv(path, np.nan_to_num(scores.loc), np.nan_to_num(scores.state),
                                scores.fps)
        except (OSError, ValueError) as exc:
            log.warning("could not write %s: %s", path, exc)
            return
        self._remember(scores_path=str(path))

    def _on_scores_model_missing(self, message: str) -> None:
        self.parts.status.show("No model: scores unavailable — run `make demo-model` "
                               "or pass --checkpoint")
        self.parts.status.error("Model not available", f"{message}\n\n{DEMO_MODEL_HINT}")

    def _on_proposals_threshold_changed(self, _threshold: float) -> None:
        if self._scores_usable():
            self._predictions_timer.start()

    def _scores_usable(self) -> bool:
        """Complete scores, or what a stopped (cancelled) run scored."""
        scores = self.parts.scores.scores
        return scores is not None and (scores.complete or (
            scores.done > 0 and not self.parts.scores.running))

    def push_predictions(self, partial: bool = False) -> None:
        """Hand the model's ME proposals to the editor for accept/reject review
        (``partial``: also from scores a cancelled run left, over the frames it scored)."""
        scores = self.parts.scores.scores
        if not self._scores_usable():
            return
        if partial and not scores.complete:
            self.parts.proposals.set_complete_scores(scores)
        segments = list(self.parts.proposals.current.segments)
        # Model proposals are not the annotator's edits: a clean document stays clean.
        was_clean = not self.parts.document.is_modified
        self.parts.editor.set_predictions(segments)
        if was_clean and self.parts.document.is_modified:
            self.parts.document.set_clean()

    # ------------------------------------------------------------------ demo
    def start_demo(self) -> None:
        """Open the demo project, generating it first (in a worker) on the first start."""
        from app.project.demo import DemoProjectWorker, demo_project_dir, demo_project_ready

        self.demo = True
        self._update_title()
        if demo_project_ready():
            self.open_path(demo_project_dir(), demo=True)
            return
        worker = DemoProjectWorker()
        worker.progress.connect(lambda done, total: self.parts.status.show(
            f"Generating the demo project (first start only): clip {done}/{total} written …"))
        worker.ready.connect(lambda folder: self.open_path(Path(folder), demo=True))
        worker.failed.connect(lambda msg: self.parts.status.error("Demo project", msg))
        self._demo_worker = worker
        self.parts.status.show("Generating the demo project (first start only) …")
        worker.start()

    def shutdown(self) -> None:
        """Close the session (writing its autosave) and stop the demo generation (waits)."""
        self.parts.scores.cancel()
        if self.session is not None:
            if self.project is not None:
                self._remember(last_frame=self.parts.player.current_frame)
            self.session.close()
            self.session = None
        if self._demo_worker is not None:
            self._demo_worker.shutdown(120000)
