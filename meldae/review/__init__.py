"""Qt-free logic of reviewing, shared by the app and the command line.

One clip:

- :mod:`meldae.review.navigation`: the order in which an annotator visits the model's
  unreviewed proposals, and picking proposals by their stored score for bulk review.
- :mod:`meldae.review.vocabulary`: the controlled vocabulary of ME labels (AU codes or
  emotion names), as ELAN stores it in an EAF.
- :mod:`meldae.review.recent`: the recently opened projects (folders and videos).
- :mod:`meldae.review.model_summary`: the one line naming the active model, what it was
  trained on and its device (the app's status badge).

A whole project:

- :mod:`meldae.review.annotators`: annotator names and ``<clip>.<annotator>.eaf`` files;
- :mod:`meldae.review.queue`: the review queue ranked by decision value (``meldae suggest``);
- :mod:`meldae.review.progress`: the project summary (``meldae stats FOLDER --review``);
- :mod:`meldae.review.agreement`: two annotators compared (``meldae agreement``);
- :mod:`meldae.review.adjudicate`: their disagreements, decided one by one.
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
