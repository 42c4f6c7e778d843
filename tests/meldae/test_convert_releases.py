"""The converters read CAS(ME)^2 and SAMM long videos as released (issue 12, item 7):
miniature copies in exactly the published layouts (sheets, naming rules, folders)."""

from __future__ import annotations

import logging
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from meldae.annotations import load_eaf
from meldae.data import convert, expression_type_of, read_splits_csv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_convert import make_video  # noqa: E402

openpyxl = pytest.importorskip("openpyxl")


def make_images(folder: Path, prefix: str, n: int) -> None:
    """Frames ``<prefix>0001.jpg``... numbered from 1, as both releases number them."""
    import cv2
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = np.full((18, 24), (20 + 13 * i) % 256, dtype=np.uint8)  # (H, W)
        cv2.imwrite(str(folder / f"{prefix}{i + 1:04d}.jpg"), img)


def write_book(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """A workbook with the given sheets, in order."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def _segments(eaf: Path, fps):
    return [(s.onset, s.offset, s.apex, s.label) for s in load_eaf(eaf, fps).segments]


def test_casme2_as_released(tmp_path, caplog):
    root = tmp_path / "CAS(ME)^2"
    make_video(root / "rawvideo" / "s15" / "15_0401girlcrashing.avi", 30, Fraction(30))
    make_images(root / "rawpic" / "s16" / "16_0101disgustingteeth", "img", 10)
    sheet = write_book(root / "CAS(ME)^2code_final.xlsx", {
        "CASFEcode_final": [
            [1, "anger1_1", 5, 8, 12, "4+7", "negative", "micro-expression", "anger"],
            [1, "anger1_2", 20, 25, 0, "12", "negative", "macro-expression", "anger"],  # offset 0
            [2, "disgust1_1", 2, 3, 5, "9", "negative", "micro-expression", "disgust"],
            [3, "anger1_1", 2, 3, 5, "9", "negative", "micro-expression", "anger"],    # no rule1
            [1, "happy9_1", 2, 3, 5, "12", "positive", "micro-expression", "happy"],   # no rule2
        ],
        "naming rule1": [[15, "s15", 1], [16, "s16", 2]],
        "naming rule2": [["0401", "anger1"], [102, "disgust2"]],   # disgust1 left out, as released
    })
    out = tmp_path / "clips"
    with caplog.at_level(logging.WARNING):
        clips = convert("casme2", sheet, root, out)
    assert [(c.name, c.subject) for c in clips] == [("15_0401girlcrashing", "s15"),
                                                    ("16_0101disgustingteeth", "s16")]
    # 1-based sheet frames -> 0-based; the macro row's offset 0 becomes its apex
    assert _segments(out / "15_0401girlcrashing.eaf", 30) == [
        (4, 11, 7, "micro:negative"), (19, 24, 24, "macro:negative")]
    assert _segments(out / "16_0101disgustingteeth.eaf", 30) == [(1, 4, 2, "micro:negative")]
    assert "participant '3' is not in 'naming rule1'" in caplog.text
    assert "'happy9' is not in 'naming rule2'" in caplog.text
    assert read_splits_csv(out / "splits.csv") == {"15_0401girlcrashing": ("s15", None),
                                                   "16_0101disgustingteeth": ("s16", None)}
    # UF1 and Table 2 read the expression types back from the EAF labels
    labels = [s.label for s in load_eaf(out / "15_0401girlcrashing.eaf", 30).segments]
    assert [expression_type_of(label) for label in labels] == ["micro", "macro"]


def test_casme2_prefers_the_video_over_the_image_folder(tmp_path):
    root = tmp_path / "CAS(ME)^2"
    make_video(root / "rawvideo" / "s15" / "15_0401girlcrashing.avi", 12, Fraction(30))
    make_images(root / "rawpic" / "s15" / "15_0401girlcrashing", "img", 12)
    sheet = write_book(root / "codes.xlsx", {
        "CASFEcode_final": [[1, "anger1_1", 2, 3, 5, "4", "negative", "micro-expression", ""]],
        "naming rule1": [[15, "s15", 1]], "naming rule2": [["0401", "anger1"]]})
    (clip,) = convert("casme2", sheet, root, tmp_path / "out")
    assert clip.video_path.suffix == ".avi"


def _samm_sheet(rows: list[list[object]]) -> dict[str, list[list[object]]]:
    notes = [[f"SAMM Long Videos release notes, line {i}"] for i in range(1, 10)]
    header = ["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration",
              "Type", "Action Units", "Notes"]
    return {"Read Me": [["see FACS_Movement_Only"]], "FACS_Movement_Only": notes + [header] + rows}


def test_samm_long_videos_as_released(tmp_path):
    root = tmp_path / "SAMM"
    make_images(root / "SAMM_longvideos" / "006_1", "006_1_", 20)
    make_images(root / "SAMM_longvideos" / "011_2", "011_2_", 8)
    sheet = write_book(root / "SAMM_LongVideos_V3_Release.xlsx", _samm_sheet([
        [6, "006_1_1", 1, 2.5, 4, 6.4, 4, "Micro - 1/2", "R12", ""],   # fractional: 3 .. 6
        [6, "006_1_10", 1, 9, -1, 15, 7, "Macro", "4", ""],            # apex -1, 2-digit index
        [6, "006_1_3", 1, 0, 12, 14, 3, "Micro - 1/2", "1", ""],       # onset 0: from the apex
        [11, "011_2_1", 2, 2, 3, 4, 3, "Micro - 1/2", "1+2", ""],
    ]))
    out = tmp_path / "out"
    clips = convert("samm", sheet, root, out)
    assert [(c.name, c.subject) for c in clips] == [("006_1", "006"), ("011_2", "011")]
    fps = Fraction(200)
    assert _segments(out / "006_1.eaf", fps) == [
        (2, 5, 3, "micro"), (8, 14, None, "macro"), (11, 13, 11, "micro")]
    assert _segments(out / "011_2.eaf", fps) == [(1, 3, 2, "micro")]
    types = {expression_type_of(s.label) for s in load_eaf(out / "006_1.eaf", fps).segments}
    assert types == {"micro", "macro"}
