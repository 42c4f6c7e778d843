"""Checkpoints: safetensors + JSON round trip, fp16 storage, atomic writes, clear errors."""

from __future__ import annotations

import json

import pytest
import torch

from meldae.checkpoint import (
    CheckpointError,
    checkpoint_paths,
    load_checkpoint,
    load_weights,
    read_checkpoint_info,
    save_checkpoint,
)
from meldae.model import MELDAE, preset


@pytest.fixture(scope="module")
def model() -> MELDAE:
    torch.manual_seed(0)
    return MELDAE(preset("tiny", num_frames=4, use_lstm=False)).eval()


@pytest.fixture(scope="module")
def frames() -> torch.Tensor:
    return torch.randn(1, 4, 3, 64, 64, generator=torch.Generator().manual_seed(1))


def test_paths_accept_name_or_suffix(tmp_path):
    expected = (tmp_path / "run.v2.safetensors", tmp_path / "run.v2.json")
    assert checkpoint_paths(tmp_path / "run.v2") == expected
    assert checkpoint_paths(tmp_path / "run.v2.safetensors") == expected
    assert checkpoint_paths(str(tmp_path / "run.v2.json")) == expected


def test_round_trip_gives_identical_outputs(model, frames, tmp_path):
    st = save_checkpoint(tmp_path / "sub" / "best", model, meta={"val_f1": 0.25, "demo": True})
    assert st == tmp_path / "sub" / "best.safetensors"
    assert sorted(p.name for p in st.parent.iterdir()) == ["best.json", "best.safetensors"]  # no temp files
    doc = json.loads((tmp_path / "sub" / "best.json").read_text())
    assert doc["format"] == "meldae-checkpoint" and doc["version"] == 1
    assert doc["model"] == model.cfg.to_dict() | {"backbone_kwargs": [["depth", 2]]}
    assert doc["meta"] == {"val_f1": 0.25, "demo": True}

    loaded, info = load_checkpoint(st)
    assert not loaded.training and loaded.cfg == model.cfg
    assert info["meta"]["val_f1"] == 0.25
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0)
    with torch.no_grad():
        a, b = model(frames), loaded(frames)
    torch.testing.assert_close(a.loc_logits, b.loc_logits, rtol=0, atol=0)
    torch.testing.assert_close(a.attention, b.attention, rtol=0, atol=0)
    again, _ = load_checkpoint(tmp_path / "sub" / "best")  # without suffix
    assert again.cfg == model.cfg


def test_fp16_storage_halves_the_file_and_loads_as_fp32(model, frames, tmp_path):
    full = save_checkpoint(tmp_path / "full", model)
    half = save_checkpoint(tmp_path / "half.safetensors", model, dtype="float16")
    assert half.stat().st_size < 0.6 * full.stat().st_size
    assert read_checkpoint_info(half)["dtype"] == "float16"
    loaded, _ = load_checkpoint(half)
    assert loaded.enhancer.queries.dtype == torch.float32
    with torch.no_grad():
        a, b = model(frames), loaded(frames)
    torch.testing.assert_close(a.loc_logits, b.loc_logits, atol=2e-2, rtol=2e-2)
    with pytest.raises(CheckpointError, match="storage dtype"):
        save_checkpoint(tmp_path / "bad", model, dtype="int8")


def test_other_config_names_first_mismatched_key_and_shapes(model, tmp_path):
    st = save_checkpoint(tmp_path / "ck", model)
    other = MELDAE(preset("tiny", num_frames=4, use_lstm=False, region_grid=5))
    with pytest.raises(CheckpointError) as info:
        load_weights(other, st)
    message = str(info.value)
    assert message.startswith(str(st))
    # the first parameter whose shape depends on G: the region flow's input norm (G*G*9)
    assert "'temporal.input.flow.0.weight'" in message
    assert "checkpoint shape (144,) vs model shape (225,)" in message
    # the same through a JSON file that does not describe the weights
    json_path = tmp_path / "ck.json"
    doc = json.loads(json_path.read_text())
    doc["model"]["region_grid"] = 5
    json_path.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match=r"flow.0.weight'.*\(144,\) vs model shape \(225,\)"):
        load_checkpoint(st)


def test_missing_and_extra_keys(model, tmp_path):
    st = save_checkpoint(tmp_path / "ck", model)
    with_lstm = MELDAE(preset("tiny", num_frames=4))  # has temporal.lstm.*, lacks temporal.proj.*
    with pytest.raises(CheckpointError, match="missing in checkpoint"):
        load_weights(with_lstm, st)


def test_missing_files_and_wrong_format(model, tmp_path):
    with pytest.raises(CheckpointError, match=r"nothing\.json: checkpoint config not found"):
        load_checkpoint(tmp_path / "nothing")
    st = save_checkpoint(tmp_path / "ck", model)
    st.unlink()
    with pytest.raises(CheckpointError, match=r"ck\.safetensors: checkpoint weights not found"):
        load_checkpoint(tmp_path / "ck")
    (tmp_path / "other.json").write_text(json.dumps({"format": "something-else"}))
    (tmp_path / "other.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"other\.json: not a MELDAE checkpoint"):
        load_checkpoint(tmp_path / "other.safetensors")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"broken\.json: not readable as JSON"):
        read_checkpoint_info(tmp_path / "broken")
    save_checkpoint(tmp_path / "garbage", model)
    (tmp_path / "garbage.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match=r"garbage\.safetensors: not a readable safetensors file"):
        load_checkpoint(tmp_path / "garbage")
    newer = json.loads((tmp_path / "garbage.json").read_text()) | {"version": 99}
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    with pytest.raises(CheckpointError, match="version 99"):
        read_checkpoint_info(tmp_path / "newer.json")


def test_unserialisable_meta_writes_nothing(model, tmp_path):
    with pytest.raises(CheckpointError, match="meta is not JSON-serialisable"):
        save_checkpoint(tmp_path / "ck", model, meta={"when": object()})
    assert list(tmp_path.iterdir()) == []


def test_saving_over_an_existing_checkpoint_replaces_it(model, tmp_path):
    save_checkpoint(tmp_path / "last", model, meta={"epoch": 1})
    save_checkpoint(tmp_path / "last", model, meta={"epoch": 2})
    assert read_checkpoint_info(tmp_path / "last")["meta"] == {"epoch": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.json", "last.safetensors"]


def test_loading_a_pretrained_config_never_downloads(model, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    save_checkpoint(tmp_path / "ck", model)
    doc = json.loads((tmp_path / "ck.json").read_text())
    doc["model"]["pretrained"] = True
    doc["model"]["weights_path"] = str(tmp_path / "gone.safetensors")
    (tmp_path / "ck.json").write_text(json.dumps(doc))
    loaded, _ = load_checkpoint(tmp_path / "ck")
    torch.testing.assert_close(loaded.enhancer.queries, model.enhancer.queries)
    assert loaded.cfg.pretrained is False and loaded.cfg.weights_path is None
