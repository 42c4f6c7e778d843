"""Edit ▸ Label vocabulary…: the controlled vocabulary of ME labels, one value per line.

Saved in the clip's EAF as ELAN's controlled vocabulary of the ME tiers (see
``meldae.annotations.eaf_vocabulary``), so ELAN offers the same list. Presets fill in the
emotion classes or the action units ME datasets use; "Add labels in use" appends the
labels the clip already has that the list lacks.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout,
    QWidget,
)

from meldae.review import PRESETS, Vocabulary


class VocabularyDialog(QDialog):
    """A text box of values (one per line) with preset and "labels in use" buttons.

    Args:
        entries: the current vocabulary.
        in_use: the labels the clip's segments use.
        parent: the window.
    """

    def __init__(self, entries: Sequence[str], in_use: Sequence[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Label vocabulary")
        self.in_use = list(in_use)
        self.text = QPlainTextEdit(Vocabulary(tuple(entries)).to_text(), self)
        self.text.setPlaceholderText("One label per line, e.g. AU4 or disgust")
        buttons_row = QHBoxLayout()
        for name, values in PRESETS.items():
            button = QPushButton(f"+ {name}", self)
            button.setToolTip(", ".join(values))
            button.clicked.connect(lambda _checked=False, v=values: self._add(v))
            buttons_row.addWidget(button)
        used = QPushButton("+ Labels in use", self)
        used.setToolTip("Add the labels this clip's segments already have")
        used.clicked.connect(lambda: self._add(self.in_use))
        buttons_row.addWidget(used)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel, self)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The labels offered for ME segments (saved in the clip's EAF "
                                "as an ELAN controlled vocabulary). Empty: free text.", self))
        layout.addWidget(self.text)
        layout.addLayout(buttons_row)
        layout.addWidget(box)

    def vocabulary(self) -> Vocabulary:
        """The vocabulary as edited."""
        return Vocabulary.from_text(self.text.toPlainText())

    def _add(self, values: Sequence[str]) -> None:
        self.text.setPlainText(self.vocabulary().with_added(values).to_text())


def ask_vocabulary(parent: QWidget | None, entries: Sequence[str],
                   in_use: Sequence[str]) -> tuple[str, ...] | None:
    """Ask for the vocabulary; None when cancelled (monkeypatched in tests)."""
    dialog = VocabularyDialog(entries, in_use, parent)
    accepted = dialog.exec() == QDialog.DialogCode.Accepted
    entries = dialog.vocabulary().entries
    dialog.deleteLater()
    return entries if accepted else None
