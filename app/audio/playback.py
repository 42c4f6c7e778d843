"""The clip's sound during playback: QtMultimedia, kept in step with the video player.

The :class:`app.player.PlayerWidget` stays the one owner of the playhead; this controller
follows it (play, pause, seek, speed) with a ``QMediaPlayer`` that plays the same file's
audio track. The two clocks are kept together by letting the video follow the audio:
every ``SYNC_INTERVAL_MS`` the audio position is compared with the video clock, the
differences are averaged over ``SYNC_WINDOW`` readings (``QMediaPlayer.position`` moves in
steps of one audio packet, 20-64 ms), and when the mean is more than ``MAX_OFFSET_FRAMES``
away the video clock is shifted by it (``PlaybackClock.shift``). A jump of more than
``RESEEK_MS`` (a seek while playing) re-seeks the audio instead.

Speeds: the audio plays from 0.5× to 2× with its pitch kept (``QMediaPlayer``'s pitch
compensation); outside that range, or at any speed but 1× when the backend has no pitch
compensation, it is muted and the status bar says so. No audio track: "no audio track".
No audio output device: the video plays silently, with a status note.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from app.actions import window_action
from meldae.timebase import frame_to_ms

log = logging.getLogger(__name__)

AUDIBLE_SPEEDS = (0.5, 2.0)    # inclusive range in which the audio plays (pitch kept)
VOLUME_STEP = 0.1
SYNC_INTERVAL_MS = 100
SYNC_WINDOW = 10               # readings averaged before the video clock is shifted
MAX_OFFSET_FRAMES = 0.25       # mean audio-video offset tolerated before shifting the video
RESEEK_MS = 250                # larger jumps (a seek while playing) re-seek the audio


def has_audio_output() -> bool:
    """True when the system offers an audio output device."""
    from PySide6.QtMultimedia import QMediaDevices

    return bool(QMediaDevices.audioOutputs())


class AudioPlayback(QObject):
    """Plays the open clip's audio track in step with ``player``.

    Args:
        player: the video player (``PlayerWidget``): its clock, frame and speed rule.
        status: shows a message in the status bar (``text, timeout_ms``).
        parent: the window (its shortcuts are window-wide).
        require_output: without an audio device, stay silent (True) or run the media
            player on its own clock anyway (False: benchmarks on machines without sound).

    Signals:
        state_changed(str): what the audio does now, in words ("audio", "no audio track",
            "no audio output", "muted", "muted outside 0.5×–2×", ...).
        offset_measured(float): mean audio minus video position, frames (each sync step).
    """

    state_changed = Signal(str)
    offset_measured = Signal(float)

    def __init__(self, player, status: Callable[[str, int], None], parent: QWidget,
                 require_output: bool = True) -> None:
        super().__init__(parent)
        self.player = player
        self.status = status
        self.require_output = require_output
        self._media = None
        self._output = None
        self._has_track = False
        self._muted = False
        self._volume = 1.0
        self._offsets: deque[float] = deque(maxlen=SYNC_WINDOW)
        self.corrections = 0       # video clock shifts so far (benchmarks read it)
        self._timer = QTimer(self)
        self._timer.setInterval(SYNC_INTERVAL_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        player.playing_changed.connect(self._on_player_playing_changed)
        self._build_actions(parent)
        self._state = "no clip"

    # ------------------------------------------------------------------ actions
    def _build_actions(self, window: QWidget) -> None:
        self.mute_action = window_action(window, "Mute", "M", self.toggle_mute,
                                         "Mute / unmute the clip's sound")
        self.mute_action.setCheckable(True)
        self.volume_up_action = window_action(window, "Volume up", "Shift+Up",
                                              lambda: self.change_volume(VOLUME_STEP),
                                              "Louder")
        self.volume_down_action = window_action(window, "Volume down", "Shift+Down",
                                                lambda: self.change_volume(-VOLUME_STEP),
                                                "Quieter")
        for action in self.actions():
            window.addAction(action)

    def actions(self) -> list[QAction]:
        """Mute, volume up, volume down (for the Playback menu)."""
        return [self.mute_action, self.volume_up_action, self.volume_down_action]

    # ------------------------------------------------------------------ properties
    @property
    def state(self) -> str:
        """What the audio does now, in words (see ``state_changed``)."""
        return self._state

    @property
    def has_track(self) -> bool:
        """True when the open clip has an audio track."""
        return self._has_track

    @property
    def muted(self) -> bool:
        """Muted by the user."""
        return self._muted

    @property
    def volume(self) -> float:
        """Volume, 0 to 1."""
        return self._volume

    @property
    def media_player(self):
        """The ``QMediaPlayer`` (None: no track, or no output device)."""
        return self._media

    def audible_at(self, speed: float) -> bool:
        """Whether the audio plays at ``speed`` (pitch kept) rather than being muted."""
        lo, hi = AUDIBLE_SPEEDS
        if not lo <= speed <= hi:
            return False
        if abs(speed - 1.0) < 1e-9 or self._media is None:
            return True
        from PySide6.QtMultimedia import QMediaPlayer

        return (self._media.pitchCompensationAvailability()
                != QMediaPlayer.PitchCompensationAvailability.Unavailable)

    # ------------------------------------------------------------------ clip
    def open(self, video_path: str | Path) -> None:
        """Prepare the audio of ``video_path`` (probed here: the header only)."""
        from meldae.audio import AudioError, probe_audio

        self.close()
        try:
            info = probe_audio(video_path)
        except AudioError as exc:
            log.warning("audio: %s", exc)
            info = None
        self._has_track = info is not None
        if not self._has_track:
            self._set_state("no audio track")
            return
        if self.require_output and not has_audio_output():
            self._set_state("no audio output")
            self.status("No audio output device: the video plays without sound", 8000)
            return
        self._create_media(Path(video_path))
        self._set_state(self._playing_state())

    def _create_media(self, path: Path) -> None:
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

        self._output = QAudioOutput(self)
        self._output.setVolume(self._volume)
        self._output.setMuted(self._muted)
        self._media = QMediaPlayer(self)
        self._media.setAudioOutput(self._output)
        if hasattr(self._media, "setPitchCompensation"):
            self._media.setPitchCompensation(True)
        self._media.errorOccurred.connect(self._on_media_error)
        self._media.setSource(QUrl.fromLocalFile(str(path.resolve())))

    def close(self) -> None:
        """Stop and forget the clip's audio."""
        self._timer.stop()
        if self._media is not None:
            self._media.stop()
            self._media.deleteLater()
            self._output.deleteLater()
        self._media = self._output = None
        self._has_track = False
        self._offsets.clear()
        self._set_state("no clip")

    # ------------------------------------------------------------------ user controls
    def toggle_mute(self) -> None:
        """Mute when audible, unmute when muted."""
        self.set_muted(not self._muted)

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute (remembered across clips)."""
        self._muted = bool(muted)
        self.mute_action.setChecked(self._muted)
        if self._output is not None:
            self._output.setMuted(self._muted)
        self._set_state(self._playing_state())
        self.status("Sound muted" if self._muted else "Sound on", 3000)

    def change_volume(self, step: float) -> None:
        """Change the volume by ``step`` (clamped to 0..1)."""
        self.set_volume(self._volume + step)

    def set_volume(self, volume: float) -> None:
        """Set the volume, 0 to 1 (remembered across clips)."""
        self._volume = max(0.0, min(1.0, round(float(volume), 3)))
        if self._output is not None:
            self._output.setVolume(self._volume)
        self.status(f"Volume {round(self._volume * 100)}%", 3000)

    # ------------------------------------------------------------------ following the player
    def _playing_state(self) -> str:
        if not self._has_track:
            return "no audio track"
        if self._media is None:
            return "audio failed" if self._state == "audio failed" else "no audio output"
        if self._muted:
            return "muted"
        if not self.audible_at(self.player.speed):
            lo, hi = AUDIBLE_SPEEDS
            return f"muted outside {lo:g}×–{hi:g}×"
        return "audio"

    def _on_player_playing_changed(self, playing: bool) -> None:
        self._set_state(self._playing_state())
        if self._media is None:
            return
        if not playing or not self.audible_at(self.player.speed):
            self._timer.stop()
            self._media.pause()
            return
        self._media.setPlaybackRate(self.player.speed)
        self._media.setPosition(frame_to_ms(self.player.current_frame, self.player.fps))
        self._offsets.clear()
        self._media.play()
        self._timer.start()

    def _on_timer_timeout(self) -> None:
        clock = self.player.clock
        if clock is None or self._media is None:
            return
        fps = float(self.player.fps)
        video = clock.position()
        audio = self._media.position() * fps / 1000.0
        if abs(audio - video) * 1000.0 / fps > RESEEK_MS:
            self._media.setPosition(frame_to_ms(max(0, int(video)), self.player.fps))
            self._offsets.clear()
            return
        self._offsets.append(audio - video)
        if len(self._offsets) < SYNC_WINDOW:
            return
        mean = sum(self._offsets) / len(self._offsets)
        self.offset_measured.emit(mean)
        if abs(mean) > MAX_OFFSET_FRAMES:
            clock.shift(mean)
            self.corrections += 1
            self._offsets.clear()

    def _on_media_error(self, _error, text: str) -> None:
        log.warning("audio playback: %s", text)
        self._timer.stop()
        media, output, self._media, self._output = self._media, self._output, None, None
        if media is not None:
            media.deleteLater()
            output.deleteLater()
        self.status(f"Audio playback failed ({text}); the video plays without sound", 8000)
        self._set_state("audio failed")

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)
