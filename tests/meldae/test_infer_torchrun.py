"""``torchrun -m meldae infer FOLDER --out DIR`` on CPU: two gloo ranks, as on N GPUs.

The sharded run writes what a single process writes (to 1e-6), each video once; a run
whose rank is killed mid-way loses nothing, and its rerun scores exactly what was missing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))   # infer_samples (importlib mode)
from infer_samples import (  # noqa: E402
    ROOT,
    max_output_difference,
    meldae,
    tiny_checkpoint,
    video_folder,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _torchrun_cmd(videos: Path, ckpt: Path, out: Path, ranks: int = 2) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={ranks}", "-m", "meldae", "infer", str(videos), "--checkpoint",
            str(ckpt), "--out", str(out), "--device", "cpu", "--no-progress"]


def _scored_lines(stdout: str, video: Path) -> int:
    return sum(f"{video}: " in line and " frames, face in " in line
               for line in stdout.splitlines())


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


def test_two_ranks_write_what_one_process_writes(ckpt, tmp_path):
    videos = video_folder(tmp_path / "videos", clips=4)
    single = meldae("infer", tmp_path / "videos", "--checkpoint", ckpt, "--out",
                    tmp_path / "single", "--device", "cpu", "--no-progress")
    assert single.returncode == 0, single.stderr
    run = subprocess.run(_torchrun_cmd(tmp_path / "videos", ckpt, tmp_path / "sharded"),
                         cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    for video in videos:
        assert _scored_lines(run.stdout, video) == 1                 # scored exactly once
        assert max_output_difference(tmp_path / "single", tmp_path / "sharded",
                                     video.stem) <= 1e-6
    summary = json.loads((tmp_path / "sharded" / "infer-summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["counts"] == {"scored": 4, "skipped": 0, "failed": 0}
    assert sorted(v["video"] for v in summary["videos"]) == sorted(map(str, videos))
    assert {v["rank"] for v in summary["videos"]} == {0, 1}           # both ranks worked
    assert run.stderr.count("4 of 4 videos scored") == 1              # one summary, rank 0


def _wait_for_rank1_record(manifest: Path, proc: subprocess.Popen, limit_s: float = 300
                           ) -> dict:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and proc.poll() is None:
        for path in manifest.glob("*.json"):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if record["rank"] == 1:
                return record
        time.sleep(0.05)
    raise AssertionError("rank 1 never finished a video")


def test_a_killed_rank_loses_nothing_and_the_rerun_scores_only_the_rest(ckpt, tmp_path):
    videos = video_folder(tmp_path / "videos", clips=8)
    out = tmp_path / "out"
    proc = subprocess.Popen(_torchrun_cmd(tmp_path / "videos", ckpt, out), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        record = _wait_for_rank1_record(out / ".meldae-manifest", proc)
        os.kill(record["pid"], signal.SIGKILL)                        # rank 1 dies mid-run
        first_out, first_err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode != 0                                       # torchrun saw the death
    done = {p.stem: p.read_text() for p in (out / ".meldae-manifest").glob("*.json")}
    assert 0 < len(done) < len(videos), first_err[-2000:]
    for name in done:                                                 # recorded = complete
        with np.load(out / f"{name}.npz") as data:
            assert len(data["loc_scores"]) == 40
    assert not (out / "infer-summary.json").exists()

    rerun = subprocess.run(_torchrun_cmd(tmp_path / "videos", ckpt, out), cwd=ROOT,
                           capture_output=True, text=True, timeout=400)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    summary = json.loads((out / "infer-summary.json").read_text())
    status = {Path(v["video"]).stem: v["status"] for v in summary["videos"]}
    assert sorted(status) == sorted(v.stem for v in videos)          # nothing lost
    assert {n for n, s in status.items() if s == "skipped"} == set(done)
    assert {n for n, s in status.items() if s == "scored"} == {v.stem for v in videos} - set(done)
    for video in videos:                                              # nothing scored twice
        assert _scored_lines(rerun.stdout, video) == (0 if video.stem in done else 1)
    for name, text in done.items():                                   # first run's work kept
        assert (out / ".meldae-manifest" / f"{name}.json").read_text() == text
    assert len(list((out / ".meldae-manifest").glob("*.json"))) == len(videos)
