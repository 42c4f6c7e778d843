"""Evaluation never trips on ordinary folders (issue 12, item 6): a held-out folder whose
clips are all ``test``, a folder without splits, and one-line errors for the rest."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from meldae.data.clipfolder import write_splits_csv
from meldae.evaluate import EvaluationError, select_clips

sys.path.insert(0, str(Path(__file__).resolve().parent))   # train_fakes (importlib mode)
from train_fakes import S, one_thread, tiny_model_cfg  # noqa: E402


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Four synthetic clips of four subjects, no splits.csv."""
    from meldae.data import synthesize

    root = tmp_path_factory.mktemp("evalsplits") / "data"
    infos = synthesize(root, clips=4, seed=5, frames=24, size=128, mes_per_10s=12.0)
    (root / "splits.csv").unlink(missing_ok=True)
    return root, infos


def _all_test(root, infos):
    write_splits_csv(root / "splits.csv", [(c.name, c.subject, "test") for c in infos])


def test_folder_without_splits_uses_every_clip_and_says_so(folder):
    root, infos = folder
    selection = select_clips(root, "test")
    assert sorted(c.name for c in selection.clips) == sorted(c.name for c in infos)
    assert "no splits" in selection.note and f"all {len(infos)} annotated clips" in selection.note


def test_held_out_folder_all_test(folder, tmp_path):
    root, infos = folder
    held = tmp_path / "held"
    held.mkdir()
    for c in infos:
        for path in (c.video_path, c.eaf_path):
            (held / Path(path).name).write_bytes(Path(path).read_bytes())
    _all_test(held, infos)
    selection = select_clips(held, "test")
    assert len(selection.clips) == len(infos) and "splits.csv" in selection.note
    with pytest.raises(EvaluationError) as err:
        select_clips(held, "val")
    message = str(err.value)
    assert str(held) in message and "--split all" in message and "\n" not in message


def test_errors_name_the_folder_and_the_way_out(tmp_path):
    with pytest.raises(EvaluationError, match="folder not found"):
        select_clips(tmp_path / "missing", "test")
    with pytest.raises(EvaluationError, match="no clips"):
        select_clips(tmp_path, "test")
    (tmp_path / "a.mp4").write_bytes(b"")
    with pytest.raises(EvaluationError, match="has an .eaf annotation") as err:
        select_clips(tmp_path, "test")
    assert str(tmp_path) in str(err.value)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    import torch

    from meldae.checkpoint import save_checkpoint
    from meldae.model import MELDAE

    torch.manual_seed(0)
    return save_checkpoint(tmp_path_factory.mktemp("ck") / "model", MELDAE(tiny_model_cfg()))


@pytest.mark.parametrize("layout", ["no_splits", "all_test"])
def test_evaluate_and_baseline_commands_work(folder, checkpoint, layout, tmp_path, capsys,
                                             monkeypatch):
    from meldae.cli import main

    root, infos = folder
    monkeypatch.setenv("MELDAE_CACHE_DIR", str(tmp_path.parent / "evalsplits-cache"))
    if layout == "all_test":
        _all_test(root, infos)
    try:
        with one_thread():
            status = main(["evaluate", str(root), "--checkpoint", str(checkpoint),
                           "--json", str(tmp_path / "m.json"), "--protocol", "megc",
                           "--megc-csv", str(tmp_path / "m.csv")])
            assert status == 0
            status = main(["baseline", "frame-diff", str(root), "--crop-size", str(S),
                           "--json", str(tmp_path / "b.json")])
            assert status == 0
    finally:
        (root / "splits.csv").unlink(missing_ok=True)
    model_report = json.loads((tmp_path / "m.json").read_text())
    base_report = json.loads((tmp_path / "b.json").read_text())
    for report in (model_report, base_report):
        assert report["n_clips"] == len(infos)
        assert ("no splits" in report["clips_chosen"]) == (layout == "no_splits")
    assert "no validation clips" in base_report["postprocessing"]["source"]
    assert model_report["protocol"] == "megc" and base_report["protocol"] == "meldae"
    lines = (tmp_path / "m.csv").read_text().splitlines()
    predicted = sum(len(c["predicted"]) for c in model_report["clips"])
    assert lines[0] == "vid,pred_onset,pred_offset,type" and len(lines) == 1 + predicted
    assert "clips:" in capsys.readouterr().out


def test_empty_split_is_one_line_on_the_command_line(folder, checkpoint, tmp_path, capsys):
    from meldae.cli import main

    root, infos = folder
    _all_test(root, infos)
    try:
        status = main(["evaluate", str(root), "--checkpoint", str(checkpoint), "--split", "train"])
    finally:
        (root / "splits.csv").unlink(missing_ok=True)
    err = capsys.readouterr().err.strip()
    assert status == 2 and err.startswith("meldae: error:") and "\n" not in err
    assert str(root) in err and "Traceback" not in err


def test_infer_writes_one_megc_csv_for_all_videos(folder, checkpoint, tmp_path, monkeypatch):
    from meldae.cli import main
    from meldae.infer.predict import load_prediction

    root, infos = folder
    monkeypatch.setenv("MELDAE_CACHE_DIR", str(tmp_path.parent / "evalsplits-cache"))
    videos = [str(c.video_path) for c in infos[:2]]
    with one_thread():
        status = main(["infer", *videos, "--checkpoint", str(checkpoint), "--out",
                       str(tmp_path / "out"), "--no-progress", "--threshold", "0.0",
                       "--megc-csv", str(tmp_path / "sub.csv")])
    assert status == 0
    rows = (tmp_path / "sub.csv").read_text().splitlines()
    expected = []
    for c in infos[:2]:
        segments = load_prediction(tmp_path / "out" / f"{c.name}.npz").segments
        expected += [f"{c.name},{on + 1},{off + 1}" for on, off in segments.tolist()]
    assert rows[0] == "vid,pred_onset,pred_offset,type"
    assert [r.rsplit(",", 1)[0] for r in rows[1:]] == expected and expected
