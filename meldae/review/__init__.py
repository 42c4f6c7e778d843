"""Qt-free logic of the review workflow, shared by the app and the command line.

- :mod:`meldae.review.navigation`: the order in which an annotator visits the model's
  unreviewed proposals, and picking proposals by their stored score for bulk review.
- :mod:`meldae.review.vocabulary`: the controlled vocabulary of ME labels (AU codes or
  emotion names), as ELAN stores it in an EAF.
- :mod:`meldae.review.recent`: the recently opened projects (folders and videos).
- :mod:`meldae.review.model_summary`: the one line naming the active model, what it was
  trained on and its device (the app's status badge).
"""

from meldae.review.navigation import (
    is_unreviewed_proposal,
    neighbour_unreviewed,
    pick_by_score,
    proposal_scores,
)
from meldae.review.recent import RecentPaths
from meldae.review.vocabulary import PRESETS, Vocabulary

__all__ = [
    "PRESETS",
    "RecentPaths",
    "Vocabulary",
    "is_unreviewed_proposal",
    "neighbour_unreviewed",
    "pick_by_score",
    "proposal_scores",
]
