"""The training tab's model inputs: the preset and hyper-parameters.

The clip chooser lives in :mod:`app.training.clips` (re-exported here). :class:`HyperParameterForm` edits a
:class:`meldae.train.launch.TrainingSettings`; choosing a preset fills in its defaults.
"Start from" fine-tunes the Review tab's active model (``--init-from``; its checkpoint fixes
the preset and N) or trains a new model of the chosen preset.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QGridLayout, QLabel, QLineEdit, QSpinBox, QWidget

from app.training.clips import ClipChooser
from meldae.train.launch import TrainingSettings

__all__ = ["ClipChooser", "HyperParameterForm", "preset_settings", "SHAPE_FROM_CHECKPOINT", "DEVICES"]

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
SHAPE_FROM_CHECKPOINT = "Disabled: the model's shape comes from the checkpoint being fine-tuned"
IMAGENET_START = "ImageNet weights (backbone)"
IMAGENET_TIP = ("A new model whose backbone starts from timm's ImageNet weights (the paper's "
                "start; 1e-5 backbone learning rate). Needs the internet once, or the weights in "
                "the Hugging Face cache; offline, use meldae train --weights FILE.")
_IMAGENET, _SCRATCH = "@imagenet", "@scratch"   # item data of the two new-model choices


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
        self.start_from.setToolTip("Fine-tune the Review tab's model on these clips, start a "
                                   "new model's backbone from ImageNet weights, or train a new "
                                   "model from scratch")
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
        previous = self.start_from.currentData()
        self._active = path
        self.start_from.blockSignals(True)
        self.start_from.clear()
        if path is not None:
            self.start_from.addItem(f"Active model ({path.stem})", str(path))
            self.start_from.setItemData(0, str(path), Qt.ItemDataRole.ToolTipRole)
        self.start_from.addItem(IMAGENET_START, _IMAGENET)
        self.start_from.setItemData(self.start_from.count() - 1, IMAGENET_TIP,
                                    Qt.ItemDataRole.ToolTipRole)
        self.start_from.addItem(f"New model (preset {self.preset.currentText()})", _SCRATCH)
        if path is not None and (tuning or not had_active):
            self.start_from.setCurrentIndex(0)
        else:                                   # keep the user's choice of a new model
            kept = self.start_from.findData(previous if previous == _IMAGENET else _SCRATCH)
            self.start_from.setCurrentIndex(kept)
        self.start_from.blockSignals(False)
        self._on_start_from_changed()

    @property
    def active_checkpoint(self) -> Path | None:
        """The checkpoint offered as "Active model" (None: only a new model)."""
        return self._active

    def init_from(self) -> Path | None:
        """The checkpoint to fine-tune, or None for a new model."""
        data = self.start_from.currentData()
        return Path(data) if data and data not in (_IMAGENET, _SCRATCH) else None

    def pretrained(self) -> bool | None:
        """A new model's backbone: ImageNet weights (True), from scratch (False); None when
        fine-tuning."""
        data = self.start_from.currentData()
        return {_IMAGENET: True, _SCRATCH: False}.get(data)

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
        self._follow_epochs_default(tuning)
        self.start_from.setItemText(self.start_from.count() - 1,
                                    f"New model (preset {self.preset.currentText()})")
        for widget, tip in ((self.preset, self._preset_tip), (self.num_queries,
                            "N, the enhancer's learnable ME query tokens")):
            widget.setEnabled(not tuning)
            widget.setToolTip(SHAPE_FROM_CHECKPOINT if tuning else tip)
        self.changed.emit()

    def _follow_epochs_default(self, tuning: bool) -> None:
        """Epochs left at a default follow the start: fewer when fine-tuning a trained model
        (``FINE_TUNE_EPOCHS``, what ``meldae train --init-from`` uses), the preset's for a new
        one. A value the user typed is kept."""
        from meldae.train.config import FINE_TUNE_EPOCHS, train_preset

        name = self.preset.currentText()
        new = train_preset(name).epochs
        tune = FINE_TUNE_EPOCHS.get(name, new)
        if self.epochs.value() == (new if tuning else tune):
            self.epochs.setValue(tune if tuning else new)

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
            init_from=self.init_from(), pretrained=self.pretrained())
