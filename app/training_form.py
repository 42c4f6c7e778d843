"""The training tab's inputs: which clips to train on, and the preset and hyper-parameters.

:class:`ClipChooser` lists the clips of a project (the open one, or a clip folder chosen
with a dialog) with check boxes; clips the annotator marked as reviewed are checked first.
Clips without an ``.eaf`` cannot teach the model anything and cannot be checked (their
tooltip says so). :class:`HyperParameterForm` edits a
:class:`app.training_process.TrainingSettings`; choosing a preset fills in its defaults.
"Start from" fine-tunes the Review tab's active model (``--init-from``; its checkpoint fixes
the preset and N) or trains a new model of the chosen preset.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QLocale, QSize, Qt, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QFileDialog, QGridLayout, QHBoxLayout, QHeaderView, QLabel,
    QLineEdit, QPushButton, QSpinBox, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from app.document import ClipReview
from app.training_process import TrainingSettings

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
SHAPE_FROM_CHECKPOINT = "Disabled: the model's shape comes from the checkpoint being fine-tuned"
_REVIEW_TEXT = {ClipReview.UNREVIEWED: "unreviewed", ClipReview.IN_PROGRESS: "in progress",
                ClipReview.DONE: "reviewed"}


def preset_settings(name: str, device: str = "auto") -> TrainingSettings:
    """The settings a preset starts from (its model and training defaults)."""
    from meldae.model import preset
    from meldae.train.config import train_preset

    train = train_preset(name)
    return TrainingSettings(preset=name, epochs=train.epochs, batch_size=train.batch_size,
                            lr_backbone=train.lr_backbone, lr_new=train.lr_new,
                            loc_loss=train.loc_loss, lam=train.lam,
                            num_queries=preset(name).num_queries,
                            max_steps=train.max_steps_per_epoch, device=device)


class _ClipTree(QTreeWidget):
    """A clip list that prefers a short height (it still takes any space left over).

    The panel's word-wrapped labels make its layout height-for-width, and then a scroll
    area sizes it by preferred heights: the default 192 px would push the run box off a
    laptop screen.
    """

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(320, 120)


class ClipChooser(QWidget):
    """Check boxes over the clips of a project; reviewed clips come checked.

    Signals:
        selection_changed(): the checked clips or the clip source changed.
    """

    selection_changed = Signal()
    NAME, REVIEW, ANNOTATED = range(3)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = None
        self.open_project_getter = None      # callable returning the window's open Project
        self._follow_window = True           # False once a clip folder was chosen
        self.source_label = QLabel("No clips yet: open a project or choose a clip folder.", self)
        self.source_label.setWordWrap(True)
        self.tree = _ClipTree(self)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Clip", "Review", "Annotations"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(self.NAME, QHeaderView.ResizeMode.Stretch)
        for col in (self.REVIEW, self.ANNOTATED):
            self.tree.header().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemChanged.connect(self._on_tree_item_changed)
        self.count_label = QLabel("", self)
        self.hint_label = QLabel("Training reads the saved .eaf files: save your edits first.",
                                 self)
        self.hint_label.setStyleSheet("color: #999;")
        self.hint_label.setWordWrap(True)
        self.project_button = QPushButton("Use open project", self)
        self.project_button.clicked.connect(self.use_open_project)
        self.folder_button = QPushButton("Clip folder…", self)
        self.folder_button.setToolTip("Train on the clips of another clip folder")
        self.folder_button.clicked.connect(self._on_folder_button_clicked)
        self.reviewed_button = QPushButton("Reviewed", self)
        self.reviewed_button.setToolTip("Check the clips marked as reviewed")
        self.reviewed_button.clicked.connect(lambda: self.check(self._reviewed_names()))
        self.all_button = QPushButton("All", self)
        self.all_button.setToolTip("Check every annotated clip")
        self.all_button.clicked.connect(lambda: self.check(None))
        self.none_button = QPushButton("None", self)
        self.none_button.clicked.connect(lambda: self.check(set()))
        self._build_layout()
        self._update_project_button()

    def _build_layout(self) -> None:
        sources = QHBoxLayout()
        sources.addWidget(self.project_button)
        sources.addWidget(self.folder_button)
        sources.addStretch(1)
        checks = QHBoxLayout()
        checks.addWidget(QLabel("Check:", self))
        for button in (self.reviewed_button, self.all_button, self.none_button):
            checks.addWidget(button)
        checks.addStretch(1)
        checks.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.source_label)
        layout.addLayout(sources)
        layout.addWidget(self.tree, 1)
        layout.addLayout(checks)
        layout.addWidget(self.hint_label)

    # ------------------------------------------------------------------ sources
    def set_project(self, project) -> None:
        """Show ``project``'s clips (an ``app.project.Project``); reviewed ones checked."""
        self.project = project
        self.tree.blockSignals(True)
        self.tree.clear()
        for clip in project.clips:
            self.tree.addTopLevelItem(self._item(clip))
        self.tree.blockSignals(False)
        self.source_label.setText(f"Clips of <b>{project.folder.name}</b> "
                                  f"<span style='color:#666'>({project.folder})</span>")
        self.source_label.setToolTip(str(project.folder))
        reviewed = self._reviewed_names()
        self.check(reviewed if reviewed else None)
        self._update_project_button()

    def _item(self, clip) -> QTreeWidgetItem:
        state = self.project.state(clip.name)
        annotated = clip.eaf_path is not None
        item = QTreeWidgetItem([clip.name, _REVIEW_TEXT[state.review],
                                ".eaf" if annotated else "none"])
        item.setData(self.NAME, Qt.ItemDataRole.UserRole, clip.name)
        item.setCheckState(self.NAME, Qt.CheckState.Unchecked)
        if annotated:
            item.setToolTip(self.NAME, str(clip.video_path))
            item.setToolTip(self.ANNOTATED, str(clip.eaf_path))
        else:
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            reason = f"{clip.name} has no .eaf annotations to learn from"
            for col in range(3):
                item.setToolTip(col, reason)
        return item

    def set_folder(self, folder: Path) -> bool:
        """Show the clips of ``folder``; returns False (and says why) when it has none."""
        from app.project import Project
        from meldae.data import DataError

        try:
            project = Project(folder)
        except DataError as exc:
            self.source_label.setText(f"<span style='color:#b00'>{exc}</span>")
            return False
        if not project.clips:
            self.source_label.setText(f"<span style='color:#b00'>{folder}: no videos in this "
                                      "folder</span>")
            return False
        self.set_project(project)
        return True

    def use_open_project(self) -> None:
        """Show the clips of the project open in the window, and follow it from now on."""
        self._follow_window = True
        project = self.open_project_getter() if self.open_project_getter else None
        if project is not None:
            self.set_project(project)

    def refresh_from_open_project(self) -> None:
        """Follow the window's project (unless a folder was chosen); update review states."""
        self._update_project_button()
        project = self.open_project_getter() if self.open_project_getter else None
        if self._follow_window and project is not None and project is not self.project:
            self.set_project(project)
            return
        if self.project is None:
            return
        for item in self._items():
            name = item.data(self.NAME, Qt.ItemDataRole.UserRole)
            item.setText(self.REVIEW, _REVIEW_TEXT[self.project.state(name).review])

    def _update_project_button(self) -> None:
        project = self.open_project_getter() if self.open_project_getter else None
        self.project_button.setEnabled(project is not None)
        self.project_button.setToolTip(
            f"Train on the clips of the open project ({project.folder})" if project is not None
            else "No project is open in the Review tab (File ▸ Open clip folder…)")

    def ask_folder(self) -> Path | None:
        """Folder dialog (tests replace it)."""
        name = QFileDialog.getExistingDirectory(self, "Clip folder to train on")
        return Path(name) if name else None

    def _on_folder_button_clicked(self) -> None:
        folder = self.ask_folder()
        if folder is not None and self.set_folder(folder):
            self._follow_window = False

    # ------------------------------------------------------------------ checks
    def _items(self) -> list[QTreeWidgetItem]:
        return [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]

    def _reviewed_names(self) -> set[str]:
        if self.project is None:
            return set()
        return {c.name for c in self.project.clips
                if self.project.state(c.name).review == ClipReview.DONE}

    def check(self, names: set[str] | None) -> None:
        """Check exactly ``names`` (None: every annotated clip)."""
        self.tree.blockSignals(True)
        for item in self._items():
            enabled = bool(item.flags() & Qt.ItemFlag.ItemIsEnabled)
            name = item.data(self.NAME, Qt.ItemDataRole.UserRole)
            on = enabled and (names is None or name in names)
            item.setCheckState(self.NAME, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.tree.blockSignals(False)
        self._on_tree_item_changed()

    def selected_clips(self) -> list:
        """The checked clips (``meldae.data.ClipInfo``), in list order."""
        if self.project is None:
            return []
        checked = {item.data(self.NAME, Qt.ItemDataRole.UserRole) for item in self._items()
                   if item.checkState(self.NAME) == Qt.CheckState.Checked}
        return [c for c in self.project.clips if c.name in checked]

    @property
    def source_folder(self) -> Path | None:
        """The folder the listed clips come from."""
        return None if self.project is None else self.project.folder

    def _on_tree_item_changed(self, *_args) -> None:
        total = sum(1 for c in self.project.clips if c.eaf_path is not None) if self.project else 0
        self.count_label.setText(f"{len(self.selected_clips())} of {total} annotated clip(s)")
        self.selection_changed.emit()


class HyperParameterForm(QWidget):
    """Preset, epochs, batch, learning rates, localisation loss, λ, queries, device.

    Signals:
        changed(): a value changed.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from meldae.model import PRESETS
        from meldae.train.config import LOCALISATION_LOSSES

        self.start_from = QComboBox(self)
        self.start_from.setToolTip("Fine-tune the Review tab's model on these clips, or train "
                                   "a new model from scratch")
        self._active: Path | None = None     # the Review tab's checkpoint
        self._start_problem: str | None = None
        self.preset = QComboBox(self)
        self.preset.addItems(list(PRESETS))
        self._preset_tip = ("paper: ViT-B/16 at 224 (GPU); lite: small ViT at 160 (CPU); "
                            "tiny: smoke tests")
        self.preset.setToolTip(self._preset_tip)
        self.epochs = self._spin(1, 10_000, "Passes over the training windows")
        self.batch_size = self._spin(1, 4096, "Windows per optimiser step")
        self.lr_backbone = self._float_edit("Backbone learning rate; empty: 1e-5 when "
                                            "fine-tuning, else the new parts' rate")
        self.lr_backbone.setPlaceholderText("auto")
        self.lr_new = self._float_edit("Learning rate of the Bi-LSTM, enhancer, fusion and heads")
        self.loc_loss = QComboBox(self)
        self.loc_loss.addItems(list(LOCALISATION_LOSSES))
        self.loc_loss.setToolTip("Localisation loss (bal = Focal Tversky + λ·boundary BCE)")
        self.lam = QDoubleSpinBox(self, decimals=2, minimum=0.0, maximum=100.0, singleStep=0.1)
        self.num_queries = self._spin(1, 256, "N, the enhancer's learnable ME query tokens")
        self.max_steps = self._spin(0, 1_000_000, "Stop each epoch after this many steps "
                                    "(quick runs); 0: no limit")
        self.max_steps.setSpecialValueText("no limit")
        self.device = QComboBox(self)
        self.device.addItems(list(DEVICES))
        self.device.setToolTip("auto: CUDA when present, else the CPU")
        self._build_layout()
        self.set_settings(preset_settings("lite"))
        self.set_active_checkpoint(None)
        self.start_from.currentIndexChanged.connect(self._on_start_from_changed)
        self.preset.currentTextChanged.connect(self._on_preset_current_text_changed)
        self.loc_loss.currentTextChanged.connect(self._update_lam)
        for widget in (self.epochs, self.batch_size, self.lam, self.num_queries, self.max_steps):
            widget.valueChanged.connect(self.changed)
        for edit in (self.lr_backbone, self.lr_new):
            edit.textChanged.connect(self.changed)
        for combo in (self.loc_loss, self.device):
            combo.currentTextChanged.connect(self.changed)

    def _spin(self, low: int, high: int, tip: str) -> QSpinBox:
        spin = QSpinBox(self, minimum=low, maximum=high)
        spin.setToolTip(tip)
        return spin

    def _float_edit(self, tip: str) -> QLineEdit:
        edit = QLineEdit(self)
        validator = QDoubleValidator(0.0, 10.0, 12, edit)
        validator.setNotation(QDoubleValidator.Notation.ScientificNotation)
        validator.setLocale(QLocale.c())     # "5e-4" whatever the user's locale
        edit.setValidator(validator)
        edit.setToolTip(tip)
        return edit

    def _build_layout(self) -> None:
        """Two label/field pairs per row: the form stays short enough for a laptop screen."""
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.addWidget(QLabel("Start from", self, buddy=self.start_from), 0, 0)
        grid.addWidget(self.start_from, 0, 1, 1, 3)
        rows = ((("Preset", self.preset), ("Device", self.device)),
                (("Epochs", self.epochs), ("Batch size", self.batch_size)),
                (("LR backbone", self.lr_backbone), ("LR new parts", self.lr_new)),
                (("Loc. loss", self.loc_loss), ("λ (boundary)", self.lam)),
                (("Queries N", self.num_queries), ("Steps/epoch", self.max_steps)))
        for row, pairs in enumerate(rows):
            for pair, (text, widget) in enumerate(pairs):
                label = QLabel(text, self)
                label.setBuddy(widget)
                label.setToolTip(widget.toolTip())
                grid.addWidget(label, row + 1, 2 * pair)
                grid.addWidget(widget, row + 1, 2 * pair + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

    def _on_preset_current_text_changed(self, name: str) -> None:
        self.set_settings(preset_settings(name, self.device.currentText()))
        self.start_from.setItemText(self.start_from.count() - 1, f"New model (preset {name})")
        self.changed.emit()

    # ------------------------------------------------------------------ start from
    def set_active_checkpoint(self, path: Path | None) -> None:
        """Offer fine-tuning ``path`` (the Review tab's model); chosen when first offered."""
        path = None if path is None else Path(path)
        had_active, tuning = self._active is not None, self.init_from() is not None
        self._active = path
        self.start_from.blockSignals(True)
        self.start_from.clear()
        if path is not None:
            self.start_from.addItem(f"Active model ({path.stem})", str(path))
            self.start_from.setItemData(0, str(path), Qt.ItemDataRole.ToolTipRole)
        self.start_from.addItem(f"New model (preset {self.preset.currentText()})", None)
        self.start_from.setCurrentIndex(0 if path is not None and (tuning or not had_active)
                                        else self.start_from.count() - 1)
        self.start_from.blockSignals(False)
        self._on_start_from_changed()

    @property
    def active_checkpoint(self) -> Path | None:
        """The checkpoint offered as "Active model" (None: only a new model)."""
        return self._active

    def init_from(self) -> Path | None:
        """The checkpoint to fine-tune, or None for a new model."""
        data = self.start_from.currentData()
        return Path(data) if data else None

    def _on_start_from_changed(self, *_args) -> None:
        """Fine-tuning: show the checkpoint's preset and N, and lock them."""
        from meldae.checkpoint import CheckpointError, read_checkpoint_info
        from meldae.model import config_from_dict
        from meldae.train.config import matching_preset

        path, self._start_problem = self.init_from(), None
        if path is not None:
            try:
                cfg = config_from_dict(read_checkpoint_info(path)["model"])
            except (CheckpointError, ValueError) as exc:
                self._start_problem = f"Start from: {exc}"
            else:
                self.preset.blockSignals(True)
                self.preset.setCurrentText(matching_preset(cfg) or self.preset.currentText())
                self.preset.blockSignals(False)
                self.num_queries.setValue(cfg.num_queries)
        tuning = path is not None
        self.start_from.setItemText(self.start_from.count() - 1,
                                    f"New model (preset {self.preset.currentText()})")
        for widget, tip in ((self.preset, self._preset_tip), (self.num_queries,
                            "N, the enhancer's learnable ME query tokens")):
            widget.setEnabled(not tuning)
            widget.setToolTip(SHAPE_FROM_CHECKPOINT if tuning else tip)
        self.changed.emit()

    def _update_lam(self, *_args) -> None:
        bal = self.loc_loss.currentText() == "bal"
        self.lam.setEnabled(bal)
        self.lam.setToolTip("Weight λ of the boundary BCE term of BAL" if bal else
                            "λ weighs BAL's boundary term; the chosen loss has none")

    def set_settings(self, s: TrainingSettings) -> None:
        """Show ``s`` in the form (the preset combo changes without refilling)."""
        self.preset.blockSignals(True)
        self.preset.setCurrentText(s.preset)
        self.preset.blockSignals(False)
        self.epochs.setValue(s.epochs)
        self.batch_size.setValue(s.batch_size)
        self.lr_backbone.setText("" if s.lr_backbone is None else f"{s.lr_backbone:g}")
        self.lr_new.setText(f"{s.lr_new:g}")
        self.loc_loss.setCurrentText(s.loc_loss)
        self.lam.setValue(s.lam)
        self.num_queries.setValue(s.num_queries)
        self.max_steps.setValue(s.max_steps or 0)
        self.device.setCurrentText(s.device)
        self._update_lam()

    def load_run_config(self, config: dict) -> None:
        """Show a run folder's ``config.json`` values (the preset combo is left alone)."""
        model, train = config.get("model") or {}, config.get("train") or {}
        current = self.settings() if self.problem() is None else preset_settings("lite")
        self.set_settings(replace(
            current, epochs=int(train.get("epochs", current.epochs)),
            batch_size=int(train.get("batch_size", current.batch_size)),
            lr_backbone=train.get("lr_backbone"),
            lr_new=float(train.get("lr_new", current.lr_new)),
            loc_loss=str(train.get("loc_loss", current.loc_loss)),
            lam=float(train.get("lam", current.lam)),
            num_queries=int(model.get("num_queries", current.num_queries)),
            max_steps=train.get("max_steps_per_epoch")))
        self.changed.emit()

    def problem(self) -> str | None:
        """Why the values cannot be used, or None."""
        if self._start_problem:
            return self._start_problem
        for name, edit, optional in (("LR backbone", self.lr_backbone, True),
                                     ("LR new parts", self.lr_new, False)):
            text = edit.text().strip()
            if not text and optional:
                continue
            try:
                value = float(text)
            except ValueError:
                return f"{name}: enter a number such as 5e-4"
            if value <= 0:
                return f"{name}: must be positive"
        return None

    def settings(self) -> TrainingSettings:
        """The values in the form.

        Raises:
            ValueError: a learning rate is not a positive number (see ``problem``).
        """
        problem = self.problem()
        if problem:
            raise ValueError(problem)
        backbone = self.lr_backbone.text().strip()
        return TrainingSettings(
            preset=self.preset.currentText(), epochs=self.epochs.value(),
            batch_size=self.batch_size.value(),
            lr_backbone=float(backbone) if backbone else None,
            lr_new=float(self.lr_new.text()), loc_loss=self.loc_loss.currentText(),
            lam=self.lam.value(), num_queries=self.num_queries.value(),
            max_steps=self.max_steps.value() or None, device=self.device.currentText(),
            init_from=self.init_from())
