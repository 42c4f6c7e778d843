"""Model ▸ Re-score clip and Cancel scoring, and what a cancelled or device-less run leaves.

- **Re-score** (F5) scores the open clip again with the active model, past the cache.
- **Cancel** stops the run and keeps what it scored: the curve stays, the proposals over
  the scored frames are handed to the editor like complete ones, and the status bar says
  how far it got and that Re-score finishes it.
- A GPU asked for (``--device cuda``) on a machine without one is reported as such, not as
  a missing model.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.actions import window_action
from app.status import StatusSink


class ScoringActions(QObject):
    """The scoring actions of the Model menu.

    Args:
        review: the review controller (the open clip, its session and ``push_predictions``).
        scores: the score controller.
        player: the player (the open video's frame count and rate).
        status: where messages and errors go.
        window: owner of the actions.
    """

    def __init__(self, review, scores, player, status: StatusSink, window) -> None:
        super().__init__(window)
        self.review, self.scores, self.player, self.status = review, scores, player, status
        self.rescore = window_action(window, "Re-score clip", "F5", self.rescore_clip,
                                     "Score the open clip again with the active model")
        self.cancel = window_action(window, "Cancel scoring", "", scores.cancel_by_user,
                                    "Stop the model on this clip (the scores so far stay)")
        scores.cancelled.connect(self._on_scores_cancelled)
        scores.device_missing.connect(self._on_scores_device_missing)
        scores.running_changed.connect(self._update)
        review.clip_opened.connect(self._update)
        self._update()

    def actions(self) -> list:
        """The actions, in menu order."""
        return [self.rescore, self.cancel]

    def rescore_clip(self) -> bool:
        """Score the open clip again (not from the cache); False when no clip is open."""
        clip = self.review.clip
        if clip is None or self.review.session is None or self.player.frame_count <= 0:
            self.status.show("Open a clip first", 5000)
            return False
        self.scores.start(clip.video_path, self.player.frame_count, self.player.fps, force=True)
        return True

    def _update(self, *_args) -> None:
        has_clip = self.review.session is not None
        self.rescore.setEnabled(has_clip)
        self.cancel.setEnabled(self.scores.running)

    def _on_scores_cancelled(self, scores) -> None:
        self.review.push_predictions(partial=True)
        percent = 100.0 * scores.done / max(1, scores.n_frames)
        self.status.show(f"Scoring cancelled at {scores.done}/{scores.n_frames} frames "
                         f"({percent:.0f}%): the scores so far stay and their proposals are "
                         "shown. Model ▸ Re-score clip (F5) scores the whole clip.")

    def _on_scores_device_missing(self, message: str) -> None:
        from meldae.review.model_summary import device_missing_message

        self.status.show("GPU not available: no scores (start with --device auto or cpu)")
        self.status.error("GPU not available", device_missing_message(self.scores.device,
                                                                      message))
