"""Folder inference with decode worker processes, and the resumable manifest of --out."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))   # infer_samples (importlib mode)
from infer_samples import max_output_difference, tiny_checkpoint, video_folder  # noqa: E402

from meldae.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    video_folder(folder, clips=3)
    return folder


def _infer(videos, ckpt, out, *extra):
    return main(["infer", str(videos), "--checkpoint", str(ckpt), "--out", str(out),
                 "--device", "cpu", "--no-progress", *map(str, extra)])


def test_workers_give_the_outputs_of_the_in_process_engine(videos, ckpt, tmp_path, capsys):
    folder = tmp_path / "videos"
    shutil.copytree(videos, folder)
    (folder / "broken.mp4").write_text("not a video\n")
    assert _infer(folder, ckpt, tmp_path / "thread") == 1
    assert _infer(folder, ckpt, tmp_path / "two", "--workers", "2") == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("broken.mp4") >= 2 and "3 of 4 videos scored" in err
    for video in sorted(videos.glob("*.mp4")):
        assert max_output_difference(tmp_path / "thread", tmp_path / "two", video.stem) <= 1e-6
    assert not (tmp_path / "two" / "broken.npz").exists()


def test_worker_pipeline_reports_a_bad_video_and_scores_the_rest(videos, ckpt, tmp_path):
    from meldae.infer import load_model
    from meldae.infer.workers import iter_folder_scores

    bad = tmp_path / "cut.mp4"
    data = next(videos.glob("*.mp4")).read_bytes()
    bad.write_bytes(data[: len(data) // 3])
    model, _ = load_model(ckpt, "cpu")
    inputs = [*sorted(videos.glob("*.mp4")), bad]
    results = list(iter_folder_scores(inputs, model, "cpu", workers=2, chunk_frames=8))
    assert sorted(r.video for r in results) == sorted(inputs)      # one result per video
    by_video = {r.video: r for r in results}
    assert by_video[bad].scores is None and by_video[bad].error
    for video in inputs[:-1]:
        assert by_video[video].error is None
        assert by_video[video].scores.n_frames == 40


def test_rerun_skips_done_videos_and_redo_or_new_settings_score_again(videos, ckpt, tmp_path,
                                                                      capsys):
    out = tmp_path / "out"
    assert _infer(videos, ckpt, out) == 0
    names = sorted(v.stem for v in videos.glob("*.mp4"))
    records = {n: (out / ".meldae-manifest" / f"{n}.json").read_text() for n in names}
    assert all(json.loads(r)["model_sha256"] for r in records.values())
    stamps = {n: (out / f"{n}.npz").stat().st_mtime_ns for n in names}
    capsys.readouterr()

    assert _infer(videos, ckpt, out) == 0                          # all done: nothing scored
    err = capsys.readouterr().err
    assert "0 of 3 videos scored (3 skipped: already done)" in err
    assert {n: (out / f"{n}.npz").stat().st_mtime_ns for n in names} == stamps
    summary = json.loads((out / "infer-summary.json").read_text())
    assert summary["counts"] == {"scored": 0, "skipped": 3, "failed": 0}

    (out / f"{names[0]}.eaf").unlink()                             # an output went missing
    assert _infer(videos, ckpt, out) == 0
    assert "1 of 3 videos scored (2 skipped" in capsys.readouterr().err
    assert (out / f"{names[0]}.eaf").is_file()

    assert _infer(videos, ckpt, out, "--threshold", "0.9") == 0   # other settings
    assert "3 of 3 videos scored" in capsys.readouterr().err
    assert _infer(videos, ckpt, out, "--threshold", "0.9", "--redo") == 0
    assert "3 of 3 videos scored" in capsys.readouterr().err

    other = tmp_path / "other"                                     # another model (its JSON)
    shutil.copy(ckpt, other.with_suffix(".safetensors"))
    info = json.loads(ckpt.with_suffix(".json").read_text())
    info["meta"]["postprocessing"]["threshold"] = 0.3
    other.with_suffix(".json").write_text(json.dumps(info))
    assert _infer(videos, other.with_suffix(".safetensors"), out, "--threshold", "0.9") == 0
    assert "3 of 3 videos scored" in capsys.readouterr().err


def test_plan_shards_gives_every_video_to_exactly_one_rank(tmp_path):
    from meldae.infer.shard import plan_shards

    videos = [tmp_path / f"v{i}.mp4" for i in range(7)]
    sizes = {v: s for v, s in zip(videos, (50, 10, 40, 10, 30, 20, 10))}
    shards = plan_shards(videos, 3, sizes)
    assert sorted(v for s in shards for v in s) == sorted(videos)
    assert [sum(sizes[v] for v in s) for s in shards] == [60, 60, 50]   # largest first, balanced
    assert plan_shards(videos, 3, sizes) == shards                      # deterministic
    assert plan_shards(videos, 1, sizes) == [videos]
    assert plan_shards([], 2) == [[], []]


def test_bad_workers_and_engine_flags_are_one_line_errors(videos, ckpt, tmp_path, capsys):
    assert _infer(videos, ckpt, tmp_path / "o", "--workers", "-1") == 2
    assert _infer(videos, ckpt, tmp_path / "o", "--engine", "onnx") == 2
    err = capsys.readouterr().err
    assert "--workers must be 0 or more" in err and "meldae export-onnx" in err
    assert "Traceback" not in err


def test_a_dead_worker_fails_its_videos_with_a_message_and_nothing_hangs(videos, ckpt):
    import multiprocessing as mp
    import os
    import signal

    from meldae.infer import load_model
    from meldae.infer.workers import iter_folder_scores

    model, _ = load_model(ckpt, "cpu")
    inputs = sorted(videos.glob("*.mp4"))
    results = []
    for result in iter_folder_scores(inputs, model, "cpu", workers=1):
        results.append(result)
        if len(results) == 1:   # the first video is done: the worker dies on the next one
            for proc in mp.active_children():
                if proc.name.startswith("meldae-decode-"):
                    os.kill(proc.pid, signal.SIGKILL)
    assert sorted(r.video for r in results) == inputs               # one result per video
    assert results[0].scores is not None and results[0].scores.n_frames == 40
    for result in results[1:]:
        assert result.scores is None and "worker" in result.error
    assert not [p for p in mp.active_children() if p.name.startswith("meldae-decode-")]
