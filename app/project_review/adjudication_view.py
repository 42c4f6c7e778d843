"""The adjudication window: both annotators' lanes, the disagreements, and the decisions.

Keys: A takes A's version, B takes B's, Ctrl+Z / Ctrl+Shift+Z undo and redo a decision,
Up / Down move between disagreements. "Use own" takes the onset and offset typed in (or no
segment at all). "Save" writes the clip's EAF with the provenance (who decided what).
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton,
    QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.project_review.adjudication_model import AdjudicationModel, DecideCommand
from app.project_review.lanes import AdjudicationLanes
from meldae.annotations import AnnotationError, ClipAnnotations, Segment
from meldae.review.adjudicate import AdjudicationError, Decision, Side, save_adjudicated

log = logging.getLogger(__name__)

COLUMNS = ("Lane", "Frames", "A", "B", "Taken")


def _describe(seg: Segment | None) -> str:
    if seg is None:
        return "—"
    label = f" '{seg.label}'" if seg.label else ""
    return f"{seg.onset}–{seg.offset}{label}"


class AdjudicationView(QDialog):
    """Decide, disagreement by disagreement, between annotators A and B of one clip.

    Args:
        model: the disagreements and decisions.
        a, b: the two versions (drawn in their lanes).
        eaf_path: where the result is saved (the clip's reference EAF).
        fps: the clip's frame rate.
        media_path: the video, linked from the EAF.

    Signals:
        seek_requested(int): show this frame in the main window's player.
        saved(str): the result was written to this file.
    """

    seek_requested = Signal(int)
    saved = Signal(str)

    def __init__(self, model: AdjudicationModel, a: ClipAnnotations, b: ClipAnnotations,
                 eaf_path: Path, fps: Fraction, media_path: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.eaf_path = Path(eaf_path)
        self.fps = fps
        self.media_path = media_path
        self.undo_stack = QUndoStack(self)
        adj = model.adjudication
        self.setWindowTitle(f"Adjudicate {self.eaf_path.stem}: {adj.name_a} vs {adj.name_b}")
        self.resize(1100, 640)
        self.lanes = AdjudicationLanes(adj.name_a, adj.name_b, adj.n_frames, self)
        self.lanes.set_versions(a, b)
        self.table = QTableWidget(len(model.items), len(COLUMNS), self)
        self._build_table()
        self.summary = QLabel(self)
        self._build_layout()
        self._connect()
        for item in model.items:
            self._refresh_item(item.key)
        self._refresh_result()
        if model.items:
            self.table.selectRow(0)

    # ------------------------------------------------------------------ building
    def _build_table(self) -> None:
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        for row, item in enumerate(self.model.items):
            cells = ("ME" if item.lane == "me" else "Speaking", f"{item.onset}–{item.offset}",
                     _describe(item.a), _describe(item.b), "")
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))

    def _build_layout(self) -> None:
        adj = self.model.adjudication
        self.take_a = QPushButton(f"Take {adj.name_a} (A)", self)
        self.take_b = QPushButton(f"Take {adj.name_b} (B)", self)
        self.own_onset = QSpinBox(self, minimum=0, maximum=max(0, adj.n_frames - 1))
        self.own_offset = QSpinBox(self, minimum=0, maximum=max(0, adj.n_frames - 1))
        self.own_none = QCheckBox("no segment", self)
        self.use_own = QPushButton("Use own", self)
        self.save_button = QPushButton("Save as the clip's EAF", self)
        self.save_button.setToolTip(f"Write {self.eaf_path.name} (the old one is kept as a backup)")
        undo = self.undo_stack.createUndoAction(self, "Undo")
        redo = self.undo_stack.createRedoAction(self, "Redo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo.setShortcut(QKeySequence("Ctrl+Shift+Z"))
        self.addActions([undo, redo])
        buttons = QHBoxLayout()
        for widget in (self.take_a, self.take_b, QLabel("own:", self), self.own_onset,
                       QLabel("–", self), self.own_offset, self.own_none, self.use_own):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.lanes, 3)
        layout.addWidget(self.table, 2)
        layout.addLayout(buttons)

    def _connect(self) -> None:
        self.model.decision_changed.connect(self._on_model_decision_changed)
        self.table.itemSelectionChanged.connect(self._on_table_selection_changed)
        self.take_a.clicked.connect(lambda: self.decide(Side.A))
        self.take_b.clicked.connect(lambda: self.decide(Side.B))
        self.use_own.clicked.connect(lambda: self.decide(Side.OWN))
        self.own_none.toggled.connect(lambda on: (self.own_onset.setEnabled(not on),
                                                  self.own_offset.setEnabled(not on)))
        self.save_button.clicked.connect(self.save)
        QShortcut(QKeySequence("A"), self, activated=lambda: self.decide(Side.A))
        QShortcut(QKeySequence("B"), self, activated=lambda: self.decide(Side.B))

    # ------------------------------------------------------------------ actions
    def current_key(self) -> str | None:
        """The disagreement selected in the table."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.items[rows[0].row()].key if rows else None

    def decide(self, side: Side) -> None:
        """Take ``side``'s version of the selected disagreement (one undo step), then move on."""
        key = self.current_key()
        if key is None:
            return
        own = None
        if side is Side.OWN and not self.own_none.isChecked():
            onset, offset = self.own_onset.value(), self.own_offset.value()
            if offset < onset:
                QMessageBox.warning(self, "Own version", f"The offset {offset} is before the onset {onset}.")
                return
            label = next((s.label for s in (self.model.adjudication.item(key).a,
                                            self.model.adjudication.item(key).b) if s), "")
            own = Segment(onset, offset, label=label)
        self.undo_stack.push(DecideCommand(self.model, key, Decision(side, own)))
        row = self.table.currentRow()
        if row + 1 < self.table.rowCount():
            self.table.selectRow(row + 1)

    def save(self) -> bool:
        """Write the result as the clip's EAF; tells the user what blocks it, if anything."""
        try:
            save_adjudicated(self.model.adjudication, self.model.decisions, self.model.adjudicator,
                             self.eaf_path, self.fps, self.media_path)
        except (AdjudicationError, AnnotationError) as exc:
            QMessageBox.warning(self, "Not saved", str(exc))
            return False
        self.undo_stack.setClean()
        self.saved.emit(str(self.eaf_path))
        return True

    # ------------------------------------------------------------------ slots
    def _on_model_decision_changed(self, key: str) -> None:
        self._refresh_item(key)
        self._refresh_result()

    def _on_table_selection_changed(self) -> None:
        key = self.current_key()
        for item in self.model.items:
            self._refresh_item(item.key)
        if key is None:
            return
        item = self.model.adjudication.item(key)
        version = item.a or item.b
        self.own_onset.setValue(version.onset if version else item.onset)
        self.own_offset.setValue(version.offset if version else item.offset)
        self.lanes.show_range(item.onset, item.offset)
        self.seek_requested.emit(item.onset)

    def _refresh_item(self, key: str) -> None:
        row = [i.key for i in self.model.items].index(key)
        item = self.model.items[row]
        decision = self.model.decision(key)
        adj = self.model.adjudication
        taken = ""
        if decision is not None:
            who = {Side.A: adj.name_a, Side.B: adj.name_b, Side.OWN: "own"}[decision.side]
            version = item.version(decision)
            taken = f"{who} {_describe(version)}" if version is not None else f"{who} (none)"
        self.table.item(row, 4).setText(taken)
        self.lanes.set_highlight(key, item.lane, item.onset, item.offset, decision is not None,
                                 key == self.current_key())

    def _refresh_result(self) -> None:
        self.lanes.set_result(self.model.preview())
        adj = self.model.adjudication
        left = self.model.undecided()
        self.summary.setText(
            f"{len(adj.agreed_me)} ME segments agreed; {len(adj.items)} disagreements, "
            f"{len(adj.items) - left} decided, {left} to go · adjudicator: {self.model.adjudicator}")
