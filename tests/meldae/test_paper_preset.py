"""The `paper` preset is the paper's model, and each Table 3 ablation changes exactly the
part it names (issue 12, item 1)."""

from __future__ import annotations

from dataclasses import fields

import pytest
import torch

from meldae.experiments import get_experiment
from meldae.model import MELDAE, preset
from meldae.train.config import resolve_configs

# The paper's model at a size that builds in milliseconds (shape fields only differ).
SMALL = dict(backbone="vit_tiny_patch16_224", backbone_kwargs=(("depth", 1),), img_size=32,
             pretrained=False, lstm_hidden=16, num_heads=2, region_grid=2, num_frames=4)

#: What each Table 3 row may change: (model fields, train fields).
EXPECTED = {
    "full": (set(), set()),
    "no_enhancer": ({"use_enhancer"}, set()),
    "resnet50": ({"backbone"}, set()),
    "no_lstm": ({"use_lstm"}, set()),
    "no_state_loss": (set(), {"use_state_loss"}),
    "loss_bce": (set(), {"loc_loss"}),
    "loss_iou": (set(), {"loc_loss"}),
    "loss_focal_tversky": (set(), {"loc_loss"}),
}


def _diff(a, b) -> set[str]:
    return {f.name for f in fields(a) if getattr(a, f.name) != getattr(b, f.name)}


def test_paper_preset_has_none_of_our_additions():
    cfg = preset("paper")
    assert cfg.pretrained and cfg.backbone == "vit_base_patch16_224"
    assert not cfg.motion_features and not cfg.frame_evidence and not cfg.region_flow
    # The CPU presets keep their additions (their behaviour is unchanged).
    for name in ("lite", "tiny"):
        assert preset(name).motion_features and preset(name).frame_evidence


def test_paper_training_recipe_is_the_papers():
    _, train = resolve_configs("paper")
    assert (train.epochs, train.batch_size, train.lr_new) == (20, 16, 5e-4)
    assert train.backbone_lr(pretrained=True) == 1e-5
    assert (train.w_me, train.w_state, train.w_loc, train.lam, train.state_alpha) == (0.5, 0.2, 1.0, 1.0, 0.25)


def test_paper_model_has_no_motion_or_evidence_parameters():
    model = MELDAE(preset("paper", **SMALL))
    names = [n for n, _ in model.named_parameters()]
    assert not [n for n in names if "motion" in n or "evidence" in n or n.startswith("flow")]
    # The fusion MLP reads [F_global ; ctx] only: 2D wide.
    assert model.fusion.mlp.net[1].in_features == 2 * model.cfg.dim
    lite_like = MELDAE(preset("paper", **SMALL, motion_features=True, frame_evidence=True))
    extra = {n for n, _ in lite_like.named_parameters()} - set(names)
    assert extra and all("motion" in n or "evidence" in n or "fusion.mlp" in n for n in extra)


def test_paper_model_runs_and_attention_still_sums_to_one():
    model = MELDAE(preset("paper", **SMALL)).eval()
    frames = torch.randn(2, 4, 3, 32, 32)
    with torch.no_grad():
        out = model(frames)
        fast = model(frames, need_attention=False)
    assert out.attention.shape == (2, 16, 4, 2, 2)
    torch.testing.assert_close(out.attention.sum(dim=(2, 3, 4)), torch.ones(2, 16))
    torch.testing.assert_close(out.loc_logits, fast.loc_logits)
    assert fast.attention is None


@pytest.mark.parametrize("row", list(EXPECTED))
def test_each_ablation_changes_exactly_what_it_names(row):
    variant = next(v for v in get_experiment("table3").variants if v.name == row)
    base_model, base_train = resolve_configs("paper")
    model, train = resolve_configs("paper", model_flags=dict(variant.model),
                                   train_flags=dict(variant.train))
    assert (_diff(model, base_model), _diff(train, base_train)) == EXPECTED[row]


@pytest.mark.parametrize("row,modules", [("no_lstm", {"temporal"}),
                                         ("no_enhancer", {"enhancer", "fusion"})])
def test_architecture_ablations_replace_only_their_module(row, modules):
    variant = next(v for v in get_experiment("table3").variants if v.name == row)
    full = MELDAE(preset("paper", **SMALL)).state_dict()
    ablated = MELDAE(preset("paper", **SMALL, **variant.model)).state_dict()
    changed = {k for k in set(full) ^ set(ablated)}
    changed |= {k for k in set(full) & set(ablated) if full[k].shape != ablated[k].shape}
    assert changed and {k.split(".")[0] for k in changed} == modules
