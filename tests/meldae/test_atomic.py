"""meldae.atomic: the one atomic writer (temp file beside the target, fsync, os.replace)."""

from __future__ import annotations

import json
import stat

import numpy as np
import pytest

from meldae import atomic


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_text_bytes_json_and_npz_round_trip(tmp_path):
    atomic.atomic_write_text(tmp_path / "a.txt", "héllo\n")
    atomic.atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
    atomic.atomic_write_json(tmp_path / "sub" / "c.json", {"x": [1, 2]})
    atomic.atomic_savez(tmp_path / "d.npz", loc=np.arange(3, dtype=np.float32))
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert json.loads((tmp_path / "sub" / "c.json").read_text()) == {"x": [1, 2]}
    with np.load(tmp_path / "d.npz") as data:
        assert data["loc"].tolist() == [0.0, 1.0, 2.0]
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == atomic.FILE_MODE
    assert _leftovers(tmp_path) == []


def test_a_failed_replace_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    atomic.atomic_write_text(path, "old")

    def broken(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", broken)
    with pytest.raises(OSError, match="No space"):
        atomic.atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_a_failing_writer_leaves_nothing(tmp_path):
    def writer(tmp):
        tmp.write_text("half")
        raise RuntimeError("encoder died")

    with pytest.raises(RuntimeError):
        atomic.atomic_write(tmp_path / "clip.mp4", writer, suffix=".mp4")
    assert list(tmp_path.iterdir()) == []


def test_the_temporary_file_carries_the_suffix_asked_for(tmp_path):
    seen = []
    atomic.atomic_write(tmp_path / "plot.png", lambda tmp: (seen.append(tmp), tmp.write_bytes(b"x")),
                        suffix=".png")
    assert seen[0].suffix == ".png" and seen[0].parent == tmp_path
    assert (tmp_path / "plot.png").read_bytes() == b"x"


def test_a_writer_that_replaces_the_file_still_gets_the_usual_permissions(tmp_path):
    """safetensors' ``save_file`` writes a private file of its own at the given path."""
    import torch
    from safetensors.torch import save_file

    path = atomic.atomic_write(tmp_path / "w.safetensors",
                               lambda tmp: save_file({"a": torch.zeros(2)}, str(tmp)))
    assert stat.S_IMODE(path.stat().st_mode) == atomic.FILE_MODE
