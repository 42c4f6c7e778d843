"""meldae.project: the project state file, 2,000-clip folders, batch export and
``meldae export-project``."""

from __future__ import annotations

import json
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from meldae.annotations import ClipAnnotations, Segment, Source, load_eaf, save_eaf
from meldae.cli import main as cli_main
from meldae.project import ClipReview, ClipState, Project
from meldae.project.export import batch_export

FPS = Fraction(25)


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # project_samples (importlib mode)
from project_samples import clip_folder as _folder, touch as _touch  # noqa: E402


def test_state_defaults_update_and_persist(tmp_path):
    folder = _folder(tmp_path, ["b", "a"])
    project = Project(folder)
    assert project.names == ["a", "b"]
    assert project.state("a") == ClipState()
    with pytest.raises(KeyError):
        project.state("zzz")
    with pytest.raises(TypeError):
        project.update("a", colour="red")
    project.update("a", review="in_progress", last_frame=123, scores_path="/x/a.npz", segments=4)
    assert project.state("a").review is ClipReview.IN_PROGRESS
    saved = json.loads((folder / ".meldae" / "project.json").read_text())
    assert saved["clips"] == {"a": {"review": "in_progress", "last_frame": 123,
                                    "scores_path": "/x/a.npz", "segments": 4}}
    again = Project(folder)
    assert again.state("a") == ClipState(ClipReview.IN_PROGRESS, 123, "/x/a.npz", None, 4)
    assert not again.warnings


def test_corrupt_project_file_is_kept_and_warned(tmp_path):
    folder = _folder(tmp_path, ["a"])
    (folder / ".meldae").mkdir()
    (folder / ".meldae" / "project.json").write_text('{"format": "meldae-project", "clips": {')
    project = Project(folder)
    assert project.state("a") == ClipState()
    assert len(project.warnings) == 1 and "unreadable" in project.warnings[0]
    backups = list((folder / ".meldae").glob("project.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_text().endswith("{")
    project.update("a", last_frame=7)
    assert Project(folder).state("a").last_frame == 7


def test_two_thousand_clips_open_quickly_without_opening_a_video(tmp_path):
    names = [f"clip{i:04d}" for i in range(2000)]
    folder = _folder(tmp_path, names)
    Project(folder).update("clip0042", review="done", segments=3)
    start = time.perf_counter()
    project = Project(folder)
    elapsed = time.perf_counter() - start
    assert len(project) == 2000 and elapsed < 1.0, f"{elapsed:.2f} s"
    assert project.state("clip0042") == ClipState(ClipReview.DONE, segments=3)


def test_batch_export_reports_bad_clip_and_exports_the_rest(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a", "b", "c", "d"):
        (folder / f"{name}.mp4").write_bytes(b"")
    ann = ClipAnnotations(segments=[Segment(10, 20), Segment(30, 33, source=Source.PREDICTED, score=0.7)],
                          speaking=[Segment(0, 50)])
    save_eaf(ann, folder / "a.eaf", FPS)
    (folder / "b.eaf").write_text("this is not XML")
    save_eaf(ClipAnnotations(segments=[Segment(1, 2)]), folder / "c.eaf", FPS)
    project = Project(folder)
    for name in ("a", "b", "c", "d"):
        project.update(name, fps="25/1")
    seen = []
    out = tmp_path / "out"
    report = batch_export(project, out, include_predicted=False,
                          progress=lambda done, total, name: seen.append((done, total, name)))
    assert [(r.name, r.status) for r in report.results] == [
        ("a", "ok"), ("b", "failed"), ("c", "ok"), ("d", "skipped")]
    assert "b.eaf" in report.failed[0].reason
    assert seen == [(1, 4, "a"), (2, 4, "b"), (3, 4, "c"), (4, 4, "d")]
    exported = load_eaf(out / "a.eaf", FPS)
    assert [(s.onset, s.offset) for s in exported.segments] == [(10, 20)]
    assert [(s.onset, s.offset) for s in exported.speaking] == [(0, 50)]
    assert not (out / "b.eaf").exists()
    with_pred = batch_export(project, tmp_path / "out2", include_predicted=True)
    assert len(load_eaf(tmp_path / "out2" / "a.eaf", FPS).segments) == 2
    assert "1 failed" in with_pred.summary()


def test_batch_export_stops_when_asked_between_clips(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.mp4").write_bytes(b"")
        save_eaf(ClipAnnotations(segments=[Segment(1, 2)]), folder / f"{name}.eaf", FPS)
    project = Project(folder)
    for name in ("a", "b", "c"):
        project.update(name, fps="25/1")
    done = []
    report = batch_export(project, tmp_path / "out", include_predicted=False,
                          progress=lambda d, total, name: done.append(name),
                          should_stop=lambda: len(done) >= 2)
    assert report.cancelled and [r.name for r in report.results] == ["a", "b"]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.eaf")) == ["a.eaf", "b.eaf"]
    assert "cancelled" in report.summary()


def test_export_project_command_writes_the_eafs(tmp_path, capsys):
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a", "b"):
        _touch(folder / f"{name}.mp4")
    save_eaf(ClipAnnotations([Segment(1, 5)], []), folder / "a.eaf", FPS)
    Project(folder).update("a", fps="25/1")     # known from an earlier opening: no decoding
    out = tmp_path / "out"
    assert cli_main(["export-project", str(folder), "--out", str(out)]) == 0
    assert [(s.onset, s.offset) for s in load_eaf(out / "a.eaf", FPS).segments] == [(1, 5)]
    assert not (out / "b.eaf").exists()
    printed = capsys.readouterr().out
    assert "a: ok" in printed and "b: skipped" in printed
    assert "Exported 1 clip(s), 0 failed, 1 without annotations" in printed


def test_export_project_command_fails_in_one_line_for_a_bad_folder(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert cli_main(["export-project", str(missing), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("meldae: error: ") and "nowhere" in err[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli_main(["export-project", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert "no videos" in capsys.readouterr().err
