"""Launching a training run from a front end (meldae.train.launch) and reading its typed
progress events back (meldae.train.events)."""

from __future__ import annotations

import io
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from meldae.data import discover_clips, read_splits_csv, write_splits_csv
from meldae.train.events import (
    CheckpointEvent, DoneEvent, EpochEvent, ErrorEvent, LineBuffer, StartEvent, StepEvent,
    event_from_json, parse_event_line,
)
from meldae.train.launch import TrainingSettings, prepare_clip_folder, train_arguments
from meldae.train.progress import ProgressReporter


@pytest.fixture
def own_clips(tmp_path) -> Path:
    """Two named clips (never decoded here) with EAFs and a splits.csv."""
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a", "b"):
        for suffix in (".mp4", ".eaf"):
            os.close(os.open(folder / f"{name}{suffix}", os.O_CREAT | os.O_WRONLY, 0o644))
    write_splits_csv(folder / "splits.csv", [("a", "s1", "train"), ("b", "s2", "val")])
    return folder


def test_line_buffer_joins_partial_lines_and_split_characters():
    buf = LineBuffer()
    assert buf.feed(b'{"event": "st') == []
    assert buf.feed(b'art"}\n{"event"') == ['{"event": "start"}']
    assert buf.feed(b': "done"}\r\n\xce') == ['{"event": "done"}']
    assert buf.feed(b'\xbb=1\nlast') == ["λ=1"]
    assert buf.flush() == ["last"]
    assert buf.flush() == []


def test_parse_event_accepts_only_event_objects():
    assert parse_event_line('{"event": "step", "loss": 0.5}\n') == StepEvent(loss=0.5)
    assert parse_event_line("INFO meldae.checkpoint: saved") is None
    assert parse_event_line('{"loss": 1.0}') is None
    assert parse_event_line('{"event": ') is None
    assert parse_event_line("[1, 2]") is None


def test_train_arguments_are_the_cli_flags():
    from meldae.cli import build_parser

    settings = TrainingSettings(preset="tiny", epochs=3, batch_size=4, lr_backbone=1e-5,
                                lr_new=5e-4, loc_loss="focal_tversky", lam=2.5, num_queries=8,
                                max_steps=7, device="cpu")
    args = train_arguments(Path("/data"), Path("/run"), settings)
    assert args == ["train", "/data", "--out", "/run", "--json-progress", "--device", "cpu",
                    "--preset", "tiny", "--epochs", "3", "--batch-size", "4", "--lr-new",
                    "0.0005", "--loc-loss", "focal_tversky", "--lam", "2.5", "--num-queries",
                    "8", "--lr-backbone", "1e-05", "--max-steps", "7"]
    parsed = build_parser().parse_args(args)
    assert (parsed.preset, parsed.epochs, parsed.batch_size) == ("tiny", 3, 4)
    assert (parsed.lr_new, parsed.lr_backbone, parsed.lam) == (5e-4, 1e-5, 2.5)
    assert (parsed.loc_loss, parsed.num_queries, parsed.max_steps) == ("focal_tversky", 8, 7)
    assert parsed.json_progress and not parsed.resume
    resumed = train_arguments(Path("/data"), Path("/run"), settings, resume=True)
    assert resumed == ["train", "/data", "--out", "/run", "--json-progress", "--device", "cpu",
                       "--resume", "--epochs", "3"]
    assert build_parser().parse_args(resumed).resume
    auto = train_arguments(Path("/d"), Path("/r"), replace(settings, lr_backbone=None,
                                                           max_steps=None))
    assert "--lr-backbone" not in auto and "--max-steps" not in auto


def test_prepare_clip_folder_links_a_subset_with_its_splits(own_clips, tmp_path):
    clips = discover_clips(own_clips)
    run = tmp_path / "run"
    assert prepare_clip_folder(clips, own_clips, run) == own_clips   # all: the folder itself
    assert not (run / "clips").exists()
    folder = prepare_clip_folder([clips[1]], own_clips, run)
    assert folder == run / "clips"
    linked = discover_clips(folder)
    assert [c.name for c in linked] == [clips[1].name]
    assert linked[0].eaf_path is not None
    assert linked[0].video_path.resolve() == clips[1].video_path.resolve()
    assert linked[0].eaf_path.read_bytes() == clips[1].eaf_path.read_bytes()
    source_rows = read_splits_csv(own_clips / "splits.csv")
    assert read_splits_csv(folder / "splits.csv") == {clips[1].name: source_rows[clips[1].name]}
    again = prepare_clip_folder([clips[0]], own_clips, run)          # replaces the old subset
    assert [c.name for c in discover_clips(again)] == [clips[0].name]
    with pytest.raises(ValueError, match="no clip"):
        prepare_clip_folder([], own_clips, run)



def test_events_are_typed_and_round_trip_through_json_lines():
    line = ('{"event": "epoch", "epoch": 2, "train_loss": 0.5, "val": {"f1_dr": 0.3}, '
            '"elapsed_s": 4.0, "eta_s": 1.0, "future_key": 7}')
    event = parse_event_line(line)
    assert isinstance(event, EpochEvent) and event.epoch == 2 and event.val["f1_dr"] == 0.3
    assert event.to_json() == json.loads(line)              # unknown keys survive
    assert event_from_json({"event": "nobody-knows"}) is None
    for typed in (StartEvent(run_dir="/r", device="cpu", epochs=1, steps_per_epoch=2),
                  StepEvent(epoch=1, step=1, global_step=1, loss=0.5),
                  CheckpointEvent(kind="best", path="/r/best.safetensors", epoch=1, f1_dr=0.2),
                  DoneEvent(best_checkpoint=None, stopped=True), ErrorEvent(message="no clips")):
        assert parse_event_line(json.dumps(typed.to_json())) == typed


def test_the_reporter_writes_the_typed_events(tmp_path):
    out = io.StringIO()
    reporter = ProgressReporter(tmp_path, json_progress=True, stream=out, tensorboard=False)
    reporter.emit(StepEvent(epoch=1, step=1, global_step=1, loss=0.25, elapsed_s=1.0))
    reporter.emit({"event": "done", "best_epoch": 1, "stopped": False})
    reporter.close()
    events = [parse_event_line(line) for line in out.getvalue().splitlines()]
    assert events == [StepEvent(epoch=1, step=1, global_step=1, loss=0.25, elapsed_s=1.0),
                      DoneEvent(best_epoch=1)]
