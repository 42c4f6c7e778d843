"""Clip folders: discovery, splits.csv, subject-independent splits and k-fold."""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from meldae.annotations import ClipAnnotations, Segment, save_eaf
from meldae.data import (
    ClipInfo,
    DataError,
    clip_fps,
    discover_clips,
    kfold_splits,
    load_clip_annotations,
    read_splits_csv,
    subject_split,
    write_splits_csv,
)


def make_video(path: Path, n_frames: int, fps: Fraction) -> Path:
    """A tiny H.264 video of moving grey levels."""
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(n_frames):
            img = np.full((32, 32, 3), (i * 7) % 256, dtype=np.uint8)  # (H, W, 3)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def _clips(spec: dict[str, str]) -> list[ClipInfo]:
    return [ClipInfo(name, Path(f"{name}.mp4"), None, subject, None) for name, subject in spec.items()]


def test_discover_clip_folder(tmp_path):
    for name in ("a.mp4", "b.MOV", "c.eaf", ".hidden.mp4", "notes.txt", "d.mkv"):
        (tmp_path / name).write_bytes(b"")
    save_eaf(ClipAnnotations([Segment(3, 5)], []), tmp_path / "a.eaf", 25)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.mp4").write_bytes(b"")           # sub-folders are not clips
    write_splits_csv(tmp_path / "splits.csv", [("a", "s1", "test"), ("b", "s2", None)])
    clips = discover_clips(tmp_path)
    assert [c.name for c in clips] == ["a", "b", "d"]
    a, b, d = clips
    assert a == ClipInfo("a", tmp_path / "a.mp4", tmp_path / "a.eaf", "s1", "test")
    assert (b.video_path.name, b.eaf_path, b.subject, b.split) == ("b.MOV", None, "s2", None)
    assert (d.subject, d.split) == ("d", None)                 # unlisted: its own subject
    assert [(s.onset, s.offset) for s in load_clip_annotations(a, 25).segments] == [(3, 5)]
    assert load_clip_annotations(b, 25).segments == []


def test_two_videos_with_one_name(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"")
    (tmp_path / "x.avi").write_bytes(b"")
    with pytest.raises(DataError, match="two videos named 'x'"):
        discover_clips(tmp_path)
    with pytest.raises(DataError, match="not a folder"):
        discover_clips(tmp_path / "missing")


@pytest.mark.parametrize("text, message", [
    ("name,who,split\na,s1,train\n", "header"),
    ("clip,subject,split\na,s1,training\n", "line 2: split 'training'"),
    ("clip,subject,split\na,s1,\na,s2,\n", "line 3: clip 'a' is listed twice"),
    ("clip,subject,split\na,,\n", "line 2: clip and subject"),
])
def test_bad_splits_csv(tmp_path, text, message):
    (tmp_path / "splits.csv").write_text(text)
    with pytest.raises(DataError, match=message):
        read_splits_csv(tmp_path / "splits.csv")


def test_splits_csv_round_trip_with_bom_and_blank_lines(tmp_path):
    (tmp_path / "splits.csv").write_text("\ufeffClip,Subject,Split\na, s1 ,VAL\n\nb,s2,\n", encoding="utf-8")
    assert read_splits_csv(tmp_path / "splits.csv") == {"a": ("s1", "val"), "b": ("s2", None)}


def test_discovery_is_fast(tmp_path):
    for i in range(2000):
        (tmp_path / f"clip{i:04d}.mp4").write_bytes(b"")
        (tmp_path / f"clip{i:04d}.eaf").write_bytes(b"")
    write_splits_csv(tmp_path / "splits.csv", [(f"clip{i:04d}", f"s{i % 40}", None) for i in range(2000)])
    start = time.perf_counter()
    clips = discover_clips(tmp_path)
    elapsed = time.perf_counter() - start
    assert len(clips) == 2000 and clips[7].subject == "s7" and clips[7].eaf_path is not None
    assert elapsed < 1.0, f"discovering 2000 clips took {elapsed:.3f} s"


