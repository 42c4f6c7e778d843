"""Playing one segment: once from onset to offset, or looped until stopped.

Uses only the player's public transport (``seek``, ``play``, ``pause``, ``frame_changed``,
``playing_changed``), so it works with whatever decoding the player does. Playing stops at
the offset (or jumps back to the onset when looping) as soon as the player reports a frame
past it. Pausing, or a seek outside the segment by the user, ends the range.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from app.actions import window_action


class RangePlayback(QObject):
    """Plays frame ranges on a player.

    Args:
        player: the ``PlayerWidget``.
        selected_span: ``(onset, offset)`` of the selected segment (else the one at the
            playhead), or None.
        window: owner of the actions.

    Signals:
        range_changed(int, int, bool): onset, offset, loop of the range playing
            (``-1, -1, False``: none).
    """

    range_changed = Signal(int, int, bool)

    def __init__(self, player, selected_span: Callable[[], tuple[int, int] | None],
                 window) -> None:
        super().__init__(window)
        self.player, self.selected_span = player, selected_span
        self.span: tuple[int, int] | None = None
        self.loop = False
        self._seeking = False
        self._looped = False
        self.play_segment = window_action(window, "Play segment", "Shift+Space",
                                          lambda: self.start(loop=False),
                                          "Play the selected segment from onset to offset")
        self.loop_segment = window_action(window, "Loop segment", "Ctrl+L",
                                          lambda: self.start(loop=True),
                                          "Play the selected segment over and over "
                                          "(Space or the key again stops)")
        player.frame_changed.connect(self._on_player_frame_changed)
        player.playing_changed.connect(self._on_player_playing_changed)

    def actions(self) -> list:
        """The actions, in menu order."""
        return [self.play_segment, self.loop_segment]

    def start(self, loop: bool) -> bool:
        """Play the selected segment (``loop``: again and again); the same key while the
        loop runs stops it. Returns whether a range started."""
        if self.span is not None and self.loop and loop:
            self.stop()
            return False
        span = self.selected_span()
        if span is None:
            return False
        self.play_range(span[0], span[1], loop)
        return True

    def play_range(self, onset: int, offset: int, loop: bool = False) -> None:
        """Play frames ``onset .. offset`` (inclusive) once, or looped."""
        self.player.pause()
        self.span, self.loop = (int(onset), int(offset)), bool(loop)
        self._seek(onset)
        self.player.play()
        self.range_changed.emit(onset, offset, self.loop)

    def stop(self) -> None:
        """End the range (pausing the player)."""
        if self.span is None:
            return
        self.span = None
        self.player.pause()
        self.range_changed.emit(-1, -1, False)

    def _seek(self, frame: int) -> None:
        self._seeking = True
        try:
            self.player.seek(frame)
        finally:
            self._seeking = False

    def _on_player_frame_changed(self, frame: int) -> None:
        if self.span is None or self._seeking:
            return
        onset, offset = self.span
        self._looped = False
        if self.loop and frame > offset:
            self._seek(onset)
            self._looped = True     # the player may now stop at the clip's end: go on
        elif not self.loop and frame >= offset:
            self.span = None
            self.player.pause()
            if frame != offset:           # the clock skipped past it: show the offset
                self._seek(offset)
            self.range_changed.emit(-1, -1, False)
        elif frame < onset:
            self.span = None          # the user went elsewhere
            self.range_changed.emit(-1, -1, False)

    def _on_player_playing_changed(self, playing: bool) -> None:
        if not playing and self.span is not None and not self._seeking:
            if self.loop and self._looped:
                # the player ran past the clip's end before the loop caught it: go on
                self._looped = False
                QTimer.singleShot(0, self.player.play)
                return
            # paused by the user (Space)
            self.span = None
            self.range_changed.emit(-1, -1, False)
