"""The MELDAE model: shapes, attention, gradients, ablations, backbones, weights, presets."""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import pytest
import torch

from meldae.checkpoint import CheckpointError
from meldae.model import PRESETS, MELDAE, MELDAEConfig, ModelWeightsError, config_from_dict, preset
from meldae.model.enhancer import NoEnhancer
from meldae.model.temporal import BiLSTMTemporal, LinearTemporal


@pytest.fixture(scope="module")
def tiny() -> MELDAE:
    torch.manual_seed(0)
    return MELDAE(preset("tiny")).eval()


def _frames(cfg: MELDAEConfig, B: int = 2, T: int | None = None, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(B, T or cfg.num_frames, 3, cfg.img_size, cfg.img_size, generator=gen)


def test_presets_fields():
    assert PRESETS == ("paper", "lite", "tiny")
    paper, lite, small = preset("paper"), preset("lite"), preset("tiny")
    assert (paper.backbone, paper.img_size, paper.region_grid, paper.num_frames) == ("vit_base_patch16_224", 224, 10, 32)
    assert (lite.backbone, lite.img_size, lite.region_grid, lite.num_frames) == ("vit_tiny_patch16_224", 160, 10, 32)
    assert (small.img_size, small.region_grid, small.num_frames, small.backbone_kwargs) == (64, 4, 32, (("depth", 2),))
    assert preset("tiny", num_queries=3).num_queries == 3
    assert preset("tiny", backbone="resnet50").backbone_kwargs == ()  # the ViT depth does not leak
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")
    with pytest.raises(ValueError, match="num_heads"):
        preset("tiny", num_heads=5)  # D = 64 is not divisible by 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        small.img_size = 32  # type: ignore[misc]


def test_config_json_round_trip():
    cfg = preset("tiny", use_lstm=False)
    again = config_from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and hash(again) == hash(cfg)
    with pytest.raises(ValueError, match="colour"):
        config_from_dict({**cfg.to_dict(), "colour": "red"})


def test_output_shapes_and_attention_sums_to_one(tiny):
    cfg = tiny.cfg
    with torch.no_grad():
        out = tiny(_frames(cfg))
    assert out.loc_logits.shape == (2, 32)
    assert out.state_logits.shape == (2, 32)
    assert out.me_logit.shape == (2,)
    assert out.attention.shape == (2, cfg.num_queries, 32, 4, 4)
    sums = out.attention.sum(dim=(2, 3, 4))  # (B, N)
    torch.testing.assert_close(sums, torch.ones_like(sums))
    assert (out.attention >= 0).all()


def test_fast_path_gives_same_logits_without_attention(tiny):
    frames = _frames(tiny.cfg, B=1)
    with torch.no_grad():
        explicit = tiny(frames)
        fast = tiny(frames, need_attention=False)
    assert fast.attention is None
    torch.testing.assert_close(fast.loc_logits, explicit.loc_logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast.me_logit, explicit.me_logit, atol=1e-5, rtol=1e-5)


def test_windows_shorter_and_longer_than_configured(tiny):
    with torch.no_grad():
        short = tiny(_frames(tiny.cfg, B=1, T=5))
        long = tiny(_frames(tiny.cfg, B=1, T=20))  # beyond the precomputed frame code
    assert short.loc_logits.shape == (1, 5) and short.attention.shape[2] == 5
    assert long.loc_logits.shape == (1, 20) and long.attention.shape[2] == 20
    torch.testing.assert_close(long.attention.sum(dim=(2, 3, 4)), torch.ones(1, 16))


def test_gradients_reach_queries_and_backbone():
    torch.manual_seed(0)
    model = MELDAE(preset("tiny", num_frames=4)).train()
    for need_attention in (True, False):
        model.zero_grad()
        out = model(_frames(model.cfg, B=1), need_attention=need_attention)
        (out.loc_logits.sum() + out.me_logit.sum() + out.state_logits.sum()).backward()
        grad = model.enhancer.queries.grad
        assert grad is not None and grad.abs().sum() > 0
        assert model.encoder.backbone.patch_embed.proj.weight.grad.abs().sum() > 0


def test_parameter_groups_partition_the_model(tiny):
    backbone = {id(p) for p in tiny.backbone_parameters()}
    new = {id(p) for p in tiny.new_parameters()}
    assert backbone and new and not backbone & new
    assert backbone | new == {id(p) for p in tiny.parameters()}
    assert id(tiny.enhancer.queries) in new


def test_ablation_without_enhancer():
    torch.manual_seed(0)
    model = MELDAE(preset("tiny", use_enhancer=False, num_frames=4)).eval()
    assert isinstance(model.enhancer, NoEnhancer)
    assert not any("queries" in k or "fusion.attn" in k for k in model.state_dict())
    with torch.no_grad():
        out = model(_frames(model.cfg))
    assert out.attention is None
    assert out.loc_logits.shape == (2, 4) and out.me_logit.shape == (2,)


def test_ablation_without_lstm():
    torch.manual_seed(0)
    model = MELDAE(preset("tiny", use_lstm=False, num_frames=4)).eval()
    assert isinstance(model.temporal, LinearTemporal)
    assert not any("lstm" in k for k in model.state_dict())
    with torch.no_grad():
        out = model(_frames(model.cfg))
    assert out.loc_logits.shape == (2, 4) and out.attention.shape == (2, 16, 4, 4, 4)
    assert isinstance(MELDAE(preset("tiny")).temporal, BiLSTMTemporal)


def test_bilstm_makes_frames_depend_on_later_frames(tiny):
    # frame 0's output must change when only the last frame changes (bidirectional context)
    frames = _frames(tiny.cfg, B=1)
    changed = frames.clone()
    changed[0, -1] += 1.0
    with torch.no_grad():
        a, b = tiny(frames, need_attention=False), tiny(changed, need_attention=False)
    assert (a.loc_logits[0, 0] - b.loc_logits[0, 0]).abs() > 0


def test_resnet50_backbone():
    torch.manual_seed(0)
    model = MELDAE(preset("tiny", backbone="resnet50", num_frames=2)).eval()
    assert model.encoder.embed_dim == 2048
    with torch.no_grad():
        out = model(_frames(model.cfg, B=1))
    assert out.loc_logits.shape == (1, 2)
    assert out.attention.shape == (1, 16, 2, 4, 4)
    torch.testing.assert_close(out.attention.sum(dim=(2, 3, 4)), torch.ones(1, 16))
    assert model.pixel_mean.flatten().tolist() == pytest.approx([0.485, 0.456, 0.406])


def test_prepare_normalises_resizes_and_accepts_numpy(tiny):
    crops = np.zeros((1, 2, 32, 48, 3), dtype=np.uint8)
    crops[0, 1] = 255
    frames = tiny.prepare(crops)  # ViT-Ti: mean = std = 0.5
    assert frames.shape == (1, 2, 3, 64, 64) and frames.dtype == torch.float32
    torch.testing.assert_close(frames[0, 0], torch.full((3, 64, 64), -1.0))
    torch.testing.assert_close(frames[0, 1], torch.full((3, 64, 64), 1.0))
    same_size = tiny.prepare(torch.full((1, 1, 64, 64, 3), 51, dtype=torch.uint8))
    torch.testing.assert_close(same_size, torch.full((1, 1, 3, 64, 64), (0.2 - 0.5) / 0.5))
    with pytest.raises(ValueError, match="crops"):
        tiny.prepare(torch.zeros(2, 64, 64, 3, dtype=torch.uint8))


def test_pretrained_offline_gives_clear_error_fast(monkeypatch, tmp_path):
    import huggingface_hub  # noqa: F401  (import time is not what is measured)
    import timm  # noqa: F401

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    start = time.monotonic()
    with pytest.raises(ModelWeightsError) as info:
        MELDAE(preset("tiny", pretrained=True))
    assert time.monotonic() - start < 15  # hub retries would take ~50 s
    message = str(info.value)
    assert isinstance(info.value, CheckpointError)
    assert message.startswith("vit_tiny_patch16_224:")
    assert "internet" in message and "weights_path" in message and "HF_HUB_OFFLINE" in message


def test_pretrained_with_unreachable_hub_fails_fast(monkeypatch, tmp_path):
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(socket, "create_connection", refuse)
    with pytest.raises(ModelWeightsError, match="no connection to huggingface.co.*weights_path"):
        MELDAE(preset("tiny", pretrained=True))


def test_pretrained_uses_the_hugging_face_cache_offline(monkeypatch, tmp_path):
    # the hub cache layout: models--ORG--NAME/refs/main -> snapshots/<commit>/model.safetensors
    import timm

    hub_id = timm.models.get_pretrained_cfg("vit_tiny_patch16_224").hf_hub_id
    repo = tmp_path / "hub" / ("models--" + hub_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    state = _save_backbone(repo / "snapshots" / "abc123" / "model.safetensors", "safetensors")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    model = MELDAE(preset("tiny", pretrained=True))
    torch.testing.assert_close(model.encoder.backbone.state_dict()["blocks.0.attn.qkv.weight"],
                               state["blocks.0.attn.qkv.weight"])


def _save_backbone(path, fmt: str) -> dict[str, torch.Tensor]:
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(123)
    backbone = timm.create_model("vit_tiny_patch16_224", num_classes=0, img_size=64, depth=2)
    state = {k: v.contiguous() for k, v in backbone.state_dict().items()}
    if fmt == "safetensors":
        save_file(state, str(path))
    else:
        torch.save({"state_dict": state}, path)
    return state


@pytest.mark.parametrize("fmt", ["safetensors", "pth"])
def test_local_weights_file_is_loaded(tmp_path, fmt):
    path = tmp_path / f"vit_tiny.{fmt}"
    state = _save_backbone(path, fmt)
    model = MELDAE(preset("tiny", weights_path=str(path), pretrained=True))
    loaded = model.encoder.backbone.state_dict()
    for key in ("pos_embed", "blocks.1.mlp.fc2.weight", "cls_token"):
        torch.testing.assert_close(loaded[key], state[key])


def test_bad_weights_files(tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(ModelWeightsError, match="nope.safetensors: backbone weights file not found"):
        MELDAE(preset("tiny", weights_path=str(missing)))
    odd = tmp_path / "weights.txt"
    odd.write_text("x")
    with pytest.raises(ModelWeightsError, match="unsupported weights format"):
        MELDAE(preset("tiny", weights_path=str(odd)))
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ModelWeightsError, match="garbage.safetensors: cannot load"):
        MELDAE(preset("tiny", weights_path=str(garbage)))
    with pytest.raises(ModelWeightsError, match="not a timm model"):
        MELDAE(preset("tiny", backbone="no_such_net"))


def test_bf16_autocast_on_cpu_keeps_attention_in_float32():
    torch.manual_seed(0)
    model = MELDAE(preset("tiny", num_frames=4)).eval()
    frames = _frames(model.cfg, B=1)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(frames)
    assert out.attention.dtype == torch.float32
    torch.testing.assert_close(out.attention.sum(dim=(2, 3, 4)), torch.ones(1, 16))
    assert torch.isfinite(out.loc_logits.float()).all()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bf16_autocast_on_cuda():
    torch.manual_seed(0)
    model = MELDAE(preset("tiny")).cuda().train()
    frames = _frames(model.cfg).cuda()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(frames, need_attention=False)
        loss = out.loc_logits.float().sum() + out.me_logit.float().sum()
    loss.backward()
    assert torch.isfinite(model.enhancer.queries.grad).all()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        att = model.eval()(frames).attention
    torch.testing.assert_close(att.sum(dim=(2, 3, 4)), torch.ones(2, 16, device="cuda"))
