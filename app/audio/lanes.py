"""The audio lanes of the Review tab: the waveform and the audio's speaking turns.

When a clip opens, :class:`AudioLanes` starts two :class:`app.audio.workers.AudioWorker`s:
the envelope (``meldae.audio.iter_envelope``) and the voice activity
(``meldae.audio.iter_vad``); both are cached per file, so reopening is instant. The
timeline draws what they give; "Use the audio's speaking turns" replaces the annotated
speaking intervals by the turns in one undoable ``SetSpeakingCommand`` (the turns keep
``source=PREDICTED`` and become accepted, as the model's speaking intervals do). The gap
below which a pause stays inside a turn is a setting (0.5 s by default); changing it
re-derives the turns from the cached probabilities without running the detector again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QUndoStack
from PySide6.QtWidgets import QInputDialog, QWidget

from app.actions import window_action
from app.audio.workers import AudioWorker
from app.editing.commands import SetSpeakingCommand
from app.workers import retire
from meldae.annotations.speaking import accept_intervals
from meldae.audio import SpeechTurns, VadSettings

log = logging.getLogger(__name__)


class AudioLanes(QObject):
    """Feeds the timeline's waveform and "Speaking (audio)" lanes for the open clip.

    Args:
        timeline: the ``TimelineWidget`` (``set_envelope``, ``set_audio_speaking``).
        document: the open clip's ``AnnotationDocument``.
        undo_stack: where "Use the audio's speaking turns" goes.
        status: shows a message (``text, timeout_ms``).
        window: owner of the actions (window-wide shortcuts) and of dialogs.
        settings: how probabilities become turns (gap, thresholds).

    Signals:
        summary_changed(str): what the lanes hold or do, in a few words ("waveform 40%",
            "3 speaking turns", "no speaking turns"), for a permanent status-bar label (the
            status bar's messages are left to the user's actions and real errors).
        envelope_ready(): the waveform is drawn.
        turns_ready(): the speaking turns are drawn.
        audio_failed(str): the audio could not be read ("no audio track", ...).
    """

    summary_changed = Signal(str)
    envelope_ready = Signal()
    turns_ready = Signal()
    audio_failed = Signal(str)

    def __init__(self, timeline, document, undo_stack: QUndoStack,
                 status: Callable[[str, int], None], window: QWidget,
                 settings: VadSettings = VadSettings()) -> None:
        super().__init__(window)
        self.timeline, self.document, self.undo_stack = timeline, document, undo_stack
        self.status, self.window, self.settings = status, window, settings
        self.envelope = None
        self.turns: SpeechTurns | None = None
        self._clip: tuple[Path, int, Fraction] | None = None
        self._workers: list[AudioWorker] = []
        self._summary: dict[str, str] = {}       # worker name -> its part of the summary
        self._retired: set[AudioWorker] = set()
        self.use_action = window_action(
            window, "Use the audio's speaking turns", "", self.use_turns,
            "Replace the annotated speaking intervals by the 'Speaking (audio)' turns")
        self.gap_action = window_action(
            window, "Speaking turn gap…", "", self.ask_gap,
            "Pauses shorter than this stay inside a speaking turn")
        self.use_action.setEnabled(False)

    def actions(self) -> list[QAction]:
        """The Edit-menu actions."""
        return [self.use_action, self.gap_action]

    @property
    def running(self) -> bool:
        """True while the envelope or the VAD is being computed."""
        return any(w.isRunning() for w in self._workers)

    # ------------------------------------------------------------------ clip
    def open_clip(self, video_path: str | Path, n_frames: int, fps: Fraction) -> None:
        """Start computing (or reading from the cache) the clip's envelope and turns."""
        from meldae.audio import iter_envelope, iter_vad

        self.close_clip()
        path = Path(video_path)
        self._clip = (path, int(n_frames), Fraction(fps))
        settings = self.settings
        self._start(lambda: iter_envelope(path), "waveform", self._on_envelope_completed)
        self._start(lambda: iter_vad(path, settings), "speaking turns",
                    self._on_turns_completed)

    def close_clip(self) -> None:
        """Stop the workers and clear the lanes."""
        for worker in self._workers:
            worker.progress.disconnect()
            worker.completed.disconnect()
            worker.failed.disconnect()
            retire(self._retired, worker)
        self._workers = []
        self._clip, self.envelope, self.turns = None, None, None
        self.use_action.setEnabled(False)
        self._summary.clear()
        self.summary_changed.emit("")

    def shutdown(self) -> None:
        """Stop every worker and wait for them (application exit only)."""
        self.close_clip()
        for worker in list(self._retired):
            worker.shutdown()
        self._retired.clear()

    def _start(self, make, name: str, on_completed) -> None:
        worker = AudioWorker(make, name, self)
        worker.progress.connect(lambda done, total, n=name: self._on_worker_progress(n, done, total))
        worker.completed.connect(on_completed)
        worker.failed.connect(self._on_worker_failed)
        self._workers.append(worker)
        worker.start()

    # ------------------------------------------------------------------ results
    def _say(self, name: str, text: str) -> None:
        """Set one worker's part of the summary and emit the whole (duplicates once)."""
        self._summary[name] = text
        parts = [t for t in dict.fromkeys(self._summary.values()) if t]
        self.summary_changed.emit(" · ".join(parts))

    def _on_worker_progress(self, name: str, done: float, total: float) -> None:
        if total > 0:
            self._say(name, f"{name} {min(100, round(100 * done / total))}%")

    def _on_envelope_completed(self, envelope) -> None:
        if self._clip is None:
            return
        self.envelope = envelope
        self.timeline.set_envelope(envelope, self._clip[2])
        self._say("waveform", "")
        self.envelope_ready.emit()

    def _on_turns_completed(self, turns: SpeechTurns) -> None:
        if self._clip is None:
            return
        self.turns = turns
        self._draw_turns()
        self.use_action.setEnabled(True)
        self._say("speaking turns", f"{len(turns.turns)} speaking turn(s)")
        self.turns_ready.emit()

    def _on_worker_failed(self, message: str) -> None:
        log.info("audio: %s", message)
        short = "no audio track" if message.endswith("no audio track") else message
        if short != "no audio track":      # a video without sound is no error
            self.status(f"Audio: {short}", 8000)
        name = getattr(self.sender(), "name", "audio")
        # the playback label already says "♪ no audio track"; this one is about the turns
        self._say(name, "no speaking turns" if short == "no audio track" else f"{name} failed")
        self.audio_failed.emit(short)

    def _draw_turns(self) -> None:
        _path, n_frames, fps = self._clip
        self.timeline.set_audio_speaking(self.turns.frames(fps, n_frames))

    # ------------------------------------------------------------------ commands
    def segments(self) -> list:
        """The turns of the open clip as predicted speaking segments (empty when none)."""
        if self.turns is None or self._clip is None:
            return []
        _path, n_frames, fps = self._clip
        return self.turns.segments(fps, n_frames)

    def use_turns(self) -> None:
        """Replace the annotated speaking intervals by the audio's turns (one undo step)."""
        if self.turns is None or self._clip is None:
            self.status("No speaking turns from the audio yet", 5000)
            return
        segments = [s for s in self.segments() if s.offset < self.document.n_frames]
        self.undo_stack.push(SetSpeakingCommand(self.document, accept_intervals(segments),
                                                "Use the audio's speaking turns"))
        self.status(f"{len(segments)} speaking interval(s) from the audio", 5000)

    def set_gap(self, gap_s: float) -> None:
        """Pauses shorter than ``gap_s`` seconds stay inside a turn; redraws the lane."""
        self.settings = replace(self.settings, gap_s=max(0.0, float(gap_s)))
        if self.turns is not None and self._clip is not None:
            self.turns = self.turns.with_settings(self.settings)
            self._draw_turns()

    def ask_gap(self) -> None:
        """Ask for the gap (seconds) in a dialog."""
        gap, ok = QInputDialog.getDouble(self.window, "Speaking turn gap",
                                         "Pauses shorter than this stay inside a turn (s):",
                                         self.settings.gap_s, 0.0, 10.0, 2)
        if ok:
            self.set_gap(gap)

    def spans(self) -> np.ndarray:
        """The turns drawn, ``(K, 2)`` inclusive frames (empty when none)."""
        if self.turns is None or self._clip is None:
            return np.zeros((0, 2), np.int64)
        _path, n_frames, fps = self._clip
        return self.turns.frames(fps, n_frames)
