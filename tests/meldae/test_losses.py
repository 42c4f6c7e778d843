"""Losses against hand-computed values (DESIGN §3)."""

from __future__ import annotations

import math

import pytest
import torch

from meldae.losses import (
    LOC_LOSSES,
    LossBreakdown,
    boundary_aware_loss,
    boundary_bce_loss,
    boundary_weights,
    focal_loss,
    focal_tversky_loss,
    localisation_loss,
    multitask_loss,
)
from meldae.model import MELDAEOutput

LN2 = math.log(2.0)


def t(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def test_focal_loss_matches_hand_values():
    # logit 0 -> p = 0.5, BCE = ln 2, (1 - p_t)^2 = 0.25; alpha_t = 0.25 (pos) / 0.75 (neg)
    pos = 0.25 * 0.25 * LN2
    neg = 0.75 * 0.25 * LN2
    assert focal_loss(t([0.0]), t([1.0])).item() == pytest.approx(pos, rel=1e-6)
    assert focal_loss(t([0.0, 0.0]), t([1.0, 0.0])).item() == pytest.approx((pos + neg) / 2, rel=1e-6)
    # logit ln 3 -> p = 0.75 for a positive: BCE = -ln 0.75, (1 - 0.75)^2 = 1/16
    confident = 0.25 * (1 / 16) * -math.log(0.75)
    assert focal_loss(t([math.log(3.0)]), t([1.0])).item() == pytest.approx(confident, rel=1e-5)


def test_focal_loss_other_alpha_gamma_and_2d_mean():
    # gamma 0, alpha 0.5 -> half of the BCE mean
    logits, target = t([[0.0, math.log(3.0)]]), t([[1.0, 0.0]])
    bce = (LN2 + -math.log(0.25)) / 2  # the negative frame has p = 0.75
    assert focal_loss(logits, target, alpha=0.5, gamma=0.0).item() == pytest.approx(0.5 * bce, rel=1e-5)


def test_focal_tversky_hand_values_and_batch_mean():
    zeros = torch.zeros(2, 4)
    target = t([[1, 1, 0, 0], [1, 1, 1, 0]])
    # clip 0: p = 0.5 -> TP = 1, FN = 1, FP = 1 -> TI = 2 / (1 + 0.7 + 0.3 + 1) = 2/3
    clip0 = (1 - 2 / 3) ** 0.75
    # clip 1: TP = 1.5, FN = 1.5, FP = 0.5 -> TI = 2.5 / (1.5 + 1.05 + 0.15 + 1)
    clip1 = (1 - 2.5 / 3.7) ** 0.75
    assert focal_tversky_loss(zeros[:1], target[:1]).item() == pytest.approx(clip0, rel=1e-5)
    assert focal_tversky_loss(zeros, target).item() == pytest.approx((clip0 + clip1) / 2, rel=1e-5)


def test_focal_tversky_alpha_weights_false_negatives():
    # all predictions off (p ~ 0) on a positive clip: only FN -> TI = 1 / (0.7 * 2 + 1)
    logits, target = t([[-30.0, -30.0]]), t([[1.0, 1.0]])
    assert focal_tversky_loss(logits, target).item() == pytest.approx((1 - 1 / 2.4) ** 0.75, rel=1e-5)
    # all on (p ~ 1) on a negative clip: only FP -> TI = 1 / (0.3 * 2 + 1)
    logits, target = t([[30.0, 30.0]]), t([[0.0, 0.0]])
    assert focal_tversky_loss(logits, target).item() == pytest.approx((1 - 1 / 1.6) ** 0.75, rel=1e-5)


def test_boundary_weights_runs_and_one_frame_runs():
    target = t([[0, 1, 1, 1, 0, 1, 0, 0], [1, 1, 0, 0, 0, 0, 1, 1]])
    expected = t([[1, 10, 1, 10, 1, 10, 1, 1], [10, 10, 1, 1, 1, 1, 10, 10]])
    assert torch.equal(boundary_weights(target), expected)
    # a one-frame run gets W once, not twice
    assert torch.equal(boundary_weights(t([[0, 1, 0]]), boundary_weight=5.0), t([[1, 5, 1]]))
    assert torch.equal(boundary_weights(torch.zeros(1, 3)), torch.ones(1, 3))


def test_boundary_bce_hand_value():
    logits = torch.zeros(2, 8)  # BCE = ln 2 on every frame
    target = t([[0, 1, 1, 1, 0, 1, 0, 0], [0] * 8])
    # clip 0 weights: five 1s and three 10s -> mean 35/8; clip 1 all 1
    expected = (35 / 8 * LN2 + LN2) / 2
    assert boundary_bce_loss(logits, target).item() == pytest.approx(expected, rel=1e-6)


def test_boundary_bce_uses_given_boundary_mask():
    logits, target = torch.zeros(1, 4), t([[1, 1, 1, 0]])  # a run cut by the window start
    derived = boundary_bce_loss(logits, target)  # frames 0 and 2 weighted: (10+1+10+1)/4
    assert derived.item() == pytest.approx(22 / 4 * LN2, rel=1e-6)
    given = boundary_bce_loss(logits, target, boundary_mask=t([[0, 0, 1, 0]]))  # true onset outside
    assert given.item() == pytest.approx(13 / 4 * LN2, rel=1e-6)


def test_bal_is_ftl_plus_lambda_boundary():
    torch.manual_seed(0)
    logits, target = torch.randn(3, 10), (torch.rand(3, 10) > 0.6).float()
    ftl = focal_tversky_loss(logits, target)
    bce = boundary_bce_loss(logits, target, boundary_weight=4.0)
    bal = boundary_aware_loss(logits, target, lam=2.0, boundary_weight=4.0)
    assert bal.item() == pytest.approx(ftl.item() + 2.0 * bce.item(), rel=1e-6)


def test_localisation_losses_hand_values_at_half_probability():
    logits, target = torch.zeros(1, 4), t([[1, 1, 0, 0]])  # p = 0.5 everywhere
    expected = {
        "bce": LN2,
        "iou": 1 - (1 + 1) / (3 + 1),  # inter 1, union 2 + 2 - 1 = 3, smooth 1
        "mae": 0.5,
        "mse": 0.25,
        "smooth_l1": 0.5 * 0.25,  # |d| = 0.5 < beta = 1 -> 0.5 d^2
        "focal_tversky": (1 - 2 / 3) ** 0.75,
        "bal": (1 - 2 / 3) ** 0.75 + (10 + 10 + 1 + 1) / 4 * LN2,
    }
    assert set(expected) == set(LOC_LOSSES)
    for name, value in expected.items():
        assert localisation_loss(name)(logits, target).item() == pytest.approx(value, rel=1e-5), name


def test_localisation_losses_prefer_the_right_answer():
    target = t([[0, 1, 1, 0, 0, 0]])
    good, bad = (target * 2 - 1) * 6, (1 - target * 2) * 6
    for name in LOC_LOSSES:
        fn = localisation_loss(name)
        assert fn(good, target).item() < fn(bad, target).item(), name


def test_unknown_localisation_loss():
    with pytest.raises(ValueError, match="dice"):
        localisation_loss("dice")


def test_losses_safe_in_bf16_with_saturated_logits():
    logits = t([[100.0, -100.0, 100.0, -100.0]]).bfloat16().requires_grad_()
    target = t([[1, 0, 1, 0]])  # perfect prediction: TI = 1 exactly
    for name in LOC_LOSSES:
        loss = localisation_loss(name)(logits, target)
        assert loss.dtype == torch.float32 and torch.isfinite(loss), name
        (grad,) = torch.autograd.grad(loss, logits)
        assert torch.isfinite(grad.float()).all(), name
    wrong = focal_loss(t([-100.0]).bfloat16(), t([1.0]))
    assert torch.isfinite(wrong) and wrong.item() == pytest.approx(0.25 * 100.0, rel=1e-3)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        focal_tversky_loss(torch.zeros(2, 4), torch.zeros(4, 2))


def _output(B=2, T=4) -> MELDAEOutput:
    torch.manual_seed(1)
    return MELDAEOutput(torch.randn(B, T), torch.randn(B, T), torch.randn(B), None)


def test_multitask_loss_weights_and_parts():
    out = _output()
    targets = {
        "me_label": t([1, 0]),
        "speaking": t([[1, 1, 0, 0], [0, 0, 0, 1]]),
        "me_mask": t([[0, 1, 1, 0], [0, 0, 0, 0]]),
    }
    parts = multitask_loss(out, targets)
    assert isinstance(parts, LossBreakdown)
    me = focal_loss(out.me_logit, targets["me_label"])
    state = focal_loss(out.state_logits, targets["speaking"])
    loc = boundary_aware_loss(out.loc_logits, targets["me_mask"])
    assert parts.me.item() == pytest.approx(me.item())
    assert parts.state.item() == pytest.approx(state.item())
    assert parts.loc.item() == pytest.approx(loc.item())
    assert parts.total.item() == pytest.approx(0.5 * me.item() + 0.2 * state.item() + loc.item(), rel=1e-6)
    no_state = multitask_loss(out, targets, weights=(1.0, 3.0, 2.0), loc_loss="mse", use_state_loss=False)
    mse = localisation_loss("mse")(out.loc_logits, targets["me_mask"])
    assert no_state.total.item() == pytest.approx(me.item() + 2.0 * mse.item(), rel=1e-6)
    assert no_state.state.item() == pytest.approx(state.item())


def test_multitask_loss_uses_boundary_mask_when_given():
    out = _output(1, 4)
    targets = {"me_label": t([1]), "speaking": torch.zeros(1, 4), "me_mask": t([[1, 1, 1, 0]])}
    derived = multitask_loss(out, targets).loc
    with_mask = multitask_loss(out, {**targets, "boundary_mask": t([[0, 0, 1, 0]])}).loc
    expected = boundary_aware_loss(out.loc_logits, targets["me_mask"], boundary_mask=t([[0, 0, 1, 0]]))
    assert with_mask.item() == pytest.approx(expected.item())
    assert with_mask.item() != pytest.approx(derived.item())
