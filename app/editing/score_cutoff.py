"""Asking for the stored-score cutoff of a bulk accept or reject.

The dialog shows how many unreviewed proposals the cutoff picks while the annotator moves
it (their stored scores are given), so "reject below 0.6" is chosen knowing it rejects 14
of 40 proposals, not blindly.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QWidget,
)


def picked_count(scores: Sequence[float], cutoff: float, at_least: bool) -> int:
    """How many of the sorted ``scores`` a cutoff picks (``>=`` or ``<``)."""
    i = bisect.bisect_left(scores, cutoff)
    return len(scores) - i if at_least else i


class ScoreCutoffDialog(QDialog):
    """A cutoff spin box with a live count of the proposals it picks.

    Args:
        scores: the unreviewed proposals' stored scores, sorted.
        at_least: True for "accept scoring at least", False for "reject scoring below".
        parent: the dialog's parent.
    """

    def __init__(self, scores: Sequence[float], at_least: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scores, self.at_least = list(scores), at_least
        verb = "Accept" if at_least else "Reject"
        self.setWindowTitle(f"{verb} proposals by score")
        self.cutoff = QDoubleSpinBox(self)
        self.cutoff.setRange(0.0, 1.0)
        self.cutoff.setDecimals(3)
        self.cutoff.setSingleStep(0.01)
        # the median: a starting point that visibly picks about half
        self.cutoff.setValue(self.scores[len(self.scores) // 2] if self.scores else 0.5)
        self.preview = QLabel(self)
        self.cutoff.valueChanged.connect(self._update_preview)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        relation = "at least" if at_least else "below"
        form.addRow(QLabel(f"{verb} every unreviewed proposal whose stored model score "
                           f"(its mean S_loc) is {relation}:", self))
        form.addRow("Score cutoff", self.cutoff)
        form.addRow(self.preview)
        form.addRow(buttons)
        self._update_preview()

    def _update_preview(self) -> None:
        n = picked_count(self.scores, self.cutoff.value(), self.at_least)
        lo_hi = (f" (scores {self.scores[0]:.3f}–{self.scores[-1]:.3f})" if self.scores else "")
        self.preview.setText(f"{n} of {len(self.scores)} unreviewed proposal(s){lo_hi}")


def ask_score_cutoff(parent: QWidget | None, scores: Sequence[float],
                     at_least: bool) -> float | None:
    """Ask for a cutoff; None when cancelled (monkeypatched in tests)."""
    dialog = ScoreCutoffDialog(scores, at_least, parent)
    accepted = dialog.exec() == QDialog.DialogCode.Accepted
    value = dialog.cutoff.value()
    dialog.deleteLater()
    return value if accepted else None
