"""Reviewing a whole project in the app: what to review next, progress, agreement, adjudication.

The logic is :mod:`meldae.review`'s; this package holds the widgets and the glue:

- :mod:`app.project_review.settings`: the annotator's name (set once, in the preferences);
- :mod:`app.project_review.tasks`: a worker thread running one meldae function;
- :mod:`app.project_review.review_next`: the "Review next" dock;
- :mod:`app.project_review.progress_dock`: the "Progress" dock;
- :mod:`app.project_review.agreement_dialog`: the agreement report;
- :mod:`app.project_review.adjudication_model` / ``adjudication_view`` / ``lanes``: deciding
  disagreements, each decision undoable; ``adjudication_setup`` opens it on the open clip;
- :mod:`app.project_review.controller`: the Project menu and the wiring (given the
  :class:`app.project_review.parts.ProjectReviewParts`, never the window).
"""
