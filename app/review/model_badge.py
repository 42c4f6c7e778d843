"""The status bar's permanent model badge: which model, trained on what, on which device.

It follows the score controller: the checkpoint in use (``checkpoint_changed`` from the
window when the user picks another model) and the JSON the scorer reports when the model
loads (``model_info_changed``), which carries the device it runs on. The text comes from
:func:`meldae.review.model_summary.describe_model`; a demo model is shown in amber so it is
never mistaken for a model trained on real faces.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from meldae.review.model_summary import describe_model

DEMO_STYLE = "QLabel { color: #f0b040; }"
MAX_WIDTH = 460


class ModelBadge(QLabel):
    """A label describing the active model (always visible in the status bar).

    Args:
        scores: the score controller (its ``checkpoint``, ``device`` and signals).
        parent: the Qt parent.
    """

    def __init__(self, scores, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scores = scores
        self._info: dict | None = None
        self.setMaximumWidth(MAX_WIDTH)     # the status bar must not widen the window
        scores.model_info_changed.connect(self._on_scores_model_info_changed)
        scores.device_missing.connect(lambda _msg: self._show(unavailable="GPU not available"))
        scores.model_missing.connect(lambda _msg: self._show(unavailable="model not available"))
        self._show()

    def checkpoint_changed(self, _checkpoint: Path | None = None) -> None:
        """The active model changed: forget what the old one reported."""
        self._info = None
        self._show()

    def _on_scores_model_info_changed(self, info) -> None:
        self._info = dict(info or {})
        self._show()

    def _show(self, unavailable: str = "") -> None:
        text = describe_model(self.scores.checkpoint, self._info, self.scores.device)
        if unavailable:
            text = f"{text.split(' · ')[0]} · {unavailable}"
        demo = self.scores.checkpoint is None or bool(
            ((self._info or {}).get("meta") or {}).get("demo"))
        self.setStyleSheet(DEMO_STYLE if demo or unavailable else "")
        self.setText(self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle,
                                                   MAX_WIDTH - 8))
        self.full_text = text
        self.setToolTip(f"{text}\nModel ▸ Use checkpoint… changes the model; "
                        "--device auto|cpu|cuda chooses where it runs")
