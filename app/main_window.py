"""The main window: clip list, player, attention panel, timeline; tabs for other tools.

The window wires views to the models: the player owns the playhead, the
:class:`app.editing.document.AnnotationDocument` owns the annotations (edited only through the
:class:`app.editing.editor.SegmentEditor`), the :class:`ScoreController` owns the model's scores.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QUndoStack
from PySide6.QtWidgets import (
    QAbstractSpinBox, QComboBox, QLabel, QMainWindow, QMessageBox, QProgressBar, QPushButton,
    QSplitter, QTabWidget, QVBoxLayout, QWidget,
)

from app import APP_NAME
from app.review.attention_panel import AttentionPanel
from app.audio.lanes import AudioLanes
from app.audio.playback import AudioPlayback
from app.project.clip_list import ClipListWidget
from app.editing.document import AnnotationDocument
from app.editing.editor import SegmentEditor
from app.review.inference_worker import ScoreController
from app.review.model_choice import ModelChoice, active_checkpoint
from app.review.banner import ClipBanner
from app.review.model_badge import ModelBadge
from app.review.proposals import ProposalController
from app.review.segment_table import SegmentTable
from app.review.session import confirm_save_before_training
from app.player.player_widget import PlayerWidget
from app.review.controller import ReviewController, ReviewParts
from app.status import StatusSink
from app.timeline.timeline_widget import TimelineWidget
from app.workers import running_workers

log = logging.getLogger(__name__)

_PASS_THROUGH_KEYS = {Qt.Key.Key_Space, Qt.Key.Key_Left, Qt.Key.Key_Right}


class _ShortcutGuard(QObject):
    """Lets Space and the arrow keys reach the window's shortcuts from spin boxes and combos.

    Those widgets claim the keys (``ShortcutOverride``); annotators expect Space to play and
    the arrows to step wherever the focus is, so the claim is refused for them.
    """

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt)
        if (event.type() == QEvent.Type.ShortcutOverride
                and isinstance(watched, (QAbstractSpinBox, QComboBox))
                and event.key() in _PASS_THROUGH_KEYS):
            event.ignore()
            return True
        return False


class MainWindow(QMainWindow):
    """The review application's window.

    Args:
        checkpoint: the model checkpoint; None uses the bundled demo model.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.

    Signals:
        scores_ready(): the open clip's scores are complete and drawn.
        clip_opened(str): a clip's video opened (its name).
    """

    scores_ready = Signal()
    clip_opened = Signal(str)

    def __init__(self, checkpoint: Path | None = None, device: str = "auto",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_NAME)
        self.resize(QSize(1400, 900))
        self.undo_stack = QUndoStack(self)
        self.document = AnnotationDocument(parent=self)
        self.editor = SegmentEditor(self.document, self.undo_stack, self)
        self.scores = ScoreController(checkpoint, device, parent=self)
        self.status = StatusSink(self)
        self.status.message_shown.connect(lambda text, ms: self.show_status(text, ms))
        self.status.error_shown.connect(lambda title, text: self.show_error(title, text))
        self.models = ModelChoice(self.scores, self.status, self,
                                  explicit=checkpoint is not None)
        self.models.checkpoint_chosen.connect(self.use_checkpoint)
        self._shut_down = False
        self.remember_recent = True     # File ▸ Open recent learns what opens
        self._build_widgets()
        self._build_audio()
        self._build_status_bar()
        self.review = ReviewController(ReviewParts(
            player=self.player, timeline=self.timeline, attention=self.attention,
            clip_list=self.clip_list, document=self.document, undo_stack=self.undo_stack,
            editor=self.editor, scores=self.scores, proposals=self.proposals, models=self.models,
            status=self.status,
            progress_bar=self.progress_bar, cancel_button=self.cancel_button,
            clip_label=self.clip_label, dialog_parent=self), self)
        self.review.clip_opened.connect(self.clip_opened)
        self.review.scores_ready.connect(self.scores_ready)
        self.review.title_changed.connect(self.setWindowTitle)
        from app.window_menus import build_menus

        self.review_keys = build_menus(self)
        self._build_training_tab()
        self._build_project_review()
        self.review.banner_changed.connect(self.banner.set_message)
        self.review.project_opened.connect(self._on_review_project_opened)
        self.models.checkpoint_chosen.connect(self.model_badge.checkpoint_changed)
        self._guard = _ShortcutGuard(self)
        from PySide6.QtWidgets import QApplication
        QApplication.instance().installEventFilter(self._guard)

    # ------------------------------------------------------------------ building
    def _build_widgets(self) -> None:
        self.clip_list = ClipListWidget(self)
        self.player = PlayerWidget(self)
        self.attention = AttentionPanel(self)
        self.timeline = TimelineWidget(self)
        self.timeline.set_document(self.document)
        self.proposals = ProposalController(self.timeline, self)
        self.top_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.top_splitter.addWidget(self.player)
        self.top_splitter.addWidget(self.attention)
        self.top_splitter.setStretchFactor(0, 3)
        self.top_splitter.setStretchFactor(1, 1)
        self.centre_splitter = QSplitter(Qt.Orientation.Vertical)
        self.centre_splitter.addWidget(self.top_splitter)
        self.segment_table = SegmentTable(self.document, self.editor, self)
        self.segment_table.seek_requested.connect(self.player.seek)
        self.player.video_opened.connect(
            lambda _n: self.segment_table.source_model.set_fps(self.player.fps))
        self.timeline_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.timeline_splitter.addWidget(self.timeline)
        self.timeline_splitter.addWidget(self.segment_table)
        self.timeline_splitter.setStretchFactor(0, 3)
        self.timeline_splitter.setStretchFactor(1, 1)
        self.centre_splitter.addWidget(self.timeline_splitter)
        self.centre_splitter.setStretchFactor(0, 3)
        self.centre_splitter.setStretchFactor(1, 2)
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.addWidget(self.clip_list)
        self.main_splitter.addWidget(self.centre_splitter)
        self.main_splitter.setStretchFactor(0, 0)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setCollapsible(1, False)
        self.clip_list.setMinimumWidth(180)
        self.main_splitter.setSizes([280, 1120])
        self.top_splitter.setSizes([740, 380])
        self.centre_splitter.setSizes([520, 320])
        self.timeline_splitter.setSizes([760, 360])
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.banner = ClipBanner(self)
        review_page = QWidget(self)
        page_layout = QVBoxLayout(review_page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.setSpacing(0)
        page_layout.addWidget(self.banner)
        page_layout.addWidget(self.main_splitter)
        self.tabs.addTab(review_page, "Review")
        self.setCentralWidget(self.tabs)

    def _build_audio(self) -> None:
        """Sound (playback follows the player) and the audio lanes of the timeline."""
        self.audio = AudioPlayback(self.player, self.show_status, self)
        self.audio_lanes = AudioLanes(self.timeline, self.document, self.undo_stack,
                                      self.show_status, self)
        self.audio_label = QLabel("", self)
        self.audio_label.setToolTip("The clip's sound (M: mute, Shift+Up / Shift+Down: volume)")
        self.audio.state_changed.connect(lambda state: self.audio_label.setText(f"♪ {state}"))
        self.audio_lanes_label = QLabel("", self)
        self.audio_lanes_label.setToolTip("The audio lanes: waveform and speaking turns")
        self.audio_lanes.summary_changed.connect(self.audio_lanes_label.setText)
        self.clip_opened.connect(self._on_clip_opened_audio)
        self.player.video_failed.connect(lambda _message: (self.audio.close(),
                                                           self.audio_lanes.close_clip()))

    def _on_clip_opened_audio(self, _name: str) -> None:
        path = self.review.clip.video_path
        self.audio.open(path)
        self.audio_lanes.open_clip(path, self.player.frame_count, self.player.fps)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.addPermanentWidget(self.audio_lanes_label)
        bar.addPermanentWidget(self.audio_label)
        self.clip_label = QLabel("", self)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setMaximumWidth(240)
        self.progress_bar.setFormat("scores %p%")
        self.progress_bar.setVisible(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop scoring this clip (the scores so far stay)")
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.scores.cancel_by_user)
        self.model_badge = ModelBadge(self.scores, self)
        bar.addPermanentWidget(self.clip_label)
        bar.addPermanentWidget(self.progress_bar)
        bar.addPermanentWidget(self.cancel_button)
        bar.addPermanentWidget(self.model_badge)

    def edit_vocabulary(self) -> None:
        """Edit ▸ Label vocabulary…: ask for the list and set it on the document."""
        from app.editing import vocabulary_dialog

        entries = vocabulary_dialog.ask_vocabulary(self, self.document.vocabulary,
                                                   self.document.labels())
        if entries is not None:
            self.document.set_vocabulary(entries)

    def show_shortcuts(self) -> None:
        """Help ▸ Keyboard shortcuts (non-modal)."""
        from app.shortcuts_dialog import ShortcutsDialog
        from app.window_menus import window_catalog

        self.shortcuts_dialog = ShortcutsDialog(window_catalog(self), self)
        self.shortcuts_dialog.show()

    def _build_training_tab(self) -> None:
        from app.training.tab import TrainingTab

        self.training = TrainingTab(project_getter=lambda: self.review.project, parent=self,
                                    checkpoint_getter=self.active_checkpoint)
        self.training.use_checkpoint_requested.connect(self.use_checkpoint)
        self.training.before_start = lambda: confirm_save_before_training(self.review.session,
                                                                          self)
        self.add_tab(self.training, "Training")

    def _build_project_review(self) -> None:
        from app.project_review.controller import ProjectReviewController
        from app.project_review.parts import ProjectReviewParts

        self.project_review = ProjectReviewController(ProjectReviewParts(
            review=self.review, player=self.player, timeline=self.timeline,
            document=self.document, status=self.status, checkpoint=self.active_checkpoint,
            host=self), self)
        self.project_review.fill_menu(self.menuBar().addMenu("P&roject"))

    # ------------------------------------------------------------------ public API
    def use_checkpoint(self, checkpoint: str | Path | None) -> None:
        """Make ``checkpoint`` (None: the demo model) the active model, remember it for the
        open project, and re-score the open clip with it.

        Other clips are scored with it when they open (the score cache is keyed by the
        checkpoint's content, so no stale scores are shown).
        """
        from app.review.inference_worker import forget_loaded_models

        checkpoint = None if checkpoint is None else Path(checkpoint)
        self.models.remember(checkpoint)
        self.scores.cancel()
        forget_loaded_models()   # a run may have rewritten best.safetensors in place
        self.scores.checkpoint = checkpoint
        clip = self.review.clip
        if clip is not None and self.review.session is not None and self.player.frame_count > 0:
            self.scores.start(clip.video_path, self.player.frame_count, self.player.fps)
        self.show_status(f"Model: {checkpoint or 'the bundled demo model'}", 8000)

    def active_checkpoint(self) -> Path | None:
        """The checkpoint the Review tab scores with (the bundled demo model by default);
        None when that file is missing."""
        return active_checkpoint(self.scores.checkpoint)

    def add_tab(self, widget: QWidget, title: str) -> int:
        """Add a tab (e.g. the training tab) after the Review tab; returns its index."""
        return self.tabs.addTab(widget, title)

    def open_path(self, path: str | Path) -> None:
        """Open a video file or a clip folder."""
        self.review.open_path(Path(path))

    def _on_review_project_opened(self, path: Path) -> None:
        # the demo opens by itself when nothing else was opened; a --screenshot run is a tool
        if not self.review.demo and self.remember_recent:
            self.recent_menu.remember(path)

    def show_status(self, text: str, timeout_ms: int = 0) -> None:
        """A message in the status bar."""
        self.statusBar().showMessage(text, timeout_ms)

    def show_error(self, title: str, text: str) -> None:
        """Tell the user about an error (non-modal: the app keeps working; tests patch it)."""
        log.error("%s: %s", title, text)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self._last_error_box = box

    # ------------------------------------------------------------------ shutdown
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if not self._shut_down and not self.review.confirm_close():
            event.ignore()
            return
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop every worker: cancel first, then wait (the only place the GUI waits).

        Unsaved edits are not asked about here: the session writes its autosave, which is
        offered for recovery next time (``closeEvent`` asks before calling this).
        """
        if self._shut_down:
            return
        self._shut_down = True
        from PySide6.QtWidgets import QApplication
        QApplication.instance().removeEventFilter(self._guard)
        self.training.shutdown()
        self.project_review.shutdown()
        self.review.shutdown()
        self.scores.shutdown()
        self.audio.close()
        self.audio_lanes.shutdown()
        self.player.shutdown()
        # Empty the stack while the editor's actions are alive: QUndoStack's destructor
        # would otherwise emit into half-destroyed listeners.
        self.undo_stack.clear()
        self.undo_stack.blockSignals(True)
        for worker in running_workers():
            worker.shutdown()
