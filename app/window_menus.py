"""The main window's menu bar: File, Edit, View, Playback, Model, Help.

Built by :func:`build_menus` once the window's parts exist. Keys of the Review tab's
actions (editing, playback, zoom, segment playback) are scoped to that tab
(:class:`app.shortcuts.TabScopedShortcuts`); file, model and help actions work everywhere.
Help ▸ Keyboard shortcuts lists every action (:func:`app.shortcuts.action_catalog`), the
same list ``python main.py --list-actions`` prints.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from app.actions import window_action
from app.editing.editor_actions import EditingActions
from app.editing.speaking import SpeakingEditor
from app.project.recent_menu import RecentMenu
from app.review.range_playback import RangePlayback
from app.review.scoring_actions import ScoringActions
from app.shortcuts import TabScopedShortcuts, action_catalog
from app.timeline.zoom import ZoomActions


def selected_span(window) -> tuple[int, int] | None:
    """``(onset, offset)`` of the selected segment, else of the one under the playhead."""
    doc, sid = window.document, window.editor.selected
    if sid not in doc:
        sid = doc.segment_at(window.player.current_frame)
    if sid is None:
        return None
    seg = doc.segment(sid)
    return seg.onset, seg.offset


def _file_menu(window) -> list[QAction]:
    menu = window.menuBar().addMenu("&File")
    review = window.review
    actions = [
        QAction("Open video…", window, shortcut=QKeySequence.StandardKey.Open,
                triggered=review.ask_open_video),
        QAction("Open clip folder…", window, shortcut=QKeySequence("Ctrl+Shift+O"),
                triggered=review.ask_open_folder)]
    for action in actions:
        menu.addAction(action)
        window.addAction(action)
    window.recent_menu = RecentMenu(window.open_path, parent=window)
    menu.addMenu(window.recent_menu)
    clip_actions = [
        QAction("Next clip", window, shortcut=QKeySequence("Ctrl+PgDown"),
                triggered=lambda: review.open_neighbour(1)),
        QAction("Previous clip", window, shortcut=QKeySequence("Ctrl+PgUp"),
                triggered=lambda: review.open_neighbour(-1))]
    for action in clip_actions + review.files.actions():
        menu.addAction(action)
        window.addAction(action)
    menu.addSeparator()
    menu.addAction(QAction("Quit", window, shortcut=QKeySequence.StandardKey.Quit,
                           triggered=window.close))
    return clip_actions


def _edit_menu(window) -> list[QAction]:
    menu = window.menuBar().addMenu("&Edit")
    window.editing_actions = EditingActions(window.editor, window,
                                            lambda: window.player.current_frame)
    scoped = list(window.editing_actions.actions.values())
    for action in scoped:
        menu.addAction(action)
    window.vocabulary_action = window_action(
        window, "Label vocabulary…", "", window.edit_vocabulary,
        "The labels offered for ME segments (an ELAN controlled vocabulary in the EAF)")
    menu.addAction(window.vocabulary_action)
    menu.addSeparator()
    window.speaking_editor = SpeakingEditor(
        window.document, window.undo_stack, window, lambda: window.player.current_frame,
        lambda: window.proposals.current.speaking, window.show_status)
    extra = window.speaking_editor.actions() + window.audio_lanes.actions()
    for action in extra:
        menu.addAction(action)
    return scoped + extra


def _view_and_playback_menus(window) -> list[QAction]:
    view = window.menuBar().addMenu("&View")
    window.zoom = ZoomActions(window.timeline, lambda: window.player.current_frame,
                              lambda: selected_span(window), window)
    for action in window.zoom.actions():
        view.addAction(action)
        window.addAction(action)
    play = window.menuBar().addMenu("&Playback")
    playback = window.player.playback_actions()
    for action in playback:
        play.addAction(action)
        window.addAction(action)
    play.addSeparator()
    window.range_playback = RangePlayback(window.player, lambda: selected_span(window), window)
    for action in window.range_playback.actions():
        play.addAction(action)
        window.addAction(action)
    play.addSeparator()
    for action in window.audio.actions():
        play.addAction(action)
    return (window.zoom.actions() + playback + window.range_playback.actions()
            + window.audio.actions())


def build_menus(window) -> TabScopedShortcuts:
    """Build the menu bar on ``window``; returns the Review tab's key scope."""
    scoped = _file_menu(window)
    scoped += _edit_menu(window)
    scoped += _view_and_playback_menus(window)
    model = window.menuBar().addMenu("&Model")
    for action in window.models.actions():
        model.addAction(action)
    model.addSeparator()
    window.scoring = ScoringActions(window.review, window.scores, window.player,
                                    window.status, window)
    for action in window.scoring.actions():
        model.addAction(action)
        window.addAction(action)
    help_menu = window.menuBar().addMenu("&Help")
    shortcuts = window_action(window, "Keyboard shortcuts", "F1", window.show_shortcuts,
                              "Every action with its key")
    help_menu.addAction(shortcuts)
    window.addAction(shortcuts)
    return TabScopedShortcuts(window.tabs, 0, scoped)


def window_catalog(window) -> list[dict]:
    """Every menu action of ``window`` with its keys (see ``app.shortcuts``)."""
    return action_catalog(window.menuBar(), window.review_keys)
