"""Benchmark sheets (CAS(ME)^2, SAMM, MMEW) -> clip folders, with tiny generated media."""

from __future__ import annotations

import argparse
import logging
import os
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from meldae.annotations import load_eaf
from meldae.data import DataError, convert, discover_clips, expression_type_of, make_label, read_splits_csv
from meldae.video import VideoReader, probe

openpyxl = pytest.importorskip("openpyxl")


def make_video(path: Path, n_frames: int, fps: Fraction) -> Path:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(n_frames):
            img = np.full((32, 32, 3), (i * 9) % 256, dtype=np.uint8)  # (H, W, 3)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def make_images(folder: Path, prefix: str, n: int, first: int = 1, size=(24, 18)) -> None:
    """Grey-level frames ``<prefix>0001.jpg``... (SAMM is greyscale, odd sizes happen)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = np.full((size[1], size[0]), 20 + 20 * i, dtype=np.uint8)  # (H, W)
        cv2.imwrite(str(folder / f"{prefix}{first + i:04d}.png"), img)


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _segments(eaf: Path, fps):
    return [(s.onset, s.offset, s.apex, s.label) for s in load_eaf(eaf, fps).segments]


def test_labels():
    assert make_label("micro", "disgust") == "micro:disgust"
    assert make_label("macro", "") == "macro"
    assert make_label("", "happiness") == "happiness"
    assert expression_type_of("micro:disgust") == "micro"
    assert expression_type_of("Macro") == "macro"
    assert expression_type_of("happiness") == ""


def test_casme2_video_files(tmp_path, caplog):
    videos = tmp_path / "rawvideo"
    make_video(videos / "s15" / "anger1_1.mp4", 30, Fraction(30))
    make_video(videos / "s16" / "happy1_2.mp4", 20, Fraction(30))
    sheet = write_xlsx(tmp_path / "casme2.xlsx", [
        [15, "anger1_1", 5, 8, 12, "4+7", "negative", "micro-expression", "anger"],
        [15, "anger1_1", 20, 25, 0, "12", "positive", "macro-expression", "happy"],   # offset 0
        [16, "happy1_2", 3, 0, 0, "12", "positive", "macro-expression", "happy"],     # skipped
        [16, "happy1_2", 2, 4, 40, "12", "positive", "micro-expression", "happy"],    # clipped
        [16, "missing_video", 2, 4, 6, "12", "positive", "micro-expression", "happy"],
    ])
    out = tmp_path / "clips"
    with caplog.at_level(logging.WARNING):
        clips = convert("casme2", sheet, videos, out)
    assert [(c.name, c.subject) for c in clips] == [("anger1_1", "15"), ("happy1_2", "16")]
    # 1-based sheet frames -> 0-based; offset 0 -> offset = apex
    assert _segments(out / "anger1_1.eaf", 30) == [(4, 11, 7, "micro:negative"), (19, 24, 24, "macro:positive")]
    assert _segments(out / "happy1_2.eaf", 30) == [(1, 19, 3, "micro:positive")]
    assert "offset and apex are 0" in caplog.text and "missing_video" in caplog.text
    src, dst = videos / "s15" / "anger1_1.mp4", out / "anger1_1.mp4"
    assert os.stat(src).st_ino == os.stat(dst).st_ino              # hard link, not a copy
    assert read_splits_csv(out / "splits.csv") == {"anger1_1": ("15", None), "happy1_2": ("16", None)}
    assert load_eaf(out / "anger1_1.eaf", 30).speaking == []


def test_samm_image_sequences_header_on_row_10(tmp_path):
    videos = tmp_path / "SAMM_longvideos"
    make_images(videos / "006_1", "006_1_", 12)
    make_images(videos / "007_3", "007_3_", 6, size=(25, 19))       # odd: cropped to 24x18
    rows: list[list[object]] = [[f"SAMM long videos, info line {i}"] for i in range(1, 10)]
    rows.append(["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration",
                 "Type", "Action Units", "Notes"])
    rows += [
        ["006", "006_1_1", 1, 2, 3, 5, 4, "Micro - 1/2", "R12", ""],
        ["006", "006_1_2", 1, 8, -1, 12, 5, "Macro", "4", ""],
        ["007", "007_3_1", 2, 1, 2, 3, 3, "Micro - 1/2", "1+2", ""],
    ]
    sheet = write_xlsx(tmp_path / "samm.xlsx", rows)
    clips = convert("samm", sheet, videos, tmp_path / "out")
    assert [(c.name, c.subject) for c in clips] == [("006_1", "006"), ("007_3", "007")]
    fps = Fraction(200)
    assert _segments(tmp_path / "out" / "006_1.eaf", fps) == [(1, 4, 2, "micro"), (7, 11, None, "macro")]
    assert _segments(tmp_path / "out" / "007_3.eaf", fps) == [(0, 2, 1, "micro")]
    with VideoReader(clips[0].video_path) as reader:
        assert reader.fps == fps and len(reader) == 12 and reader.size == (24, 18)
        frame = reader[5]                                   # grey 120, near-lossless
        assert abs(float(frame.mean()) - 120) < 3
    with VideoReader(clips[1].video_path) as reader:
        assert len(reader) == 6 and reader.size == (24, 18)


def test_mmew_with_custom_fps_and_rerun(tmp_path):
    videos = tmp_path / "MMEW" / "Micro_Expression"
    make_images(videos / "happiness" / "S01_happy01", "", 8)
    sheet = write_xlsx(tmp_path / "mmew.xlsx", [
        ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"],
        ["S01", "S01_happy01", 2, 4, 7, "AU12", "happiness"],
    ])
    out = tmp_path / "out"
    clips = convert("mmew", sheet, tmp_path / "MMEW", out, fps=60)
    assert probe(clips[0].video_path).fps == 60
    assert _segments(out / "S01_happy01.eaf", 60) == [(1, 6, 3, "micro:happiness")]
    mtime = clips[0].video_path.stat().st_mtime_ns
    (out / "splits.csv").write_text("clip,subject,split\nS01_happy01,S01,test\nother,S9,\n")
    again = convert("mmew", sheet, tmp_path / "MMEW", out, fps=60)
    assert again[0].video_path.stat().st_mtime_ns == mtime           # not encoded twice
    assert read_splits_csv(out / "splits.csv") == {"S01_happy01": ("S01", "test"), "other": ("S9", None)}


def test_bad_sheets(tmp_path):
    (tmp_path / "v").mkdir()
    no_header = write_xlsx(tmp_path / "samm.xlsx", [["a", "b"], [1, 2]])
    with pytest.raises(DataError, match="no header row with columns Subject"):
        convert("samm", no_header, tmp_path / "v", tmp_path / "out")
    bad_frame = write_xlsx(tmp_path / "c.xlsx", [[1, "x", "five", 8, 12, "", "", "micro", ""]])
    with pytest.raises(DataError, match=r"c\.xlsx: row 1: onset 'five'"):
        convert("casme2", bad_frame, tmp_path / "v", tmp_path / "out")
    (tmp_path / "junk.xlsx").write_text("not a spreadsheet")
    with pytest.raises(DataError, match="not a readable xlsx"):
        convert("casme2", tmp_path / "junk.xlsx", tmp_path / "v", tmp_path / "out")
    ok = write_xlsx(tmp_path / "ok.xlsx", [[1, "x", 1, 2, 3, "", "", "micro", ""]])
    with pytest.raises(DataError, match="none of the 1 sheet rows"):
        convert("casme2", ok, tmp_path / "v", tmp_path / "out")
    with pytest.raises(DataError, match="videos folder not found"):
        convert("casme2", ok, tmp_path / "nope", tmp_path / "out")
    with pytest.raises(DataError, match="unknown dataset kind"):
        convert("casme3", ok, tmp_path / "v", tmp_path / "out")


def test_cli_convert(tmp_path, capsys):
    from meldae.cli import dataset_cmds

    make_video(tmp_path / "videos" / "clip.mp4", 10, Fraction(25))
    sheet = write_xlsx(tmp_path / "c.xlsx", [[3, "clip", 2, 3, 4, "", "disgust", "micro-expression", ""]])
    parser = argparse.ArgumentParser()
    dataset_cmds.register(parser.add_subparsers())
    args = parser.parse_args(["convert", "casme2", str(sheet), str(tmp_path / "videos"),
                              str(tmp_path / "out"), "--copy"])
    assert args.func(args) == 0
    assert "1 clips of 1 subjects" in capsys.readouterr().out
    assert [c.name for c in discover_clips(tmp_path / "out")] == ["clip"]
    assert not (tmp_path / "out" / "clip.mp4").samefile(tmp_path / "videos" / "clip.mp4")
    assert _segments(tmp_path / "out" / "clip.eaf", 25) == [(1, 3, 2, "micro:disgust")]