def test_subject_split_counts_and_independence():
    clips = _clips({f"c{i}": f"s{i // 3}" for i in range(30)})    # 10 subjects x 3 clips
    split = subject_split(clips, val_fraction=0.1, test_fraction=0.2, seed=3)
    assert (len(split.subjects("train")), len(split.subjects("val")), len(split.subjects("test"))) == (7, 1, 2)
    assert (len(split.train), len(split.val), len(split.test)) == (21, 3, 6)
    assert not split.subjects("train") & split.subjects("test")
    assert not split.subjects("train") & split.subjects("val")
    assert not split.subjects("val") & split.subjects("test")
    assert subject_split(clips, 0.1, 0.2, seed=3) == split                 # deterministic
    tests = {frozenset(subject_split(clips, 0.1, 0.2, seed=s).subjects("test")) for s in range(6)}
    assert len(tests) > 1                                                   # seed matters


def test_subject_split_honours_splits_csv():
    clips = [ClipInfo("a1", Path("a1.mp4"), None, "A", "test"),
             ClipInfo("a2", Path("a2.mp4"), None, "A", None),            # follows A's fixed split
             ClipInfo("b1", Path("b1.mp4"), None, "B", "val"),
             *_clips({f"x{i}": f"S{i}" for i in range(4)})]
    split = subject_split(clips, 0.0, 0.25, seed=0)
    assert {c.name for c in split.test} >= {"a1", "a2"}
    assert [c.name for c in split.val] == ["b1"]
    assert len(split.subjects("test") - {"A"}) == 1                        # round(0.25 * 4) free ones
    bad = clips + [ClipInfo("a3", Path("a3.mp4"), None, "A", "train")]
    with pytest.raises(DataError, match="subject 'A' in several splits"):
        subject_split(bad, 0.1, 0.2, seed=0)


def test_subject_split_small_sets():
    one = _clips({"c0": "s0"})
    split = subject_split(one, 0.1, 0.2, seed=0)
    assert [c.name for c in split.train] == ["c0"] and not split.val and not split.test
    two = _clips({"c0": "s0", "c1": "s1"})
    split = subject_split(two, 0.1, 0.2, seed=0)
    assert (len(split.train), len(split.val), len(split.test)) == (1, 0, 1)
    with pytest.raises(DataError):
        subject_split(two, 0.5, 0.5, seed=0)


def test_kfold_by_subject():
    sizes = {"s0": 5, "s1": 1, "s2": 2, "s3": 3, "s4": 1, "s5": 2}
    clips = [ClipInfo(f"{s}_{j}", Path("x"), None, s, None) for s, n in sizes.items() for j in range(n)]
    folds = kfold_splits(clips, k=3, seed=1)
    assert len(folds) == 3
    tested = [c.subject for _, test in folds for c in test]
    assert sorted(set(tested)) == sorted(sizes) and len(tested) == len(clips)   # each clip once
    for train, test in folds:
        assert not {c.subject for c in train} & {c.subject for c in test}
        assert len(train) + len(test) == len(clips)
    assert sorted(len(test) for _, test in folds) == [4, 5, 5]      # greedy balance of 14 clips
    loso = kfold_splits(clips, k=6, seed=0)
    assert sorted(len({c.subject for c in test}) for _, test in loso) == [1] * 6
    with pytest.raises(DataError, match="k-fold"):
        kfold_splits(clips, k=7)


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, meldae.data, meldae.annotations, meldae.data.clipfolder, meldae.data.splits; "
            "print(sorted(m for m in ('torch', 'av', 'cv2', 'matplotlib', 'PySide6', 'pyqtgraph') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.strip() == "[]"


def test_clip_fps_from_header(tmp_path):
    path = make_video(tmp_path / "v.mp4", 5, Fraction(30000, 1001))
    assert clip_fps(ClipInfo("v", path, None, "v", None)) == Fraction(30000, 1001)
    assert clip_fps(make_video(tmp_path / "w.mp4", 3, Fraction(25))) == Fraction(25)
