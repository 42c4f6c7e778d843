"""The agreement report in the app (what ``meldae agreement`` prints), for two folders or two
annotators' side-by-side files."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.project_review.tasks import TaskRunner
from meldae.review.agreement import AgreementReport, ClipAgreement

COLUMNS = ("Clip", "Frames", "α speaking", "ME A", "ME B", "Matched", "Segment F1",
           "Onset MAE ms", "Offset MAE ms")


def _cell(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def agreement_row(c: ClipAgreement) -> list[str]:
    """One table row of the report."""
    return [c.clip, str(c.frames), _cell(c.alpha_speaking, ".3f"), str(c.segments_a),
            str(c.segments_b), str(c.matched), _cell(c.segment_f1, ".3f"),
            _cell(c.onset_mae_ms, ".1f"), _cell(c.offset_mae_ms, ".1f")]


class _FolderField(QWidget):
    def __init__(self, folder: Path | None, parent: QWidget) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(str(folder or ""), self)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)

    def _browse(self) -> None:
        name = QFileDialog.getExistingDirectory(self, "Annotation folder", self.edit.text())
        if name:
            self.edit.setText(name)


class AgreementDialog(QDialog):
    """Pick A and B (folders, optionally annotators), compute, read the table, save JSON."""

    def __init__(self, folder: Path | None = None, annotators: tuple[str, str] | None = None,
                 checkpoint: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Annotator agreement")
        self.resize(900, 480)
        self.checkpoint = checkpoint
        self.report: AgreementReport | None = None
        self._tasks = TaskRunner(self)
        self._tasks.idle.connect(lambda: self.compute_button.setEnabled(True))
        self.folder_a, self.folder_b = _FolderField(folder, self), _FolderField(folder, self)
        self.annotator_a = QLineEdit(annotators[0] if annotators else "", self)
        self.annotator_b = QLineEdit(annotators[1] if annotators else "", self)
        for edit in (self.annotator_a, self.annotator_b):
            edit.setPlaceholderText("empty: <clip>.eaf; a name: <clip>.NAME.eaf")
        self.fps = QLineEdit("", self)
        self.fps.setPlaceholderText("only for clips without a video, e.g. 25 or 30000/1001")
        form = QFormLayout()
        form.addRow("A (reference) folder", self.folder_a)
        form.addRow("A's annotator", self.annotator_a)
        form.addRow("B folder", self.folder_b)
        form.addRow("B's annotator", self.annotator_b)
        form.addRow("Frame rate", self.fps)
        self.compute_button = QPushButton("Compare", self)
        self.save_button = QPushButton("Save JSON…", self)
        self.save_button.setEnabled(False)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        buttons = QHBoxLayout()
        buttons.addWidget(self.compute_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        self.compute_button.clicked.connect(self.compute)
        self.save_button.clicked.connect(self.ask_save_json)

    def compute(self) -> None:
        """Compare A and B in a worker thread."""
        from meldae.review.agreement_files import compare_folders

        if self._tasks.busy:
            return
        try:
            fps = Fraction(self.fps.text().strip()) if self.fps.text().strip() else None
        except (ValueError, ZeroDivisionError):
            self.status.setText(f"Frame rate {self.fps.text()!r} is not a number.")
            return
        args = dict(annotator_a=self.annotator_a.text().strip() or None,
                    annotator_b=self.annotator_b.text().strip() or None, fps=fps,
                    checkpoint=self.checkpoint)
        dir_a, dir_b = self.folder_a.edit.text().strip(), self.folder_b.edit.text().strip()
        self.status.setText("Comparing …")
        self.compute_button.setEnabled(False)
        self._tasks.start(lambda: compare_folders(dir_a, dir_b, **args), self.set_report,
                          self.status.setText)

    def set_report(self, report: AgreementReport) -> None:
        """Show ``report``: one row per clip, the overall row last."""
        self.report = report
        rows = [*report.clips, report.overall]
        self.table.setRowCount(len(rows))
        for r, clip in enumerate(rows):
            for c, text in enumerate(agreement_row(clip)):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        notes = [f"{len(report.clips)} clip(s) compared."]
        if not report.overall.faces_known:
            notes.append("α counts every frame where no face data is cached (score the clips first).")
        for label, names in (("Only in A", report.only_a), ("Only in B", report.only_b),
                             ("Skipped", report.skipped)):
            if names:
                notes.append(f"{label}: {', '.join(names[:5])}{' …' if len(names) > 5 else ''}")
        self.status.setText(" ".join(notes))
        self.save_button.setEnabled(True)

    def ask_save_json(self) -> None:
        """Save the report as JSON (the ``--json`` format)."""
        name, _ = QFileDialog.getSaveFileName(self, "Save agreement report", "agreement.json",
                                              "JSON (*.json)")
        if name and self.report is not None:
            self.save_json(Path(name))

    def save_json(self, path: Path) -> bool:
        """Write the report to ``path`` atomically; False (and a message) on failure."""
        from meldae.atomic import atomic_write_text

        try:
            atomic_write_text(path, json.dumps(self.report.to_json(), indent=1) + "\n")
        except OSError as exc:
            QMessageBox.warning(self, "Not saved", f"{path}: {exc.strerror or exc}")
            return False
        self.status.setText(f"Saved {path}")
        return True

    def shutdown(self) -> None:
        """Stop a running comparison."""
        self._tasks.shutdown()

    def done(self, result: int) -> None:  # noqa: D102 (Qt)
        self.shutdown()
        super().done(result)
