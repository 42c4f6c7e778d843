"""Which model the Review tab scores with, and remembering it per project.

The Model menu offers "Use checkpoint…" (a trained ``NAME.safetensors`` with its JSON) and
"Use the demo model". A project (a clip folder) remembers the model last chosen for it in
``.meldae/project.json``, also when "Use best checkpoint" in the Training tab chose it, and
opening the folder again scores with that model. A checkpoint given on the command line
(``--checkpoint``) wins over the remembered one for that session. A remembered file that
has gone, or a file that is not a MELDAE checkpoint, is reported in words and the current
model stays.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QWidget

from app.status import StatusSink

log = logging.getLogger(__name__)


def checkpoint_problem(path: Path) -> str | None:
    """Why ``path`` cannot be used as a model (None when its JSON reads as a checkpoint)."""
    from meldae.checkpoint import CheckpointError, checkpoint_paths, read_checkpoint_info

    try:
        weights, _ = checkpoint_paths(path)
        if not weights.is_file():
            return f"{weights}: no such file"
        read_checkpoint_info(path)
    except (CheckpointError, OSError, ValueError) as exc:
        return str(exc)
    return None


def active_checkpoint(checkpoint: Path | None) -> Path | None:
    """The checkpoint file scored with: ``checkpoint``, else the bundled demo model; None
    when that file is missing."""
    from meldae.paths import demo_checkpoint

    path = Path(checkpoint or demo_checkpoint())
    return path if path.is_file() else None


class ModelChoice(QObject):
    """The Model menu's choices and the per-project memory of the chosen checkpoint.

    Args:
        scores: the score controller (its ``checkpoint`` is the model in use).
        status: where messages and errors go.
        dialog_parent: parent of the file dialog and of the actions.
        explicit: a checkpoint was given on the command line (it wins this session).

    Signals:
        checkpoint_chosen(object): use this checkpoint (a ``Path``; None: the demo model).
    """

    checkpoint_chosen = Signal(object)

    def __init__(self, scores, status: StatusSink, dialog_parent: QWidget,
                 explicit: bool) -> None:
        super().__init__(dialog_parent)
        self.scores = scores
        self.status = status
        self.dialog_parent = dialog_parent
        self.explicit = explicit
        self.project = None     # the open project (set by ``adopt``)
        self.use_action = QAction("Use checkpoint…", dialog_parent, triggered=self.ask_checkpoint)
        self.use_action.setStatusTip("Score with a trained model (NAME.safetensors + NAME.json)")
        self.demo_action = QAction("Use the demo model", dialog_parent, triggered=self.use_demo)
        self.demo_action.setStatusTip("Score with the bundled demo model (trained on synthetic motion: resources/demo)")

    def actions(self) -> list[QAction]:
        """The menu actions, in order."""
        return [self.use_action, self.demo_action]

    def ask_checkpoint(self) -> None:
        """Ask for a checkpoint file and use it."""
        start = str(active_checkpoint(self.scores.checkpoint) or Path.home())
        name, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Use checkpoint", start,
                                              "MELDAE checkpoints (*.safetensors)")
        if name:
            self.choose(Path(name))

    def choose(self, path: Path) -> bool:
        """Score with ``path`` from now on (and remember it for the open project).

        Returns:
            False, with an error shown, when ``path`` is not a usable checkpoint.
        """
        problem = checkpoint_problem(Path(path))
        if problem is not None:
            self.status.error("Cannot use this model", problem)
            return False
        self.checkpoint_chosen.emit(Path(path))
        return True

    def use_demo(self) -> None:
        """Go back to the bundled demo model."""
        self.checkpoint_chosen.emit(None)

    def remember(self, path: Path | None) -> None:
        """Store ``path`` (None: the demo model) as the open project's model."""
        if self.project is not None:
            self.project.set_model(None if path is None else Path(path).resolve())

    def adopt(self, project) -> None:
        """Before a project's first clip opens: use the model it remembers, if any."""
        self.project = project
        if self.explicit or project is None or not project.model:
            return
        path = Path(project.model)
        problem = checkpoint_problem(path)
        if problem is not None:
            message = (f"The model this project used is unavailable ({problem}); scoring with "
                       f"{active_checkpoint(self.scores.checkpoint) or 'the demo model'}")
            log.warning(message)
            self.status.show(message, 10000)
            return
        self.scores.checkpoint = path
        self.status.show(f"Model remembered by this project: {path}", 8000)
