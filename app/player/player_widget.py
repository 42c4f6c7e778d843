"""The player: video view, transport controls, frame counter, playback clock."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QImage, QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget,
)

from app.player.clock import PlaybackClock
from app.player.decode_worker import DecodeWorker, rgb_to_qimage
from app.player.scrubber import Scrubber
from app.workers import retire
from app.player.video_view import VideoView
from meldae.timebase import frame_to_ms

log = logging.getLogger(__name__)

SPEEDS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def format_time(ms: int) -> str:
    """Milliseconds as ``hh:mm:ss.mmm``."""
    seconds, millis = divmod(int(ms), 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


class PlayerWidget(QWidget):
    """Video view plus transport; the current frame lives here, the decoding in a worker.

    Signals:
        frame_changed(int): the current frame changed (seek, step or playback).
        frame_shown(int): the exact frame reached the screen.
        preview_shown(int, int, str): while scrubbing, a stand-in reached the screen:
            requested frame, frame shown (maybe smaller), source ("cache", "proxy",
            "keyframe"); the exact frame follows.
        video_opened(int): the video opened with this many frames.
        video_failed(str): the video could not be opened or decoded.
        playing_changed(bool): playback started or stopped.
    """

    frame_changed = Signal(int)
    frame_shown = Signal(int)
    preview_shown = Signal(int, int, str)
    video_opened = Signal(int)
    video_failed = Signal(str)
    playing_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = VideoView(self)
        self._worker: DecodeWorker | None = None
        self._retired: set[DecodeWorker] = set()
        self._frame = 0
        self._shown = -1
        self._preview_of = -1   # the frame whose stand-in is on screen (-1: none)
        self._total = 0
        self._fps = Fraction(30)
        self._speed = 1.0
        self._boxes: np.ndarray | None = None
        self._clock: PlaybackClock | None = None
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.scrubber = Scrubber(self)
        self.scrubber.preview_ready.connect(self._on_scrubber_preview_ready)
        self._build_actions()
        self._build_ui()
        self._set_enabled(False, "Open a video first")

    # ----------------------------------------------------------------- properties
    @property
    def current_frame(self) -> int:
        """The frame the player is on (the last one requested)."""
        return self._frame

    @property
    def shown_frame(self) -> int:
        """The frame whose image is on screen (-1 before the first)."""
        return self._shown

    @property
    def frame_count(self) -> int:
        """Frames of the open video (0 when none)."""
        return self._total

    @property
    def fps(self) -> Fraction:
        """Frame rate of the open video."""
        return self._fps

    @property
    def speed(self) -> float:
        """Playback speed factor (0.1 to 2)."""
        return self._speed

    @property
    def clock(self) -> PlaybackClock | None:
        """The playback clock while playing (the audio follows it and may shift it)."""
        return self._clock

    @property
    def is_playing(self) -> bool:
        """True while playing."""
        return self._timer.isActive()

    # ----------------------------------------------------------------- building
    def _action(self, text: str, keys: list[str], slot, tip: str, icon_text: str) -> QAction:
        action = QAction(text, self)
        action.setIconText(icon_text)   # the button's short label; menus show ``text``
        action.setShortcuts([QKeySequence(k) for k in keys])
        # Works wherever focus is inside the window (a spin box cannot swallow it).
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        shortcut = " / ".join(keys)
        action.setToolTip(f"{tip} ({shortcut})")
        action.setStatusTip(f"{tip} ({shortcut})")
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.play_action = self._action("Play", ["Space"], self.toggle_play, "Play / pause",
                                        "▶")
        self.step_back_action = self._action(
            "Back 1", ["Left"], lambda: self.step(-1), "One frame back", "−1")
        self.step_fwd_action = self._action(
            "Fwd 1", ["Right"], lambda: self.step(1), "One frame forward", "+1")
        self.jump_back_action = self._action(
            "Back 10", ["Shift+Left"], lambda: self.step(-10), "Ten frames back", "−10")
        self.jump_fwd_action = self._action(
            "Fwd 10", ["Shift+Right"], lambda: self.step(10), "Ten frames forward", "+10")
        self.home_action = self._action("Start", ["Home"], lambda: self.seek(0), "First frame",
                                        "|◀")
        self.end_action = self._action(
            "End", ["End"], lambda: self.seek(self._total - 1), "Last frame", "▶|")
        self.slower_action = self._action("Slower", ["Ctrl+Down"], self.slower, "Slower", "−")
        self.faster_action = self._action("Faster", ["Ctrl+Up"], self.faster, "Faster", "+")

    def playback_actions(self) -> list[QAction]:
        """The playback actions, for the window's menu (their shortcuts work window-wide)."""
        return [self.play_action, self.step_back_action, self.step_fwd_action,
                self.jump_back_action, self.jump_fwd_action, self.home_action,
                self.end_action, self.slower_action, self.faster_action]

    def _tool_button(self, action: QAction) -> QToolButton:
        button = QToolButton(self)
        button.setDefaultAction(action)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        return button

    def _build_ui(self) -> None:
        self.speed_combo = QComboBox(self)
        for speed in SPEEDS:
            self.speed_combo.addItem(f"{speed:g}×", speed)
        self.speed_combo.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed_combo.setToolTip("Playback speed (Ctrl+Up / Ctrl+Down)")
        self.speed_combo.currentIndexChanged.connect(
            lambda i: self.set_speed(self.speed_combo.itemData(i)))
        self.frame_label = QLabel("frame – / –", self)
        self.time_label = QLabel("––:––:––.––– / ––:––:––.–––", self)
        for label in (self.frame_label, self.time_label):
            label.setObjectName("counterLabel")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.frame_label.setToolTip("Current frame (0-based) / number of frames")
        self.time_label.setToolTip("Start time of the current frame / duration")
        controls = QHBoxLayout()
        controls.setContentsMargins(4, 2, 4, 2)
        for action in (self.home_action, self.jump_back_action, self.step_back_action,
                       self.play_action, self.step_fwd_action, self.jump_fwd_action,
                       self.end_action):
            controls.addWidget(self._tool_button(action))
        self.play_button = controls.itemAt(3).widget()
        controls.addSpacing(8)
        controls.addWidget(QLabel("Speed", self))
        controls.addWidget(self.speed_combo)
        controls.addStretch(1)
        counters = QVBoxLayout()
        counters.setSpacing(0)
        counters.addWidget(self.frame_label, 0, Qt.AlignmentFlag.AlignRight)
        counters.addWidget(self.time_label, 0, Qt.AlignmentFlag.AlignRight)
        controls.addLayout(counters)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.view, 1)
        layout.addLayout(controls)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def _set_enabled(self, enabled: bool, why: str = "") -> None:
        for action in self.playback_actions():
            action.setEnabled(enabled)
        self.speed_combo.setEnabled(enabled)
        for button in self.findChildren(QToolButton):
            tip = button.defaultAction().toolTip()
            button.setToolTip(tip if enabled else f"{tip} — disabled: {why}")

    # ----------------------------------------------------------------- video
    def open_video(self, video_path: str | Path) -> None:
        """Open ``video_path`` in a new decode worker (returns at once)."""
        self.close_video()
        self.view.set_message(f"Opening {Path(video_path).name} …")
        worker = DecodeWorker(video_path, self.scrubber.open(video_path))
        worker.opened.connect(self._on_worker_opened)
        worker.frame_decoded.connect(self._on_worker_frame_decoded)
        worker.failed.connect(self._on_worker_failed)
        self._worker = worker
        worker.start()

    def close_video(self) -> None:
        """Stop playback and retire the decode worker without waiting for it."""
        self.pause()
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.opened.disconnect()
            worker.frame_decoded.disconnect()
            worker.failed.disconnect()
            retire(self._retired, worker)
        self.scrubber.close()
        self._total, self._frame, self._shown, self._boxes = 0, 0, -1, None
        self._preview_of = -1
        self.view.set_image(None)
        self.view.set_face_box(None)
        self.view.set_message("No video")
        self._set_enabled(False, "Open a video first")
        self._update_counters()

    def shutdown(self) -> None:
        """Stop every decode worker and wait for them (application exit only)."""
        self.close_video()
        self.scrubber.shutdown()
        for worker in list(self._retired):
            worker.shutdown()
        self._retired.clear()

    def set_face_boxes(self, boxes: np.ndarray | None) -> None:
        """Face boxes per frame, ``(N, 4)`` float (NaN: no face), for the inset."""
        self._boxes = boxes
        self._update_face_box()

    def _update_face_box(self) -> None:
        box = None
        if self._boxes is not None and 0 <= self._shown < len(self._boxes):
            box = tuple(float(v) for v in self._boxes[self._shown])
        self.view.set_face_box(box)

    def _on_worker_opened(self, total: int, fps: Fraction, size: tuple[int, int]) -> None:
        self._total, self._fps = int(total), Fraction(fps)
        if self._total == 0:
            self._on_worker_failed(f"{self._worker.video_path}: no frames decode")
            return
        self._set_enabled(True)
        self.video_opened.emit(self._total)
        self.seek(0)

    def _on_worker_frame_decoded(self, frame_idx: int, image: QImage) -> None:
        if frame_idx != self._frame and self._preview_of == self._frame:
            return   # a stale exact frame must not replace the current frame's preview
        self._shown, self._preview_of = frame_idx, -1
        self.view.set_image(image)
        self._update_face_box()
        self.frame_shown.emit(frame_idx)

    def _on_scrubber_preview_ready(self, requested: int, shown: int, image: QImage,
                                   source: str) -> None:
        if requested != self._frame or self._shown == self._frame or self.is_playing:
            return   # stale, or the exact frame is on screen already
        if source == "cache" and shown == requested:   # decoded meanwhile: it is exact
            self._on_worker_frame_decoded(requested, image)
            return
        self._preview_of = requested
        note = "" if shown == requested else f"≈ frame {shown}"
        self.view.set_image(image, note or ("proxy preview" if source == "proxy" else ""))
        self.view.set_face_box(None)   # the boxes are in full-size pixels of another frame
        self.preview_shown.emit(requested, shown, source)

    def _on_worker_failed(self, message: str) -> None:
        log.error("video failed: %s", message)
        self.close_video()
        self.view.set_message("Could not open the video")
        self.video_failed.emit(message)

    # ----------------------------------------------------------------- transport
    def seek(self, frame_idx: int) -> None:
        """Show exactly frame ``frame_idx`` (clamped to the video)."""
        if self._worker is None or self._total == 0:
            return
        frame_idx = max(0, min(int(frame_idx), self._total - 1))
        if self.is_playing and self._clock is not None:
            self._clock = PlaybackClock(frame_idx, self._fps, self._speed)
        self._frame = frame_idx
        cached = self.scrubber.cached(frame_idx)
        if cached is not None:   # decoded before: show it now, no worker round trip
            self._on_worker_frame_decoded(frame_idx, rgb_to_qimage(cached))
            self._worker.prefetch_around(frame_idx)
        else:
            self.scrubber.request(frame_idx)   # a stand-in at once; the exact frame follows
            self._worker.request(frame_idx)
        self._update_counters()
        self.frame_changed.emit(frame_idx)

    def step(self, frames: int) -> None:
        """Pause and move ``frames`` frames (negative: back)."""
        self.pause()
        self.seek(self._frame + frames)

    def play(self) -> None:
        """Start playing from the current frame (from the start when at the end)."""
        if self._worker is None or self._total == 0 or self.is_playing:
            return
        if self._frame >= self._total - 1:
            self.seek(0)
        self._clock = PlaybackClock(self._frame, self._fps, self._speed)
        self._timer.start(max(5, min(40, int(1000 / (float(self._fps) * self._speed)))))
        self.play_action.setText("Pause")
        self.play_action.setIconText("❚❚")
        self.playing_changed.emit(True)

    def pause(self) -> None:
        """Stop playing (the frame stays)."""
        if not self.is_playing:
            return
        self._timer.stop()
        self._clock = None
        self.play_action.setText("Play")
        self.play_action.setIconText("▶")
        self.playing_changed.emit(False)

    def toggle_play(self) -> None:
        """Play when paused, pause when playing."""
        self.pause() if self.is_playing else self.play()

    def set_speed(self, speed: float) -> None:
        """Set the playback speed (clamped to 0.1–2)."""
        self._speed = max(SPEEDS[0], min(SPEEDS[-1], float(speed)))
        nearest = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - self._speed))
        self.speed_combo.blockSignals(True)
        self.speed_combo.setCurrentIndex(nearest)
        self.speed_combo.blockSignals(False)
        if self.is_playing:
            self.pause()
            self.play()

    def slower(self) -> None:
        """One speed step slower."""
        self.set_speed(SPEEDS[max(0, self.speed_combo.currentIndex() - 1)])

    def faster(self) -> None:
        """One speed step faster."""
        self.set_speed(SPEEDS[min(len(SPEEDS) - 1, self.speed_combo.currentIndex() + 1)])

    def _on_timer_timeout(self) -> None:
        if self._clock is None or self._worker is None:
            return
        target = self._clock.target()
        if target >= self._total:
            self.seek(self._total - 1)
            self.pause()
            return
        # Behind: the previous frame is still being decoded; skip this tick, never queue.
        if target != self._frame and not self._worker.busy:
            self._frame = target
            self._worker.request(target, prefetch=False)
            self._update_counters()
            self.frame_changed.emit(target)

    def _update_counters(self) -> None:
        if self._total == 0:
            self.frame_label.setText("frame – / –")
            self.time_label.setText("––:––:––.––– / ––:––:––.–––")
            return
        self.frame_label.setText(f"frame {self._frame} / {self._total}")
        now = format_time(frame_to_ms(self._frame, self._fps))
        duration = format_time(frame_to_ms(self._total, self._fps))
        self.time_label.setText(f"{now} / {duration}")
