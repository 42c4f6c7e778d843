"""What happens when a clip opens: video, annotations, scores, and the signals between views.

:class:`ReviewController` belongs to the :class:`app.main_window.MainWindow`; it opens
videos and clip folders (or the demo project), loads the clip's annotations into the
document, starts the scores, and routes the views' intents to the player and the editor.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog

if TYPE_CHECKING:  # pragma: no cover
    from app.main_window import MainWindow

log = logging.getLogger(__name__)

VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v);;All files (*)"
DEMO_MODEL_HINT = ("The model could not be loaded, so there are no scores; the videos and "
                   "annotations still work.\n\nBuild the bundled demo model with "
                   "`make demo-model`, or start with --checkpoint CKPT.")


def single_clip(video: Path):
    """A ``ClipInfo`` for one video file (its ``.eaf`` beside it when present)."""
    from meldae.data import ClipInfo

    eaf = video.with_suffix(".eaf")
    return ClipInfo(name=video.stem, video_path=video,
                    eaf_path=eaf if eaf.is_file() else None, subject=video.stem, split=None)


class ReviewController(QObject):
    """Opens clips and keeps the player, timeline, attention panel and editor in step."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.clip = None
        self.project = None
        self.session = None
        self.demo = False
        self._demo_worker = None
        self._predictions_timer = QTimer(self, singleShot=True, interval=300)
        self._predictions_timer.timeout.connect(self.push_predictions)
        self._connect()
        from app.file_actions import FileActions

        self.files = FileActions(self)

    def _connect(self) -> None:
        w = self.w
        w.player.video_opened.connect(self._on_player_video_opened)
        w.player.video_failed.connect(self._on_player_video_failed)
        w.player.frame_changed.connect(self._on_player_frame_changed)
        w.timeline.seek_requested.connect(w.player.seek)
        w.timeline.segment_edit_requested.connect(w.editor.on_segment_edit_requested)
        w.timeline.segment_create_requested.connect(w.editor.on_segment_create_requested)
        w.timeline.segment_selected.connect(w.editor.select)
        w.proposals.threshold_changed.connect(self._on_proposals_threshold_changed)
        w.editor.selection_changed.connect(w.timeline.set_selected)
        w.editor.seek_requested.connect(w.player.seek)
        w.editor.status_message.connect(lambda text: w.show_status(text, 5000))
        w.clip_list.clip_activated.connect(self.open_clip)
        w.document.clip_review_changed.connect(self._update_clip_status)
        w.document.modified_changed.connect(self._update_title)
        s = w.scores
        s.scores_updated.connect(self._on_scores_updated)
        s.progress.connect(self._on_scores_progress)
        s.running_changed.connect(self._on_scores_running_changed)
        s.completed.connect(self._on_scores_completed)
        s.model_missing.connect(self._on_scores_model_missing)
        s.failed.connect(lambda msg: w._show_error("Scoring failed", msg))

    # ------------------------------------------------------------------ opening
    def open_path(self, path: Path) -> None:
        """Open a clip folder as a project (first clip) or one video."""
        from app.project import Project
        from meldae.data import DataError

        if path.is_dir():
            try:
                project = Project(path)
            except DataError as exc:
                self.w._show_error("Cannot open folder", str(exc))
                return
            if not project.clips:
                self.w._show_error("Cannot open folder", f"{path}: no videos in this folder")
                return
            for warning in project.warnings:
                self.w.show_status(warning, 8000)
            clips = project.clips
        elif path.is_file():
            project, clips = None, [single_clip(path)]
        else:
            self.w._show_error("Cannot open", f"{path}: no such file or folder")
            return
        if not self.close_clip():
            return
        self.project = project
        self.w.models.adopt(project)
        self.w.clip_list.set_project(project)
        self.w.clip_list.setVisible(project is not None)
        self.open_clip(clips[0])

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
                self.w.clip_list.select_clip(self.clip.name)
            return False
        self.clip = clip
        self.w.clip_list.select_clip(clip.name)
        self.w.attention.clear()
        self.w.player.open_video(clip.video_path)
        self.w.clip_label.setText(f"{clip.name} · demo project" if self.demo else clip.name)
        self._update_title()
        self.w.show_status(f"Opening {clip.video_path.name} …")
        return True

    def close_clip(self) -> bool:
        """Close the open clip (asking about unsaved changes); False when the user cancels."""
        self.w.scores.cancel()
        if self.session is not None:
            if not self.session.maybe_close(self.w):
                return False
            if self.project is not None:
                self._remember(last_frame=self.w.player.current_frame)
            self.session.deleteLater()
            self.session = None
        return True

    def _remember(self, **changes) -> None:
        try:
            self.project.update(self.clip.name, **changes)
        except (KeyError, OSError) as exc:
            log.warning("project state of %s not updated: %s", self.clip.name, exc)

    def open_neighbour(self, step: int) -> None:
        """Open the next (``step=1``) or previous (``-1``) clip of the list."""
        if self.clip is not None:
            clip = self.w.clip_list.neighbour(self.clip.name, step)
            if clip is not None:
                self.open_clip(clip)

    def ask_open_video(self) -> None:
        """File dialog: open one video."""
        name, _ = QFileDialog.getOpenFileName(self.w, "Open video", "", VIDEO_FILTER)
        if name:
            self.open_path(Path(name))

    def ask_open_folder(self) -> None:
        """Folder dialog: open a clip folder."""
        name = QFileDialog.getExistingDirectory(self.w, "Open clip folder")
        if name:
            self.open_path(Path(name))

    def _on_player_video_opened(self, n_frames: int) -> None:
        w, clip = self.w, self.clip
        w.timeline.set_frame_count(n_frames)
        w.proposals.clear()
        self._open_session(clip, n_frames)
        w.scores.start(clip.video_path, n_frames, w.player.fps)
        w.show_status(f"{clip.name}: {n_frames} frames at {float(w.player.fps):.3f} fps", 5000)
        if self.project is not None:
            fps = w.player.fps
            self._remember(fps=f"{fps.numerator}/{fps.denominator}", n_frames=n_frames)
            last = self.project.state(clip.name).last_frame
            if 0 < last < n_frames:
                w.player.seek(last)
        w.clip_opened.emit(clip.name)

    def _on_player_video_failed(self, message: str) -> None:
        self.w.scores.cancel()
        self.w.show_status("Could not open the video")
        self.w._show_error("Cannot open video", message)

    def _on_player_frame_changed(self, frame_idx: int) -> None:
        self.w.timeline.set_playhead(frame_idx, follow=self.w.player.is_playing)
        self.w.attention.show_frame(frame_idx)

    # ------------------------------------------------------------------ annotations
    def _open_session(self, clip, n_frames: int) -> None:
        """Load the clip's EAF into the document and start its autosaving session."""
        from app.session import ClipSession
        from meldae.annotations import AnnotationError, ClipAnnotations
        from meldae.data import load_clip_annotations

        w = self.w
        try:
            annotations = load_clip_annotations(clip, w.player.fps)
        except AnnotationError as exc:
            w._show_error("Cannot read annotations", str(exc))
            annotations = ClipAnnotations(segments=[], speaking=[])
        w.document.load(annotations, n_frames)
        w.undo_stack.clear()
        w.editor.select(-1)
        autosave = self.project.autosave_path(clip.name) if self.project is not None else None
        self.session = ClipSession(clip.video_path, clip.eaf_path, w.player.fps, n_frames,
                                   w.document, self, undo_stack=w.undo_stack,
                                   autosave_path=autosave, project=self.project,
                                   clip_name=clip.name)
        self.session.autosave_failed.connect(lambda reason: w.show_status(reason, 10000))
        self.session.saved.connect(lambda path: w.show_status(f"Saved {path}", 5000))
        self.session.offer_recovery(w)
        self._update_clip_status()

    def confirm_close(self) -> bool:
        """Whether the window may close now (asks about unsaved changes)."""
        return self.close_clip()

    def _update_clip_status(self) -> None:
        self.w.clip_list.viewport().update()

    def _update_title(self, *_args) -> None:
        from app.main_window import APP_NAME

        parts = [APP_NAME]
        if self.clip is not None:
            star = "*" if self.w.document.is_modified else ""
            parts.insert(0, f"{self.clip.name}{star}")
        if self.demo:
            parts.append("demo project")
        self.w.setWindowTitle(" — ".join(parts))

    # ------------------------------------------------------------------ scores
    def _on_scores_updated(self, scores) -> None:
        w = self.w
        w.timeline.set_scores(scores.loc)
        w.proposals.set_scores(scores)
        w.attention.set_attention(scores.attention, scores.done)
        w.player.set_face_boxes(scores.boxes)

    def _on_scores_progress(self, done: int, total: int) -> None:
        self.w.progress_bar.setRange(0, max(total, 1))
        self.w.progress_bar.setValue(done)

    def _on_scores_running_changed(self, running: bool) -> None:
        self.w.progress_bar.setVisible(running)
        self.w.cancel_button.setVisible(running)
        if running:
            self.w.progress_bar.setValue(0)
            self.w.show_status("Scoring with the model …")

    def _on_scores_completed(self, scores) -> None:
        self.w.proposals.set_complete_scores(scores)
        self._predictions_timer.stop()
        self.push_predictions()
        self._store_scores_csv(scores)
        n = len(self.w.proposals.current.segments)
        demo = " (demo model: trained on synthetic faces only)" if (
            (scores.info.get("meta") or {}).get("demo")) else ""
        self.w.show_status(f"Scores ready{demo}: {n} predicted segment(s) at threshold "
                           f"{self.w.proposals.post.threshold:.2f}", 8000)
        self.w.scores_ready.emit()

    def _store_scores_csv(self, scores) -> None:
        """Keep a per-frame score CSV beside the cache, for the project's batch export."""
        if self.project is None or self.w.scores.key is None:
            return
        from meldae.annotations import save_scores_csv

        path = self.w.scores.cache.path(self.w.scores.key).with_suffix(".scores.csv")
        try:
            if not path.is_file():
                save_scores_csv(path, np.nan_to_num(scores.loc), np.nan_to_num(scores.state),
                                scores.fps)
        except (OSError, ValueError) as exc:
            log.warning("could not write %s: %s", path, exc)
            return
        self._remember(scores_path=str(path))

    def _on_scores_model_missing(self, message: str) -> None:
        self.w.show_status("No model: scores unavailable — run `make demo-model` "
                           "or pass --checkpoint")
        self.w._show_error("Model not available", f"{message}\n\n{DEMO_MODEL_HINT}")

    def _on_proposals_threshold_changed(self, _threshold: float) -> None:
        scores = self.w.scores.scores
        if scores is not None and scores.complete:
            self._predictions_timer.start()

    def push_predictions(self) -> None:
        """Hand the model's ME proposals to the editor for accept/reject review."""
        scores = self.w.scores.scores
        if scores is None or not scores.complete:
            return
        segments = list(self.w.proposals.current.segments)
        # Model proposals are not the annotator's edits: a clean document stays clean.
        was_clean = not self.w.document.is_modified
        self.w.editor.set_predictions(segments)
        if was_clean and self.w.document.is_modified:
            self.w.document.set_clean()
            self.w.undo_stack.setClean()

    # ------------------------------------------------------------------ demo
    def start_demo(self) -> None:
        """Open the demo project, generating it first (in a worker) on the first start."""
        from app.demo import DemoProjectWorker, demo_project_dir, demo_project_ready

        self.demo = True
        self._update_title()
        if demo_project_ready():
            self.open_path(demo_project_dir())
            return
        worker = DemoProjectWorker()
        worker.progress.connect(lambda done, total: self.w.show_status(
            f"Generating the demo project (first start only): clip {done}/{total} written …"))
        worker.ready.connect(lambda folder: self.open_path(Path(folder)))
        worker.failed.connect(lambda msg: self.w._show_error("Demo project", msg))
        self._demo_worker = worker
        self.w.show_status("Generating the demo project (first start only) …")
        worker.start()

    def shutdown(self) -> None:
        """Close the session (writing its autosave) and stop the demo generation (waits)."""
        self.w.scores.cancel()
        if self.session is not None:
            if self.project is not None:
                self._remember(last_frame=self.w.player.current_frame)
            self.session.close()
            self.session = None
        if self._demo_worker is not None:
            self._demo_worker.shutdown(120000)
