"""MELDAE Studio: the PySide6 + pyqtgraph desktop app (imports meldae, never the reverse)."""

APP_NAME = "MELDAE Studio"
