"""The enhancer's G×G attention for the current frame, rows labelled by facial region."""

from __future__ import annotations

import numpy as np
import PySide6  # noqa: F401  (pyqtgraph must find PySide6 first)
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

# The facial bands of the paper's figures 6-8 (one owner: meldae.attention).
from meldae.attention import row_bands

RANGE_MODES = ("per frame", "per clip")
_CLIP_PERCENTILE = 99.5
_CLIP_SAMPLE = 200_000   # values sampled for the per-clip range


def clip_range(attention: np.ndarray, done: int) -> float:
    """The per-clip colour maximum: the 99.5th percentile of the scored frames' attention.

    A percentile, not the maximum: the enhancer's attention sums to 1 over a whole window,
    and a few frames can take most of it, which would leave every other frame black.
    """
    if done <= 0:
        return 1.0
    per_frame = int(np.prod(attention.shape[1:]))
    step = max(1, done * per_frame // _CLIP_SAMPLE)
    sample = np.asarray(attention[:done:step], np.float32)
    value = float(np.percentile(sample, _CLIP_PERCENTILE, method="lower"))
    return value if value > 0 else 1.0


class AttentionPanel(QWidget):
    """Shows ``attention[frame]`` of the open clip with a colour bar.

    Colour range (chosen in the panel, stated in the caption): ``per frame`` (default)
    scales each frame to ``[0, its maximum]``, showing where that frame's attention went, as
    in the paper's figures; ``per clip`` uses one range ``[0, 99.5th percentile]`` over the
    clip's scored frames, so frames can be compared. A fixed absolute range would show
    nothing: the attention a frame's regions get sums to 1 over the whole window.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._attention: np.ndarray | None = None
        self._done = 0
        self._vmax = 1.0
        self._clip_vmax = 1.0
        self._frame = 0
        self._grid = 0
        self.caption = QLabel("Enhancer attention: no scores yet", self)
        self.caption.setWordWrap(True)
        self.caption.setObjectName("panelCaption")
        self.range_combo = QComboBox(self)
        self.range_combo.addItems(list(RANGE_MODES))
        self.range_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.range_combo.setToolTip("Colour range. Per frame: each frame scaled to its own maximum.\n"
                                    "Per clip: one range (99.5th percentile) for all frames.")
        self.range_combo.currentIndexChanged.connect(lambda _i: self.show_frame(self._frame))
        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground("#1b1c20")
        self.plot = self.graphics.addPlot(row=0, col=0)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.invertY(True)
        self.plot.getAxis("bottom").setLabel("column")
        self.plot.getAxis("left").setWidth(150)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image_item)
        self.color_bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=pg.colormap.get("inferno"),
                                         interactive=False, width=14)
        self.color_bar.setImageItem(self.image_item, insert_in=self.plot)
        self.color_bar.axis.setWidth(52)   # room for labels such as 0.0015
        self._set_grid(10)   # the paper's grid until a model says otherwise
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(self.range_combo)
        layout.addLayout(top)
        layout.addWidget(self.graphics, 1)
        self.setMinimumWidth(290)
        self.setToolTip("Where the ME enhancer looked in the current frame (mean over its "
                        "query tokens); rows grouped by facial region as in the paper")

    @property
    def current_frame(self) -> int:
        """The frame shown."""
        return self._frame

    @property
    def value_range(self) -> tuple[float, float]:
        """The colour range of the frame shown."""
        return 0.0, self._vmax

    @property
    def range_mode(self) -> str:
        """``"per frame"`` or ``"per clip"``."""
        return RANGE_MODES[self.range_combo.currentIndex()]

    def set_range_mode(self, mode: str) -> None:
        """Choose the colour range: ``"per frame"`` or ``"per clip"``."""
        self.range_combo.setCurrentIndex(RANGE_MODES.index(mode))

    def clear(self) -> None:
        """Forget the clip's attention."""
        self._attention, self._done, self._clip_vmax = None, 0, 1.0
        self.image_item.clear()
        self.caption.setText("Enhancer attention: no scores yet")

    def set_attention(self, attention: np.ndarray | None, done: int) -> None:
        """The clip's attention ``(n, G, G)``; frames ``[0, done)`` are scored."""
        self._attention, self._done = attention, int(done)
        if attention is not None:
            if attention.shape[-1] != self._grid:
                self._set_grid(int(attention.shape[-1]))
            self._clip_vmax = clip_range(attention, self._done)
        self.show_frame(self._frame)

    def _set_grid(self, grid: int) -> None:
        self._grid = grid
        ticks = [((first + last + 1) / 2, f"{first + 1}–{last + 1} {name}" if last > first
                  else f"{first + 1} {name}") for first, last, name in row_bands(grid)]
        self.plot.getAxis("left").setTicks([ticks, [(r + 0.5, "") for r in range(grid)]])
        self.plot.getAxis("bottom").setTicks([[(c + 0.5, str(c + 1)) for c in range(grid)]])
        self.plot.setXRange(0, grid, padding=0.02)
        self.plot.setYRange(0, grid, padding=0.02)

    def show_frame(self, frame_idx: int) -> None:
        """Show the attention of ``frame_idx`` (blank when not scored yet)."""
        self._frame = int(frame_idx)
        if self._attention is None or not 0 <= self._frame < self._done:
            self.image_item.clear()
            self.caption.setText(f"Enhancer attention · frame {self._frame}: not scored yet")
            return
        grid = np.asarray(self._attention[self._frame], np.float32)
        if self.range_mode == "per frame":
            self._vmax = float(grid.max()) if grid.max() > 0 else 1.0
        else:
            self._vmax = self._clip_vmax
        self.color_bar.setLevels((0.0, self._vmax))
        self.image_item.setImage(grid, levels=(0.0, self._vmax), autoLevels=False)
        self.caption.setText(f"Attention · frame {self._frame} · colour 0–{self._vmax:.2g} "
                             f"({self.range_mode})")
