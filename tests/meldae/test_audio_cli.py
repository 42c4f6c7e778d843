"""``meldae infer --audio-vad`` and ``meldae train --speaking-from-audio``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from meldae.audio import VadSettings, turns_to_frames
from meldae.audio.synth import Placement, speech_test_video, write_test_video
from meldae.cli import main

SPEECH_WAV = Path(__file__).resolve().parents[1] / "data" / "speech_en.wav"
LAYOUT = (Placement("speech", 1.0), Placement("tone", 4.6, 0.8))


@pytest.fixture(scope="module")
def short_speech(tmp_path_factory):
    """6 s: speech from 1 s (about 3 s long), then a tone."""
    return speech_test_video(tmp_path_factory.mktemp("short"), SPEECH_WAV, 6.0, LAYOUT)


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    torch = pytest.importorskip("torch")
    from meldae.checkpoint import save_checkpoint
    from meldae.model import MELDAE, preset

    torch.manual_seed(0)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny", MELDAE(preset("tiny")))


def _tier(eaf: Path, name: str) -> list[tuple[int, int]]:
    root = ET.parse(eaf).getroot()
    slots = {s.get("TIME_SLOT_ID"): int(s.get("TIME_VALUE")) for s in root.iter("TIME_SLOT")}
    tier = next((t for t in root.iter("TIER") if t.get("TIER_ID") == name), None)
    if tier is None:
        return []
    return [(slots[a.get("TIME_SLOT_REF1")], slots[a.get("TIME_SLOT_REF2")])
            for a in tier.iter("ALIGNABLE_ANNOTATION")]


def test_infer_audio_vad_writes_the_tier_as_model_predictions(short_speech, tiny_ckpt, tmp_path,
                                                               capsys):
    video, truth = short_speech
    status = main(["infer", str(video), "--checkpoint", str(tiny_ckpt), "--out", str(tmp_path),
                   "--device", "cpu", "--no-progress", "--audio-vad"])
    assert status == 0
    assert "1 speaking turn(s) from the audio" in capsys.readouterr().out
    eaf = tmp_path / "speech.eaf"
    (start_ms, end_ms), = _tier(eaf, "Speaking (audio)")
    assert start_ms == pytest.approx(truth[0][0] * 1000, abs=120)
    assert end_ms == pytest.approx(truth[0][1] * 1000, abs=120)
    sidecar = json.loads((tmp_path / "speech.meldae.json").read_text())
    entries = [e for e in sidecar["annotations"].values() if e["tier"] == "Speaking (audio)"]
    assert len(entries) == 1 and entries[0]["source"] == "predicted"
    assert 0.5 < entries[0]["score"] <= 1.0
    # Again (--redo: the manifest of --out lists it as done): the tier is replaced, not
    # doubled; manual tiers stay.
    assert main(["infer", str(video), "--checkpoint", str(tiny_ckpt), "--out", str(tmp_path),
                 "--device", "cpu", "--no-progress", "--audio-vad", "--redo"]) == 0
    assert len(_tier(eaf, "Speaking (audio)")) == 1


def test_infer_audio_vad_on_a_video_without_sound_says_so(tiny_ckpt, tmp_path, capsys):
    video = write_test_video(tmp_path / "mute.mp4", None, 2.0)
    status = main(["infer", str(video), "--checkpoint", str(tiny_ckpt), "--out",
                   str(tmp_path / "out"), "--device", "cpu", "--no-progress", "--audio-vad"])
    assert status == 0
    assert "no audio track" in capsys.readouterr().out
    assert _tier(tmp_path / "out" / "mute.eaf", "Speaking (audio)") == []


def test_speaking_from_audio_fills_only_clips_without_speaking(short_speech, tmp_path):
    from meldae.audio.labels import apply_audio_speaking
    from meldae.data import ClipInfo
    from meldae.data.windows import ClipLabels
    from meldae.train.validate import EvalClip

    video, truth = short_speech
    mute = write_test_video(tmp_path / "mute.mp4", None, 2.0)
    n = 150
    zeros = np.zeros(n, np.float32)
    annotated = zeros.copy()
    annotated[10:20] = 1
    clip = lambda name, path: ClipInfo(name, path, None, name, None)
    train_set = SimpleNamespace(
        clips=[clip("a", video), clip("b", video), clip("mute", mute)],
        labels=[ClipLabels(zeros, zeros, zeros.copy()), ClipLabels(zeros, zeros, annotated),
                ClipLabels(zeros[:50], zeros[:50], zeros[:50].copy())])
    val = [EvalClip("v", np.zeros((n, 1, 1, 3), np.uint8), np.ones(n, bool), [],
                    np.zeros(n, bool), fps=Fraction(25))]
    report = apply_audio_speaking(train_set, val, {"v": video}, VadSettings())
    expected = np.zeros(n, bool)
    (a, b), = turns_to_frames(np.array(truth), Fraction(25), n)
    expected[a:b + 1] = True
    got = train_set.labels[0].speaking.astype(bool)
    assert got.dtype == bool and (got == expected).mean() > 0.95
    assert np.array_equal(train_set.labels[1].speaking, annotated)     # annotated: kept
    assert not train_set.labels[2].speaking.any()                      # no audio: as it was
    assert (val[0].speaking == expected).mean() > 0.95
    assert set(report["clips"]) == {"a", "v"} and report["clips"]["a"]["turns"] == 1
    assert report["kept_annotated"] == ["b"] and report["skipped"] == {"mute": "no audio track"}
    assert report["settings"]["gap_s"] == 0.5


def test_train_flag_passes_the_vad_settings_and_says_where_the_report_is(monkeypatch, tmp_path,
                                                                          capsys):
    seen = {}

    def fake_train_folder(data, out, model_cfg, train_cfg, **kwargs):
        seen.update(kwargs)
        return SimpleNamespace(stopped=False, epochs_done=1, best_checkpoint="b", best_epoch=1)

    monkeypatch.setattr("meldae.train.run.train_folder", fake_train_folder)
    status = main(["train", str(tmp_path), "--out", str(tmp_path / "run"), "--preset", "tiny",
                   "--speaking-from-audio", "--speaking-gap", "0.8"])
    assert status == 0
    assert seen["speaking_from_audio"] == VadSettings(gap_s=0.8)
    assert "speaking_from_audio.json" in capsys.readouterr().out
    main(["train", str(tmp_path), "--out", str(tmp_path / "run2"), "--preset", "tiny"])
    assert seen["speaking_from_audio"] is None


def test_train_run_writes_which_clips_got_audio_labels(short_speech, tmp_path):
    from meldae.data import ClipInfo
    from meldae.data.windows import ClipLabels
    from meldae.train.distributed import detect_env
    from meldae.train.run import FolderData, _speaking_from_audio

    video, _truth = short_speech
    zeros = np.zeros(150, np.float32)
    data = FolderData(splits=SimpleNamespace(val=[]),
                      train_set=SimpleNamespace(clips=[ClipInfo("a", video, None, "a", None)],
                                                labels=[ClipLabels(zeros, zeros, zeros)]),
                      val_clips=[])
    run = tmp_path / "run"
    assert _speaking_from_audio(data, run, None, detect_env()) == {}
    assert not run.exists()
    meta = _speaking_from_audio(data, run, VadSettings(gap_s=0.7), detect_env())
    written = json.loads((run / "speaking_from_audio.json").read_text())
    assert meta == {"speaking_from_audio": written}
    assert written["clips"]["a"]["turns"] == 1 and written["settings"]["gap_s"] == 0.7
    assert data.train_set.labels[0].speaking.sum() == written["clips"]["a"]["speaking_frames"] > 50
