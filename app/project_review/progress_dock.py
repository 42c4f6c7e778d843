"""The "Progress" dock: the project's review summary (``meldae.review.progress``)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QDockWidget, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from app.project_review.tasks import TaskRunner
from meldae.review.progress import ProjectProgress


def progress_rows(progress: ProjectProgress) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """``(what, value, children)`` rows of the summary, as the dock shows them."""
    r = progress.by_review
    return [
        ("Clips", str(progress.clips), [("unreviewed", str(r["unreviewed"])),
                                        ("in progress", str(r["in_progress"])),
                                        ("done", str(r["done"]))]),
        ("Proposals decided", str(progress.accepted + progress.rejected),
         [("accepted", str(progress.accepted)), ("rejected", str(progress.rejected)),
          ("pending", str(progress.pending))]),
        ("Manual additions", str(progress.manual), []),
        ("Annotated minutes", f"{progress.annotated_minutes:.1f} of {progress.known_minutes:.1f}", []),
        ("Annotators", str(len(progress.annotators)),
         [(name, f"{c.segments} ME · {c.speaking} speaking · {c.files} own files")
          for name, c in sorted(progress.annotators.items())]),
    ]


class ProgressDock(QDockWidget):
    """How far the project's review has come; Refresh recomputes it off the GUI thread.

    Args:
        compute: returns a function computing the summary, or None without a project.
    """

    def __init__(self, compute: Callable[[], Callable[[], ProjectProgress] | None],
                 parent: QWidget | None = None) -> None:
        super().__init__("Progress", parent)
        self.setObjectName("progress_dock")
        self._compute = compute
        self._tasks = TaskRunner(self)
        self.progress: ProjectProgress | None = None
        body = QWidget(self)
        self.status = QLabel("Open a clip folder to see its progress.", body)
        self.status.setWordWrap(True)
        self.tree = QTreeWidget(body)
        self.tree.setHeaderLabels(["", "Count"])
        self.refresh_button = QPushButton("Refresh", body)
        layout = QVBoxLayout(body)
        layout.addWidget(self.status)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.refresh_button)
        self.setWidget(body)
        self.refresh_button.clicked.connect(self.refresh)

    @property
    def busy(self) -> bool:
        """True while the summary is being computed."""
        return self._tasks.busy

    def refresh(self) -> None:
        """Recompute the summary (a no-op while one runs)."""
        function = self._compute()
        if function is None:
            self.tree.clear()
            self.status.setText("Open a clip folder to see its progress.")
            return
        if self._tasks.start(function, self.set_progress,
                             lambda message: self.status.setText(f"Could not count: {message}")):
            self.status.setText("Counting …")

    def set_progress(self, progress: ProjectProgress) -> None:
        """Show ``progress``."""
        self.progress = progress
        self.tree.clear()
        for what, value, children in progress_rows(progress):
            item = QTreeWidgetItem([what, value])
            item.addChildren([QTreeWidgetItem([w, v]) for w, v in children])
            self.tree.addTopLevelItem(item)
            item.setExpanded(True)
        self.tree.resizeColumnToContents(0)
        self.status.setText("\n".join(progress.problems[:3]) if progress.problems else "")

    def shutdown(self) -> None:
        """Stop a running computation (window closing)."""
        self._tasks.shutdown()
