"""A project: a clip folder plus what the review app remembers about it, free of Qt.

- :mod:`meldae.project.state`: ``Project`` (``.meldae/project.json``), ``ClipState``,
  ``ClipReview`` (a clip's review progress);
- :mod:`meldae.project.autosave`: the crash-recovery file of an open clip;
- :mod:`meldae.project.export`: ``batch_export`` of a project's ELAN files (the app's
  File menu and ``meldae export-project``);
- :mod:`meldae.project.score_cache`: per-clip model scores on disk (imported on demand:
  it needs the face cache's content hashing).
"""

from meldae.project.state import (
    AUTOSAVE_SUFFIX,
    ClipReview,
    ClipState,
    Project,
    clip_review_from_state,
    clip_review_to_state,
)

__all__ = [
    "AUTOSAVE_SUFFIX",
    "ClipReview",
    "ClipState",
    "Project",
    "clip_review_from_state",
    "clip_review_to_state",
]
