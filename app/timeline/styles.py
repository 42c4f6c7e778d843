"""Where each lane of the timeline sits and how its boxes look (shared by the timeline,
its marks and its legend, so the legend always matches what is drawn)."""

from __future__ import annotations

from PySide6.QtGui import QColor

from app.timeline.items import LaneStyle
from meldae.annotations import ReviewState, Segment, Source

ME_LANE = (-0.34, 0.24)          # y0, height
SPEAK_MODEL_LANE = (-0.50, 0.10)
SPEAK_ANNOT_LANE = (-0.64, 0.10)
SPEAK_AUDIO_LANE = (-0.78, 0.10)
WAVE_LANE = (-1.04, 0.22)
SCORE_LANE = (0.0, 1.0)
Y_RANGE = (-1.06, 1.04)

ME_STYLES = [
    LaneStyle(QColor(70, 140, 235, 200), QColor(150, 195, 255)),    # manual
    LaneStyle(QColor(240, 160, 40, 110), QColor(255, 190, 90)),     # predicted, unreviewed
    LaneStyle(QColor(60, 185, 95, 200), QColor(140, 230, 160)),     # predicted, accepted
    LaneStyle(QColor(120, 120, 120, 70), QColor(150, 150, 150)),    # predicted, rejected
]
PRED_STYLE = [LaneStyle(QColor(240, 160, 40, 55), QColor(240, 160, 40, 120))]
SPEAK_STYLE = [LaneStyle(QColor(180, 110, 220, 190), QColor(200, 150, 235))]
SPEAK_AUDIO_STYLE = [LaneStyle(QColor(70, 190, 200, 170), QColor(130, 220, 230))]
NO_FACE_STYLE = [LaneStyle(QColor(150, 150, 160, 60), QColor(150, 150, 160, 0))]
CURVE_COLOR = QColor(250, 215, 90)
THRESHOLD_COLOR = QColor(255, 120, 90)
APEX_COLOR = QColor(255, 90, 150)

# (what, colour) in the order the legend shows them
LEGEND = (
    ("S_loc", CURVE_COLOR), ("threshold", THRESHOLD_COLOR),
    ("model proposal", PRED_STYLE[0].outline), ("manual", ME_STYLES[0].fill),
    ("unreviewed", ME_STYLES[1].outline), ("accepted", ME_STYLES[2].fill),
    ("rejected", ME_STYLES[3].outline), ("apex", APEX_COLOR),
    ("speaking", SPEAK_STYLE[0].fill), ("speaking (audio)", SPEAK_AUDIO_STYLE[0].fill),
    ("no face", QColor(150, 150, 160)),
)


def segment_style(seg: Segment) -> int:
    """Index into ``ME_STYLES`` for a document segment."""
    if seg.source != Source.PREDICTED:
        return 0
    return {ReviewState.UNREVIEWED: 1, ReviewState.ACCEPTED: 2,
            ReviewState.REJECTED: 3}[seg.review]


def legend_html() -> str:
    """The legend as one line of rich text (a coloured square before each name)."""
    return " &nbsp; ".join(f"<span style='color:{c.name()}'>■</span> {name}"
                           for name, c in LEGEND)
