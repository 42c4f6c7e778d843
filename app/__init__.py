"""MELDAE Studio: the PySide6 + pyqtgraph desktop app (imports meldae, never the reverse)."""

from app.qt_compat import protect_singleton_refcounts as _protect_singleton_refcounts

APP_NAME = "MELDAE Studio"

_protect_singleton_refcounts()
