"""A warning strip above the Review tab that stays while its reason holds (not a status
message that fades, nor a dialog that is gone after one click)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

STYLE = ("QLabel { background: #5a3a10; color: #ffe0b0; padding: 6px 10px; "
         "border-bottom: 1px solid #a06a20; }")


class ClipBanner(QLabel):
    """Shows ``set_message(text)`` until ``set_message("")``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("clipBanner")
        self.setStyleSheet(STYLE)
        self.setWordWrap(True)
        self.setVisible(False)

    def set_message(self, text: str) -> None:
        """Show ``text`` (empty: hide the banner)."""
        self.setText(text)
        self.setVisible(bool(text))
