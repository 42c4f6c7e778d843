"""The app's sound: playback following the player, the waveform lane, the audio's turns."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QWidget

from app.audio.lanes import AudioLanes
from app.audio.playback import AudioPlayback, has_audio_output
from app.audio.waveform_item import BINS_PER_PIXEL
from app.editing.commands import SetSpeakingCommand  # noqa: F401  (the command the lanes push)
from app.editing.document import AnnotationDocument
from app.player.player_widget import PlayerWidget
from app.timeline.timeline_widget import TimelineWidget
from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source
from meldae.audio import Envelope
from meldae.audio.synth import speech_test_video, write_test_video

SPEECH_WAV = Path(__file__).resolve().parents[2] / "data" / "speech_en.wav"


@pytest.fixture(scope="module")
def speech_video(tmp_path_factory):
    return speech_test_video(tmp_path_factory.mktemp("speech"), SPEECH_WAV)


@pytest.fixture(scope="module")
def mute_video(tmp_path_factory) -> Path:
    return write_test_video(tmp_path_factory.mktemp("mute") / "mute.mp4", None, 2.0)


class _Status:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, text: str, timeout_ms: int = 0) -> None:
        self.messages.append(text)


@pytest.fixture
def rig(qtbot):
    """A window with a player and an AudioPlayback following it."""
    window = QWidget()
    qtbot.addWidget(window)
    player = PlayerWidget(window)
    status = _Status()
    yield window, player, status
    player.shutdown()


def _open(qtbot, player, video):
    with qtbot.waitSignal(player.video_opened, timeout=10000):
        player.open_video(video)


def test_no_audio_track_and_no_output_are_said_and_playback_goes_on(qtbot, rig, speech_video,
                                                                     mute_video):
    window, player, status = rig
    audio = AudioPlayback(player, status, window)
    _open(qtbot, player, mute_video)
    audio.open(mute_video)
    assert audio.state == "no audio track" and audio.media_player is None
    _open(qtbot, player, speech_video[0])
    audio.open(speech_video[0])
    if has_audio_output():
        pytest.skip("this machine has a sound card: the silent path is not taken")
    assert audio.state == "no audio output"
    assert any("without sound" in m for m in status.messages)
    player.play()
    qtbot.waitUntil(lambda: player.current_frame > 5, timeout=5000)   # the video plays on
    player.pause()
    audio.close()


def test_playback_follows_play_pause_and_mutes_outside_the_speed_range(qtbot, rig, speech_video):
    from PySide6.QtMultimedia import QMediaPlayer

    window, player, status = rig
    audio = AudioPlayback(player, status, window, require_output=False)
    _open(qtbot, player, speech_video[0])
    audio.open(speech_video[0])
    media = audio.media_player
    qtbot.waitUntil(lambda: media.mediaStatus() == QMediaPlayer.MediaStatus.LoadedMedia,
                    timeout=10000)
    assert media.pitchCompensation() or not hasattr(media, "setPitchCompensation")
    player.seek(100)
    player.play()
    assert media.playbackState() == QMediaPlayer.PlaybackState.PlayingState
    assert abs(media.position() - 4000) < 200 and audio.state == "audio"
    player.pause()
    assert media.playbackState() == QMediaPlayer.PlaybackState.PausedState
    for speed, audible in ((0.5, True), (2.0, True), (0.25, False), (0.1, False)):
        player.set_speed(speed)
        player.play()
        playing = media.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        assert playing == audible, speed
        assert (audio.state == "audio") == audible
        if audible:
            assert media.playbackRate() == pytest.approx(speed)
        else:
            assert audio.state == "muted outside 0.5×–2×"
        player.pause()
    audio.close()


def test_mute_and_volume_keys(qtbot, rig, speech_video):
    window, player, status = rig
    audio = AudioPlayback(player, status, window, require_output=False)
    audio.open(speech_video[0])
    window.show()
    qtbot.waitExposed(window)
    assert [a.shortcut().toString() for a in audio.actions()] == ["M", "Shift+Up", "Shift+Down"]
    audio.mute_action.trigger()
    assert audio.muted and audio.state == "muted"
    assert audio.media_player.audioOutput().isMuted()
    audio.mute_action.trigger()
    assert not audio.muted and not audio.media_player.audioOutput().isMuted()
    for _ in range(3):
        audio.volume_down_action.trigger()
    assert audio.volume == pytest.approx(0.7)
    assert audio.media_player.audioOutput().volume() == pytest.approx(0.7, abs=0.01)
    for _ in range(5):
        audio.volume_up_action.trigger()
    assert audio.volume == 1.0 and status.messages[-1] == "Volume 100%"
    audio.close()


def test_video_clock_follows_the_audio_within_a_frame(qtbot, rig, speech_video):
    window, player, status = rig
    audio = AudioPlayback(player, status, window, require_output=False)
    _open(qtbot, player, speech_video[0])
    audio.open(speech_video[0])
    qtbot.wait(500)
    offsets: list[float] = []
    audio.offset_measured.connect(offsets.append)
    player.play()
    qtbot.wait(1500)
    before = audio.corrections
    player.clock.shift(4.0)            # the video runs 4 frames (160 ms) ahead of the sound
    qtbot.waitUntil(lambda: audio.corrections > before, timeout=5000)
    assert offsets[-1] < -1.0          # seen: the audio is behind
    seen = len(offsets)
    # Within a few seconds the mean offset is back within a frame.
    qtbot.waitUntil(lambda: len(offsets) > seen and abs(offsets[-1]) < 1.0, timeout=6000)
    player.pause()
    audio.close()


def test_waveform_lane_draws_a_bounded_number_of_bins_at_every_zoom(qtbot):
    timeline = TimelineWidget()
    qtbot.addWidget(timeline)
    timeline.resize(1200, 300)
    n_frames = 216_000                        # one hour at 60 fps
    timeline.set_frame_count(n_frames)
    rng = np.random.default_rng(0)
    bins = 360_000
    env = Envelope(-rng.random(bins).astype(np.float32), rng.random(bins).astype(np.float32),
                   100.0, 3600.0)
    timeline.set_envelope(env, 60)
    timeline.show()
    qtbot.waitExposed(timeline)
    item = timeline.waveform_item
    width = int(timeline.view_box.width())
    for first, last in ((0, n_frames), (100_000, 130_000), (50_000, 50_600), (10, 40)):
        timeline.zoom_to(first, last)
        started = time.perf_counter()
        timeline.grab()
        elapsed = time.perf_counter() - started
        assert 0 < item.drawn_bins <= BINS_PER_PIXEL * width * 4 + 2
        assert elapsed < 0.5, (first, last, elapsed)
    lines = item.visible_lines(0, 60, 1000)    # one second: the finest level, 100 bins
    assert len(lines) == pytest.approx(100, abs=2)
    assert lines[:, 1].min() >= -1.04 - 1e-6 and lines[:, 3].max() <= -1.04 + 0.22 + 1e-6
    timeline.set_frame_count(10)               # a new clip clears the lane
    assert item.envelope is None


def test_audio_lanes_draw_turns_and_use_them_as_one_undo_step(qtbot, speech_video, mute_video):
    from PySide6.QtGui import QUndoStack

    window = QWidget()
    qtbot.addWidget(window)
    timeline = TimelineWidget(window)
    document = AnnotationDocument(parent=window)
    manual = [Segment(5, 9, source=Source.MANUAL)]
    document.load(ClipAnnotations(segments=[], speaking=manual), 500)
    undo = QUndoStack(window)
    status = _Status()
    lanes = AudioLanes(timeline, document, undo, status, window)
    timeline.set_frame_count(500)
    assert not lanes.use_action.isEnabled()
    summaries: list[str] = []
    lanes.summary_changed.connect(summaries.append)
    with qtbot.waitSignals([lanes.envelope_ready, lanes.turns_ready], timeout=60000):
        lanes.open_clip(speech_video[0], 500, 25)
    assert timeline.waveform_item.envelope is not None
    assert len(timeline.speak_audio_item.segments) == 3
    assert lanes.use_action.isEnabled()
    qtbot.waitUntil(lambda: summaries[-1] == "3 speaking turn(s)", timeout=5000)
    lanes.use_action.trigger()
    speaking = document.speaking
    assert len(speaking) == 3 and undo.count() == 1
    assert all(s.source == Source.PREDICTED and s.review == ReviewState.ACCEPTED
               for s in speaking)
    assert undo.undoText() == "Use the audio's speaking turns"
    undo.undo()
    assert list(document.speaking) == manual
    lanes.set_gap(0.1)                          # the 0.3 s pause now splits a turn
    assert len(timeline.speak_audio_item.segments) == 4
    with qtbot.waitSignal(lanes.audio_failed, timeout=10000) as blocker:
        lanes.open_clip(mute_video, 50, 25)
    assert blocker.args == ["no audio track"]
    assert summaries[-1] == "no speaking turns"
    qtbot.waitUntil(lambda: not lanes.running, timeout=10000)
    lanes.shutdown()


def test_main_window_plays_silently_and_draws_the_audio_lanes(qtbot, speech_video, mute_video,
                                                              tiny_checkpoint):
    from app.main_window import MainWindow

    window = MainWindow(checkpoint=tiny_checkpoint, device="cpu")
    qtbot.addWidget(window)
    window._show_error = lambda title, text: None
    with qtbot.waitSignals([window.clip_opened, window.audio_lanes.turns_ready,
                            window.audio_lanes.envelope_ready], timeout=60000):
        window.open_path(speech_video[0])
    expected = "♪ audio" if has_audio_output() else "♪ no audio output"
    assert window.audio_label.text() == expected
    assert len(window.timeline.speak_audio_item.segments) == 3
    assert window.audio_lanes_label.text() == "3 speaking turn(s)"
    menu_texts = [a.text() for a in window.menuBar().actions()[1].menu().actions()]
    assert "Use the audio's speaking turns" in menu_texts
    window.player.play()
    qtbot.waitUntil(lambda: window.player.current_frame > 3, timeout=5000)
    window.player.pause()
    with qtbot.waitSignal(window.clip_opened, timeout=30000):
        window.open_path(mute_video)
    assert window.audio_label.text() == "♪ no audio track"
    qtbot.waitUntil(lambda: window.audio_lanes_label.text() == "no speaking turns", timeout=10000)
    assert "Audio" not in window.statusBar().currentMessage()    # no error for a silent clip
    qtbot.waitUntil(lambda: not window.audio_lanes.running, timeout=10000)
    window.shutdown()
