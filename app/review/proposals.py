"""The model's proposals for the open clip, and the post-processing that makes them.

:class:`ProposalController` is the app's one owner of the post-processing in force: the
checkpoint's :class:`meldae.postprocess.PostProcessing` (``from_meta``) when a clip's scores
are complete, with the threshold the annotator drags on the timeline. Whenever the scores or
the post-processing change it asks ``PostProcessing.propose`` — the function ``meldae infer``
uses — for the :class:`meldae.postprocess.Proposals` and hands them to the timeline to draw.
The review controller gives the ME proposals to the editor; "use the model's speaking
intervals" takes the speaking runs. Nothing here computes segments itself.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from meldae.postprocess import PostProcessing, Proposals

if TYPE_CHECKING:  # pragma: no cover
    from app.timeline.timeline_widget import TimelineWidget


class ProposalController(QObject):
    """Post-processing in force (``post``) and the proposals it gives (``current``).

    Args:
        timeline: draws the proposals; its threshold drags change the threshold.
        parent: the Qt parent.

    Signals:
        threshold_changed(float): a new threshold was chosen (``set_threshold``, or a drag
            on the timeline); the proposals were made again with it.
    """

    threshold_changed = Signal(float)

    def __init__(self, timeline: TimelineWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timeline = timeline
        self.post = PostProcessing()
        self.current = Proposals(post=self.post)
        self._scores: Any = None
        timeline.threshold_requested.connect(self._on_timeline_threshold_requested)

    def clear(self) -> None:
        """A new clip: no scores, no proposals (the post-processing stays until the clip's
        scores bring their checkpoint's)."""
        self._scores = None
        self._update()

    def set_scores(self, scores: Any) -> None:
        """The clip's ``meldae.scores.ClipScores`` changed (live while scoring)."""
        self._scores = scores
        self._update()

    def set_complete_scores(self, scores: Any) -> None:
        """The clip's scores are complete: adopt the post-processing of the checkpoint that
        made them (``scores.info``, its JSON) and propose."""
        self._scores = scores
        self.set_post(PostProcessing.from_meta((scores.info or {}).get("meta")))

    def set_post(self, post: PostProcessing) -> None:
        """Use ``post`` and make the proposals again."""
        self.post = post
        self._update()

    def set_threshold(self, threshold: float) -> None:
        """Use the S_loc threshold ``threshold`` (clamped to [0, 1]); emits
        ``threshold_changed``."""
        self.set_post(replace(self.post, threshold=min(1.0, max(0.0, float(threshold)))))
        self.threshold_changed.emit(self.post.threshold)

    def _update(self) -> None:
        if self._scores is None:
            self.current = Proposals(post=self.post)
        else:
            self.current = self.post.propose(self._scores)
        self.timeline.set_proposals(self.current)

    def _on_timeline_threshold_requested(self, threshold: float) -> None:
        self.set_threshold(threshold)
