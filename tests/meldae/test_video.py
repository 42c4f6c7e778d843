"""meldae.video: frame-exact random access, on real files and files written here with PyAV."""

from __future__ import annotations

import random
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from meldae.video import index as video_index
from meldae.video import reader as video_reader
from meldae.video import VideoError, VideoReader, probe

_BFRAMES = "bframes=3:b-adapt=0:keyint=10:b-pyramid=normal"
SHARED = ["WolfgangLanger_Pexels.mp4", "no_face.mp4", "single_face.mp4"]


def _sequential(path: Path) -> list[np.ndarray]:
    """The reference: every frame of plain sequential decoding, as RGB."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _pattern(i: int, size=(64, 48)) -> np.ndarray:
    """A frame that differs from every other (moving bars over a gradient; B-frame friendly)."""
    w, h = size
    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[..., 2] = np.linspace(0, 200, w, dtype=np.uint8)[None, :]
    img[:, (3 * i) % w, 0] = 255
    img[i % h, :, 1] = 220
    return img


def _write(path: Path, n: int, codec: str = "libx264", pts: list[int] | None = None,
           time_base: Fraction = Fraction(1, 30), options: dict | None = None) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = stream.codec_context.time_base = time_base
        stream.options = options or {}
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(_pattern(i), format="rgb24")
            frame.pts = pts[i] if pts is not None else i
            frame.time_base = time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _assert_exact(path: Path, n_random: int | None = None, seed: int = 0) -> VideoReader:
    """reader[i] equals sequential frame i, in random order, reverse order and by iteration."""
    seq = _sequential(path)
    reader = VideoReader(path)
    assert len(reader) == len(seq)
    assert reader.size == (seq[0].shape[1], seq[0].shape[0])
    order = list(range(len(seq)))
    random.Random(seed).shuffle(order)
    for i in order[: n_random or len(order)]:
        assert np.array_equal(reader[i], seq[i]), f"frame {i} of {path.name}"
    cold = VideoReader(path, cache_bytes=0)  # no cache: every read decodes
    for i in reversed(range(0, len(seq), max(3, len(seq) // 12))):
        assert np.array_equal(cold[i], seq[i]), f"frame {i} of {path.name} (reverse)"
    for (i, frame), ref in zip(reader.iter_frames(), seq, strict=True):
        assert np.array_equal(frame, ref), f"iterated frame {i} of {path.name}"
    return reader


@pytest.mark.parametrize("name", SHARED)
def test_real_files_are_frame_exact(shared_data, name):
    path = shared_data / "video" / name
    reader = _assert_exact(path, n_random=25)
    assert reader[0].dtype == np.uint8 and reader[0].shape[2] == 3


@pytest.mark.slow
@pytest.mark.parametrize("name", SHARED)
def test_real_files_every_frame(shared_data, name):
    _assert_exact(shared_data / "video" / name, seed=1)


def test_real_file_counts_and_rates(shared_data):
    folder = shared_data / "video"
    with VideoReader(folder / "no_face.mp4") as r:
        assert probe(folder / "no_face.mp4").frames == 98  # the header says 98 ...
        assert len(r) == 95                                  # ... but 95 decode (edit list)
        assert r.fps == Fraction(24) and r.size == (960, 540)
    with VideoReader(folder / "WolfgangLanger_Pexels.mp4") as r:
        assert len(r) == 472 and r.fps == Fraction(24000, 1001) and r.size == (640, 360)
        assert r.timestamps[3] == Fraction(3003, 24000)
    with VideoReader(folder / "single_face.mp4") as r:
        assert len(r) == 72 and r.fps == Fraction(30)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".ts"])
def test_bframes_h264(tmp_path, suffix):
    path = _write(tmp_path / f"bf{suffix}", 60, options={"x264-params": _BFRAMES})
    with av.open(str(path)) as c:
        packet_pts = [p.pts for p in c.demux(video=0) if p.size]
    assert packet_pts != sorted(packet_pts), "the encoder wrote no B-frames"
    reader = _assert_exact(path)
    assert len(reader) == 60 and reader.fps == 30


def test_variable_frame_rate_mov(tmp_path):
    gaps = [1, 3, 1, 2, 5, 1, 1, 4, 2, 1] * 4
    pts = list(np.cumsum([0] + gaps[:-1]))
    path = _write(tmp_path / "vfr.mov", len(pts), pts=[int(p) for p in pts],
                  time_base=Fraction(1, 90), options={"x264-params": _BFRAMES})
    reader = _assert_exact(path)
    assert len(reader) == 40
    # Timestamps round-trip the irregular pts; fps is the mean rate (39 intervals).
    assert reader.timestamps == [Fraction(int(p), 90) for p in pts]
    assert reader.fps == Fraction(39 * 90, int(pts[-1]))


def test_mpeg4_avi(tmp_path):
    reader = _assert_exact(_write(tmp_path / "clip.avi", 25, codec="mpeg4"))
    assert len(reader) == 25


def test_sequential_reads_do_not_seek(shared_data, monkeypatch):
    reader = VideoReader(shared_data / "video" / "WolfgangLanger_Pexels.mp4", cache_bytes=0)
    seeks: list[object] = []
    original = video_reader._Cursor._seek
    monkeypatch.setattr(video_reader._Cursor, "_seek",
                        lambda self, ts: (seeks.append(ts), original(self, ts))[1])
    reader[200]
    assert len(seeks) == 1
    for i in range(201, 260):
        reader[i]
    assert len(seeks) == 1  # playback decodes forward, never seeks
    seq = _sequential(reader.path)
    for i in range(259, 247, -1):  # stepping back over the last 12 frames decodes nothing
        assert np.array_equal(reader[i], seq[i])
    assert len(seeks) == 1
    assert np.array_equal(reader[100], seq[100])
    assert len(seeks) == 2


def test_cache_returns_same_frame_without_decoding(shared_data, monkeypatch):
    reader = VideoReader(shared_data / "video" / "single_face.mp4")
    first = reader[5]
    monkeypatch.setattr(video_reader._Cursor, "read", lambda self, i: pytest.fail("decoded"))
    assert reader[5] is first
    assert not first.flags.writeable
    assert np.array_equal(reader[-72], reader[0])
    with pytest.raises(IndexError):
        reader[72]


def test_iter_frames_range(shared_data):
    path = shared_data / "video" / "single_face.mp4"
    seq = _sequential(path)
    reader = VideoReader(path)
    got = list(reader.iter_frames(30, 35))
    assert [i for i, _ in got] == [30, 31, 32, 33, 34]
    assert all(np.array_equal(f, seq[i]) for i, f in got)
    assert list(reader.iter_frames(70, 1000))[-1][0] == 71


def _expect_error(path: Path, reason: str) -> None:
    with pytest.raises(VideoError) as info:
        VideoReader(path)
    assert str(path) in str(info.value) and reason in str(info.value)
    assert info.value.path == path


def test_bad_files_raise_video_error(tmp_path, shared_data):
    _expect_error(tmp_path / "missing.mp4", "no such file")
    (tmp_path / "empty.mp4").write_bytes(b"")
    _expect_error(tmp_path / "empty.mp4", "empty file")
    (tmp_path / "text.mp4").write_text("not a video at all\n")
    _expect_error(tmp_path / "text.mp4", "not a readable video")
    _expect_error(tmp_path, "not a file")
    data = (shared_data / "video" / "WolfgangLanger_Pexels.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:1_000_000])  # index first: data cut short
    _expect_error(tmp_path / "cut.mp4", "truncated")
    data = (shared_data / "video" / "no_face.mp4").read_bytes()
    (tmp_path / "cut2.mp4").write_bytes(data[:100_000])  # index at the end: gone
    _expect_error(tmp_path / "cut2.mp4", "not a readable video")
    with pytest.raises(VideoError, match="empty file"):
        probe(tmp_path / "empty.mp4")


def test_truncated_own_file(tmp_path):
    path = _write(tmp_path / "own.mp4", 40, options={"movflags": "faststart"})
    data = path.read_bytes()
    (tmp_path / "own_cut.mp4").write_bytes(data[: len(data) * 2 // 3])
    _expect_error(tmp_path / "own_cut.mp4", "truncated")


def test_reindex_when_decoding_disagrees(shared_data, monkeypatch, caplog):
    """A packet index that lists a frame the decoder never produces is replaced by decoding."""
    path = shared_data / "video" / "single_face.mp4"
    real_scan = video_reader.scan_packets

    def scan_with_phantom(p):
        index = real_scan(p)
        return video_index.FrameIndex.build(index.pts + [index.pts[10] + 1],
                                           list(zip(index.key_pts, index.key_seek)), True)

    monkeypatch.setattr(video_reader, "scan_packets", scan_with_phantom)
    reader = VideoReader(path)
    assert len(reader) == 73
    seq = _sequential(path)
    assert np.array_equal(reader[40], seq[40])
    assert len(reader) == 72
    assert "re-indexing" in caplog.text


def test_copy_is_independent_of_name(tmp_path, shared_data):
    path = tmp_path / "renamed.MOV"
    shutil.copy(shared_data / "video" / "single_face.mp4", path)
    assert len(VideoReader(path)) == 72


def test_raw_h264_without_timestamps(tmp_path):
    """A raw Annex-B stream has no pts at all: indexed by decoding, still frame-exact."""
    path = _write(tmp_path / "raw.h264", 30, options={"x264-params": _BFRAMES})
    with av.open(str(path)) as c:
        assert all(p.pts is None for p in c.demux(video=0))
    reader = _assert_exact(path)
    assert len(reader) == 30 and reader.fps == 30
    assert reader.timestamps[3] == Fraction(3, 30)
