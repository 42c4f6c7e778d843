"""The annotator's name, set once in the preferences and stamped on every edit.

Kept in an INI file (``QSettings``): ``$MELDAE_CONFIG_DIR/studio.ini`` when that variable is
set (tests), otherwise in the user's configuration folder (``~/.config/meldae/studio.ini``
on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QStandardPaths, Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from meldae.review.annotators import AnnotatorError, check_annotator

KEY_ANNOTATOR = "annotator/name"


def settings_path() -> Path:
    """Where the preferences live."""
    env = os.environ.get("MELDAE_CONFIG_DIR")
    base = Path(env) if env else Path(QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.GenericConfigLocation)) / "meldae"
    return base / "studio.ini"


class AnnotatorSetting(QObject):
    """The annotator's name (``""``: not set yet).

    Signals:
        changed(str): the name changed.
    """

    changed = Signal(str)

    def __init__(self, parent: QObject | None = None, path: Path | None = None) -> None:
        super().__init__(parent)
        self._settings = QSettings(str(path or settings_path()), QSettings.Format.IniFormat)
        stored = str(self._settings.value(KEY_ANNOTATOR, "") or "")
        try:
            self._name = check_annotator(stored) if stored else ""
        except AnnotatorError:
            self._name = ""

    @property
    def name(self) -> str:
        """The annotator's name, or ``""``."""
        return self._name

    def set_name(self, name: str) -> None:
        """Store a new name.

        Raises:
            AnnotatorError: the name cannot be used (the message says why).
        """
        name = check_annotator(name)
        if name == self._name:
            return
        self._name = name
        self._settings.setValue(KEY_ANNOTATOR, name)
        self._settings.sync()
        self.changed.emit(name)

    def ask(self, parent: QWidget | None) -> bool:
        """Ask for the name in a dialog; True when a valid one was stored."""
        text, ok = QInputDialog.getText(
            parent, "Annotator", "Your annotator name (letters, digits, _ or -),\n"
                                 "stamped on each of your edits and on the files you save:",
            QLineEdit.EchoMode.Normal, self._name)
        if not ok:
            return False
        self.set_name(text)
        return True
