"""Reviewing a whole project, free of Qt: what to look at next, progress, agreement.

- :mod:`meldae.review.annotators`: annotator names and ``<clip>.<annotator>.eaf`` files;
- :mod:`meldae.review.queue`: the review queue ranked by decision value (``meldae suggest``);
- :mod:`meldae.review.progress`: the project summary (``meldae stats FOLDER --review``);
- :mod:`meldae.review.agreement`: two annotators compared (``meldae agreement``);
- :mod:`meldae.review.adjudicate`: their disagreements, decided one by one.
"""
