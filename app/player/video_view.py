"""The video picture with a face-crop inset."""

from __future__ import annotations

import math

from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

_INSET_FRACTION = 0.3  # inset side as a fraction of the view's height
_INSET_MARGIN = 8


class VideoView(QWidget):
    """Paints the current frame (aspect kept) and the subject's face crop as an inset.

    The face box is in source-frame pixels ``(x0, y0, x1, y1)``; the inset shows that part
    of the frame, squared, in the top-right corner, and the box is outlined on the picture.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._box: tuple[float, float, float, float] | None = None
        self._message = "No video"
        self._note = ""
        self.setMinimumSize(QSize(320, 200))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    @property
    def image(self) -> QImage | None:
        """The frame shown now."""
        return self._image

    @property
    def face_box(self) -> tuple[float, float, float, float] | None:
        """The face box drawn now, or None."""
        return self._box

    @property
    def note(self) -> str:
        """The note drawn over the picture ("" for an exact frame)."""
        return self._note

    def set_image(self, image: QImage | None, note: str = "") -> None:
        """Show ``image`` (None clears the view).

        Args:
            image: the frame; a scrub preview may be smaller than the video.
            note: a short text drawn in the corner, e.g. "≈ frame 120" for a stand-in.
        """
        self._image = image
        self._note = note
        self.update()

    def set_face_box(self, box: tuple[float, float, float, float] | None) -> None:
        """Set the face box of the frame shown (None: no face / unknown)."""
        if box is not None and not all(math.isfinite(v) for v in box):
            box = None
        self._box = box
        self.update()

    def set_message(self, text: str) -> None:
        """The text shown when there is no image."""
        self._message = text
        self.update()

    def picture_rect(self) -> QRect:
        """Where the frame is drawn inside the widget (aspect ratio kept, centred)."""
        if self._image is None or self._image.isNull():
            return QRect()
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - size.width()) // 2
        y = (self.height() - size.height()) // 2
        return QRect(x, y, size.width(), size.height())

    def inset_source_rect(self) -> QRect | None:
        """The square of the source frame shown in the inset, or None without a face box."""
        if self._image is None or self._box is None:
            return None
        x0, y0, x1, y1 = self._box
        side = max(x1 - x0, y1 - y0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        rect = QRect(round(cx - side / 2), round(cy - side / 2), round(side), round(side))
        rect = rect.intersected(self._image.rect())
        return rect if rect.width() > 1 and rect.height() > 1 else None

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(20, 20, 24))
        if self._image is None or self._image.isNull():
            painter.setPen(QColor(170, 170, 170))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._message)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target = self.picture_rect()
        painter.drawImage(target, self._image)
        self._paint_face(painter, target)
        if self._note:
            self._paint_note(painter, target)

    def _paint_note(self, painter: QPainter, target: QRect) -> None:
        """The stand-in note: yellow on a dark tag at the picture's bottom left."""
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        text = painter.fontMetrics().boundingRect(self._note).adjusted(-6, -3, 6, 3)
        text.moveBottomLeft(target.bottomLeft() + QPoint(6, -6))
        painter.fillRect(text, QColor(0, 0, 0, 170))
        painter.setPen(QColor(255, 210, 90))
        painter.drawText(text, Qt.AlignmentFlag.AlignCenter, self._note)

    def _paint_face(self, painter: QPainter, target: QRect) -> None:
        source = self.inset_source_rect()
        if source is None:
            return
        scale = target.width() / self._image.width()
        x0, y0, x1, y1 = self._box
        outline = QRectF(target.x() + x0 * scale, target.y() + y0 * scale,
                         (x1 - x0) * scale, (y1 - y0) * scale)
        painter.setPen(QPen(QColor(80, 200, 255), 1.5))
        painter.drawRect(outline)
        side = int(self.height() * _INSET_FRACTION)
        inset = QRect(self.width() - side - _INSET_MARGIN, _INSET_MARGIN, side, side)
        painter.drawImage(inset, self._image, source)
        painter.setPen(QPen(QColor(80, 200, 255), 2))
        painter.drawRect(inset)
        painter.setPen(QColor(235, 235, 235))
        painter.drawText(inset.adjusted(4, 2, -4, -2),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, "face")
