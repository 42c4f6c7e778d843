"""``meldae export-onnx`` and ``meldae infer --engine onnx``: onnxruntime equals torch."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

# Exporting even the tiny model takes 30-60 s on a 2-core CPU.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

sys.path.insert(0, str(Path(__file__).resolve().parent))   # infer_samples (importlib mode)
from infer_samples import tiny_checkpoint, video_folder  # noqa: E402

from meldae.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    ckpt = tiny_checkpoint(folder)
    from meldae.infer.onnx_export import export_onnx

    return ckpt, export_onnx(ckpt, folder / "tiny.onnx")


def _models(ckpt, onnx_path):
    from meldae.infer import load_model

    model, _ = load_model(ckpt, "cpu")
    onnx_model, info = load_model(onnx_path, "cpu", engine="onnx")
    return model, onnx_model, info


@pytest.mark.parametrize("batch", [1, 5])
def test_onnxruntime_equals_torch_on_random_windows(exported, batch):
    from meldae.infer.onnx_check import onnx_window_outputs, torch_window_outputs

    model, onnx_model, _ = _models(*exported)
    cfg = model.cfg
    windows = np.random.default_rng(batch).integers(
        0, 256, (batch, cfg.num_frames, cfg.img_size, cfg.img_size, 3), dtype=np.uint8)
    ours, theirs = torch_window_outputs(model, windows), onnx_window_outputs(onnx_model, windows)
    shapes = [(batch, 16), (batch, 16), (batch, 16, 4, 4), (batch,)]  # loc, state, att, me
    for a, b, shape in zip(ours, theirs, shapes):
        assert a.shape == b.shape == shape                     # the batch is dynamic
        assert np.abs(a - b).max() <= 1e-4


def test_metadata_carries_the_checkpoint_and_its_postprocessing(exported):
    import onnxruntime as ort

    ckpt, onnx_path = exported
    meta = ort.InferenceSession(str(onnx_path)).get_modelmeta().custom_metadata_map
    assert json.loads(meta["meldae.postprocessing"])["threshold"] == 0.25
    info = json.loads(meta["meldae.checkpoint"])
    assert info == json.loads(ckpt.with_suffix(".json").read_text())


def test_onnxruntime_equals_torch_on_a_real_clip(exported, shared_data):
    from meldae.faces import FaceSettings, iter_face_crops
    from meldae.infer.onnx_check import onnx_window_outputs, torch_window_outputs

    model, onnx_model, _ = _models(*exported)
    t, s = model.cfg.num_frames, model.cfg.img_size
    crops = []
    for frame in iter_face_crops(shared_data / "video" / "single_face.mp4",
                                 FaceSettings(crop_size=s, detector="haar", align="off")):
        crops.append(frame.crop)
        if len(crops) == 3 * t:
            break
    windows = np.stack(crops).reshape(3, t, s, s, 3)
    ours, theirs = torch_window_outputs(model, windows), onnx_window_outputs(onnx_model, windows)
    assert max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs)) <= 1e-4


def test_infer_engine_onnx_matches_the_torch_engine(exported, tmp_path, capsys):
    ckpt, onnx_path = exported
    video_folder(tmp_path / "videos", clips=1)
    base = ["infer", str(tmp_path / "videos"), "--device", "cpu", "--no-progress"]
    assert main([*base, "--checkpoint", str(ckpt), "--out", str(tmp_path / "torch")]) == 0
    assert main([*base, "--checkpoint", str(onnx_path), "--engine", "onnx",
                 "--out", str(tmp_path / "onnx")]) == 0
    assert "threshold 0.25" in capsys.readouterr().out        # the checkpoint's, from metadata
    (name,) = [p.stem for p in (tmp_path / "torch").glob("*.npz")]
    with np.load(tmp_path / "torch" / f"{name}.npz") as a, \
            np.load(tmp_path / "onnx" / f"{name}.npz") as b:
        for key in ("loc_scores", "state_scores"):
            assert np.abs(a[key] - b[key]).max() <= 1e-4
        assert np.array_equal(a["face_found"], b["face_found"])


def test_export_and_engine_errors_are_one_line(exported, tmp_path, capsys):
    ckpt, _ = exported
    not_onnx = tmp_path / "model.onnx"
    not_onnx.write_text("hello")
    video_folder(tmp_path / "videos", clips=1, frames=20)
    assert main(["export-onnx", str(tmp_path / "missing.safetensors"),
                 str(tmp_path / "x.onnx")]) == 2
    assert main(["export-onnx", str(ckpt), str(tmp_path / "x.pt")]) == 2
    assert main(["infer", str(tmp_path / "videos"), "--checkpoint", str(not_onnx),
                 "--device", "cpu", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "missing" in err and "must end in .onnx" in err
    assert "not a readable ONNX model" in err
    assert not (tmp_path / "x.onnx").exists()
