"""The "Review next" dock: the project's review queue (``meldae.review.queue``).

The queue is computed off the GUI thread from the score cache and the saved files, when the
dock is first shown, when a project opens, and on Refresh. "Next suggestion" (Ctrl+G) takes
the next entry not visited yet; activating a row takes that one. The controller opens the
clip and seeks and zooms there. Saving a clip ranks the queue again (decided proposals leave
it); entries stay visited across re-rankings.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QDockWidget, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem,
    QVBoxLayout, QWidget,
)

from app.project_review.tasks import TaskRunner
from meldae.review.queue import Suggestion, SuggestionKind

KIND_TEXT = {SuggestionKind.PROPOSAL: "proposal", SuggestionKind.STRETCH: "no proposal",
             SuggestionKind.UNSCORED: "not scored"}
VISITED = QColor(150, 150, 150)


class ReviewNextDock(QDockWidget):
    """The ranked queue, with Refresh and Next suggestion.

    Args:
        compute: returns the ranked queue (runs in a worker thread); None while no project
            is open.

    Signals:
        suggestion_activated(object): go to this :class:`Suggestion`.
        queue_changed(int): a new ranking is shown (its length).
    """

    suggestion_activated = Signal(object)
    queue_changed = Signal(int)

    def __init__(self, compute: Callable[[], Callable[[], list[Suggestion]] | None],
                 parent: QWidget | None = None) -> None:
        super().__init__("Review next", parent)
        self.setObjectName("review_next_dock")
        self._compute = compute
        self._tasks = TaskRunner(self)
        self._tasks.idle.connect(lambda: self.refresh_button.setEnabled(True))
        self.suggestions: list[Suggestion] = []
        self.visited: set[tuple] = set()     # Suggestion.sort_key of the entries gone to
        body = QWidget(self)
        self.status = QLabel("Open a clip folder to see what to review next.", body)
        self.status.setWordWrap(True)
        self.tree = QTreeWidget(body)
        self.tree.setHeaderLabels(["#", "Clip", "What", "Frames", "Score"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.refresh_button = QPushButton("Refresh", body)
        self.next_button = QPushButton("Next suggestion (Ctrl+G)", body)
        row = QHBoxLayout()
        row.addWidget(self.refresh_button)
        row.addWidget(self.next_button)
        layout = QVBoxLayout(body)
        layout.addWidget(self.status)
        layout.addWidget(self.tree, 1)
        layout.addLayout(row)
        self.setWidget(body)
        self.refresh_button.clicked.connect(self.refresh)
        self.next_button.clicked.connect(self.next_suggestion)
        self.tree.itemActivated.connect(self._on_tree_item_activated)

    @property
    def busy(self) -> bool:
        """True while the queue is being computed."""
        return self._tasks.busy

    def refresh(self) -> None:
        """Recompute the queue in a worker thread (a no-op while one runs)."""
        function = self._compute()
        if function is None:
            self.set_suggestions([])
            self.status.setText("Open a clip folder to see what to review next.")
            return
        if self._tasks.start(function, self._on_worker_succeeded, self._on_worker_failed):
            self.status.setText("Ranking the project's proposals …")
            self.refresh_button.setEnabled(False)

    def set_suggestions(self, suggestions: list[Suggestion]) -> None:
        """Show ``suggestions`` (in queue order); entries visited before stay grey."""
        self.suggestions = list(suggestions)
        self.tree.clear()
        for rank, s in enumerate(self.suggestions, start=1):
            frames = "" if s.onset is None else f"{s.onset}–{s.offset}"
            score = "" if s.score is None else f"{s.score:.2f}"
            item = QTreeWidgetItem([str(rank), s.clip, KIND_TEXT[s.kind], frames, score])
            item.setData(0, Qt.ItemDataRole.UserRole, rank - 1)
            item.setToolTip(2, s.describe())
            self.tree.addTopLevelItem(item)
            if s.sort_key in self.visited:
                self._grey(item)
        header = self.tree.header()
        header.setStretchLastSection(False)
        for col in range(self.tree.columnCount()):
            mode = QHeaderView.ResizeMode.Stretch if col == 1 else QHeaderView.ResizeMode.ResizeToContents
            header.setSectionResizeMode(col, mode)
        counts = {k: sum(1 for s in suggestions if s.kind is k) for k in SuggestionKind}
        self.status.setText(
            f"{counts[SuggestionKind.PROPOSAL]} undecided proposals, "
            f"{counts[SuggestionKind.STRETCH]} high-score stretches, "
            f"{counts[SuggestionKind.UNSCORED]} clip(s) not scored" if suggestions
            else "Nothing left to suggest: every proposal is decided.")
        self.queue_changed.emit(len(self.suggestions))

    def next_suggestion(self) -> Suggestion | None:
        """Go to the first suggestion not visited yet; None when there is none."""
        for index, suggestion in enumerate(self.suggestions):
            if suggestion.sort_key not in self.visited:
                self.go_to(index)
                return suggestion
        self.status.setText("No more suggestions (Refresh after saving to rank again).")
        return None

    def go_to(self, index: int) -> None:
        """Mark entry ``index`` visited, select it and ask to go there."""
        self.visited.add(self.suggestions[index].sort_key)
        item = self.tree.topLevelItem(index)
        self._grey(item)
        self.tree.setCurrentItem(item)
        self.suggestion_activated.emit(self.suggestions[index])

    def _grey(self, item: QTreeWidgetItem) -> None:
        for col in range(self.tree.columnCount()):
            item.setForeground(col, QBrush(VISITED))

    def shutdown(self) -> None:
        """Stop a running computation (window closing)."""
        self._tasks.shutdown()

    # ------------------------------------------------------------------ slots
    def _on_tree_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        self.go_to(int(item.data(0, Qt.ItemDataRole.UserRole)))

    def _on_worker_succeeded(self, suggestions: list[Suggestion]) -> None:
        self.set_suggestions(suggestions)

    def _on_worker_failed(self, message: str) -> None:
        self.status.setText(f"Could not rank the project: {message}")
