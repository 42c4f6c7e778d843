"""app.project_review: the Review next and Progress docks, the annotator preference and the
stamps on edits, and the Project menu in the main window."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from app.editing.commands import (  # noqa: E402
    AddSegmentCommand,
    EditSegmentCommand,
    SetReviewCommand,
    SetSpeakingCommand,
)
from app.editing.document import AnnotationDocument  # noqa: E402
from app.project_review.progress_dock import ProgressDock, progress_rows  # noqa: E402
from app.project_review.review_next import ReviewNextDock  # noqa: E402
from app.project_review.settings import AnnotatorSetting, settings_path  # noqa: E402
from meldae.annotations import ReviewState, Segment, Source  # noqa: E402
from meldae.review.annotators import AnnotatorError  # noqa: E402
from meldae.review.progress import AnnotatorCounts, ProjectProgress  # noqa: E402
from meldae.review.queue import Suggestion, SuggestionKind  # noqa: E402

QUEUE = [Suggestion(SuggestionKind.PROPOSAL, "b", 10, 14, 0.52, 0.96),
         Suggestion(SuggestionKind.STRETCH, "a", 30, 33, 0.4, 0.8),
         Suggestion(SuggestionKind.UNSCORED, "c")]


def test_review_next_dock_walks_the_queue(qtbot):
    dock = ReviewNextDock(lambda: (lambda: list(QUEUE)))
    qtbot.addWidget(dock)
    with qtbot.waitSignal(dock.refresh_button.clicked):
        dock.refresh_button.click()
    qtbot.waitUntil(lambda: not dock.busy and dock.tree.topLevelItemCount() == 3, timeout=10_000)
    assert dock.tree.topLevelItem(0).text(1) == "b" and dock.tree.topLevelItem(2).text(2) == "not scored"
    assert "1 undecided proposals" in dock.status.text()
    went: list[Suggestion] = []
    dock.suggestion_activated.connect(went.append)
    for _ in range(3):
        dock.next_suggestion()
    assert went == QUEUE
    assert dock.next_suggestion() is None and "No more suggestions" in dock.status.text()
    # ranked again (after a save): the first proposal was decided, the others stay visited
    extra = Suggestion(SuggestionKind.STRETCH, "d", 5, 6, 0.3, 0.6)
    dock.set_suggestions(QUEUE[1:] + [extra])
    assert dock.next_suggestion() == extra
    dock.set_suggestions([])
    assert "every proposal is decided" in dock.status.text()


def test_review_next_dock_reports_a_failure(qtbot):
    def broken():
        raise OSError("disk gone")

    dock = ReviewNextDock(lambda: broken)
    qtbot.addWidget(dock)
    dock.refresh()
    qtbot.waitUntil(lambda: not dock.busy, timeout=10_000)
    assert "disk gone" in dock.status.text() and dock.refresh_button.isEnabled()


def test_progress_dock_shows_the_summary(qtbot):
    progress = ProjectProgress(clips=3, accepted=2, rejected=1, pending=4, manual=5,
                               annotated_minutes=1.5, known_minutes=4.0,
                               annotators={"alice": AnnotatorCounts(7, 2, 1)})
    progress.by_review.update(done=1, unreviewed=2)
    dock = ProgressDock(lambda: (lambda: progress))
    qtbot.addWidget(dock)
    dock.refresh()
    qtbot.waitUntil(lambda: not dock.busy and dock.tree.topLevelItemCount() == 5, timeout=10_000)
    top = {dock.tree.topLevelItem(i).text(0): dock.tree.topLevelItem(i) for i in range(5)}
    assert top["Proposals decided"].text(1) == "3"
    assert top["Proposals decided"].child(2).text(1) == "4"          # pending
    assert top["Annotated minutes"].text(1) == "1.5 of 4.0"
    assert top["Annotators"].child(0).text(0) == "alice"
    assert [row[0] for row in progress_rows(progress)] == list(top)


def test_annotator_preference_is_kept(qtbot, tmp_path):
    setting = AnnotatorSetting()
    assert setting.name == ""
    with qtbot.waitSignal(setting.changed) as changed:
        setting.set_name("alice")
    assert changed.args == ["alice"] and settings_path().is_file()
    assert AnnotatorSetting().name == "alice"
    with pytest.raises(AnnotatorError):
        setting.set_name("al ice")
    assert AnnotatorSetting().name == "alice"


def test_edits_are_stamped_and_undo_restores_the_stamp(qtbot):
    from PySide6.QtGui import QUndoStack

    doc = AnnotationDocument(n_frames=100)
    stack = QUndoStack()
    doc.annotator = "alice"
    stack.push(AddSegmentCommand(doc, Segment(10, 20)))
    stack.push(AddSegmentCommand(doc, Segment(40, 50, source=Source.PREDICTED)))
    (sid, drawn), (pid, proposal) = doc.items()
    assert drawn.annotator == "alice" and proposal.annotator == ""   # the model's: no stamp
    doc.annotator = "bob"
    stack.push(EditSegmentCommand(doc, sid, drawn.with_changes(offset=25)))
    stack.push(SetReviewCommand(doc, pid, ReviewState.ACCEPTED))
    assert doc.segment(sid).annotator == "bob" and doc.segment(pid).annotator == "bob"
    stack.undo()
    stack.undo()
    assert doc.segment(sid) == Segment(10, 20, annotator="alice")
    assert doc.segment(pid).annotator == ""
    stack.push(SetSpeakingCommand(doc, [Segment(0, 30)]))
    stack.push(SetSpeakingCommand(doc, [doc.speaking[0], Segment(60, 70)]))
    doc.annotator = "carol"
    assert [s.annotator for s in doc.speaking] == ["bob", "bob"]
    stack.push(SetSpeakingCommand(doc, [doc.speaking[0], Segment(60, 80)]))
    assert [s.annotator for s in doc.speaking] == ["bob", "carol"]    # only the new one


def crafted_scores(n_frames: int, fps) -> object:
    from meldae.scores import ClipScores

    loc = np.full(n_frames, 0.05, np.float32)     # (n,)
    loc[20:26] = 0.56
    return ClipScores.from_arrays(loc, state=np.zeros(n_frames), fps=Fraction(fps))


def test_next_suggestion_opens_the_clip_and_zooms(qtbot, window, clip_dir_copy):
    from meldae.project.score_cache import ScoreCache, score_key
    from meldae.review.clip_data import video_timing

    videos = sorted(clip_dir_copy.glob("*.mp4"))
    fps, n_frames = video_timing(videos[1])
    ScoreCache().put(score_key(videos[1], window.active_checkpoint()), crafted_scores(n_frames, fps))
    with qtbot.waitSignal(window.clip_opened, timeout=120_000):
        window.open_path(clip_dir_copy)
    assert window.review.clip.name == videos[0].stem
    controller = window.project_review
    assert controller.actions["next_suggestion"].shortcut().toString() == "Ctrl+G"
    controller.review_next.show()
    dock = controller.review_next
    qtbot.waitUntil(lambda: bool(dock.suggestions) and not dock.busy, timeout=30_000)
    spots = [(s.kind, s.clip, s.onset, s.offset) for s in dock.suggestions]
    # the open clip may have been scored by the (random) tiny model meanwhile: skip its entries
    mine = spots.index((SuggestionKind.PROPOSAL, videos[1].stem, 20, 25))
    assert all(clip == videos[0].stem for _, clip, _, _ in spots[:mine])
    dock.visited.update(s.sort_key for s in dock.suggestions[:mine])
    with qtbot.waitSignal(window.clip_opened, timeout=120_000):
        controller.next_suggestion()
    assert window.review.clip.name == videos[1].stem
    qtbot.waitUntil(lambda: window.player.current_frame == 20, timeout=10_000)
    low, high = window.timeline.visible_range()
    assert low <= 20 and 26 <= high and high - low < n_frames + 10
    # a decision there, saved: the queue is ranked again without that proposal
    window.undo_stack.push(AddSegmentCommand(window.document, Segment(20, 25)))
    with qtbot.waitSignal(dock.queue_changed, timeout=30_000):
        window.review.session.save()
    assert (SuggestionKind.PROPOSAL, videos[1].stem, 20) not in [
        (s.kind, s.clip, s.onset) for s in dock.suggestions]


def test_progress_dock_in_the_window(qtbot, window, clip_dir_copy):
    with qtbot.waitSignal(window.clip_opened, timeout=120_000):
        window.open_path(clip_dir_copy)
    dock = window.project_review.progress
    window.project_review.actions["progress"].trigger()
    qtbot.waitUntil(lambda: dock.progress is not None and not dock.busy, timeout=30_000)
    assert dock.progress.clips == 2 and dock.progress.by_review["unreviewed"] + \
        dock.progress.by_review["in_progress"] == 2


def test_my_version_is_saved_beside_the_video_and_opened_again(qtbot, window, clip_dir_copy):
    import xml.etree.ElementTree as ET

    from app.editing.commands import AddSegmentCommand as Add

    with qtbot.waitSignal(window.clip_opened, timeout=120_000):
        window.open_path(clip_dir_copy)
    controller = window.project_review
    controller.annotator.set_name("alice")
    window.undo_stack.push(Add(window.document, Segment(3, 7)))
    path = controller.save_own_version()
    assert path == clip_dir_copy / f"{window.review.clip.name}.alice.eaf" and path.is_file()
    assert {t.get("ANNOTATOR") for t in ET.parse(path).getroot().iter("TIER")
            if t.get("TIER_ID") in ("ME", "Speaking")} == {"alice"}
    assert not window.document.is_modified
    window.undo_stack.push(Add(window.document, Segment(20, 22)))
    errors: list[str] = []
    window.status.error_shown.connect(lambda title, text: errors.append(text))
    assert not controller.open_own_version() and "changes first" in errors[-1]
    window.undo_stack.undo()
    assert controller.open_own_version()
    assert [(s.onset, s.annotator) for s in window.document.segments if s.onset == 3] == [(3, "alice")]
