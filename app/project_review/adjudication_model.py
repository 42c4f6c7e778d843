"""The adjudicator's decisions on one clip, and the undoable command that changes them."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

from meldae.annotations import ClipAnnotations
from meldae.review.adjudicate import Adjudication, Decision, Disagreement, Side


class AdjudicationModel(QObject):
    """An :class:`meldae.review.adjudicate.Adjudication` and the decisions taken so far.

    Change decisions only through :class:`DecideCommand` (undoable).

    Signals:
        decision_changed(str): the decision of disagreement ``key`` changed.
    """

    decision_changed = Signal(str)

    def __init__(self, adjudication: Adjudication, adjudicator: str,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.adjudication = adjudication
        self.adjudicator = adjudicator
        self._decisions: dict[str, Decision] = {}

    @property
    def items(self) -> tuple[Disagreement, ...]:
        """The disagreements, ME lane first, each in time order."""
        return self.adjudication.items

    @property
    def decisions(self) -> dict[str, Decision]:
        """A copy of the decisions taken (by disagreement key)."""
        return dict(self._decisions)

    def decision(self, key: str) -> Decision | None:
        """The decision on ``key``, or None."""
        return self._decisions.get(key)

    def set_decision(self, key: str, decision: Decision | None) -> None:
        """Record (or, with None, withdraw) a decision; only commands call this."""
        self.adjudication.item(key)   # KeyError for an unknown key
        if decision is None:
            self._decisions.pop(key, None)
        else:
            self._decisions[key] = decision
        self.decision_changed.emit(key)

    def undecided(self) -> int:
        """How many disagreements still need a decision."""
        return len(self.adjudication.undecided(self._decisions))

    def preview(self) -> ClipAnnotations:
        """The result with the decisions so far (undecided disagreements left out)."""
        decided = dict(self._decisions)
        for item in self.adjudication.undecided(decided):
            decided[item.key] = Decision(Side.OWN, None)
        return self.adjudication.result(decided, self.adjudicator)


class DecideCommand(QUndoCommand):
    """Take A's, B's or one's own version of one disagreement (undo restores the previous one)."""

    def __init__(self, model: AdjudicationModel, key: str, decision: Decision) -> None:
        item = model.adjudication.item(key)
        who = {Side.A: model.adjudication.name_a, Side.B: model.adjudication.name_b,
               Side.OWN: "own version"}[decision.side]
        super().__init__(f"Take {who} for {item.lane} {item.onset}–{item.offset}")
        self.model = model
        self.key = key
        self.old = model.decision(key)
        self.new = decision

    def redo(self) -> None:
        self.model.set_decision(self.key, self.new)

    def undo(self) -> None:
        self.model.set_decision(self.key, self.old)
