"""The app scores and proposes exactly as ``meldae infer`` does (one engine, one propose)."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest

from meldae.annotations import Source


def test_app_scores_and_proposals_match_meldae_infer(qtbot, clip_video, tiny_checkpoint):
    pytest.importorskip("meldae.faces", reason="the face pipeline is needed to score")
    from app.review.inference_worker import ScoreController
    from app.review.proposals import ProposalController
    from app.timeline.timeline_widget import TimelineWidget
    from meldae.infer import load_model, predict_video

    controller = ScoreController(checkpoint=tiny_checkpoint, device="cpu")
    timeline = TimelineWidget()
    qtbot.addWidget(timeline)
    proposals = ProposalController(timeline)
    controller.completed.connect(proposals.set_complete_scores)
    try:
        with qtbot.waitSignal(controller.completed, timeout=120000) as done:
            controller.start(clip_video, 48, Fraction(30))
    finally:
        controller.shutdown()
    app_scores = done.args[0]
    model, info = load_model(tiny_checkpoint, "cpu")
    pred = predict_video(clip_video, model, "cpu", checkpoint_info=info)
    np.testing.assert_allclose(app_scores.loc, pred.loc_scores, atol=1e-5)
    np.testing.assert_allclose(app_scores.state, pred.state_scores, atol=1e-5)
    # the checkpoint's post-processing (its old top-level threshold) on both sides
    assert proposals.post == pred.post and pred.post.threshold == 0.5
    # a threshold that gives proposals with these random weights, on both sides
    post = replace(pred.post, threshold=float(np.median(pred.loc_scores[pred.face_found])),
                   merge_gap=1)
    proposals.set_post(post)
    expected = replace(pred, post=post).proposals
    assert len(expected.segments) >= 1
    got = proposals.current
    assert [(s.onset, s.apex, s.offset) for s in got.segments] == \
        [(s.onset, s.apex, s.offset) for s in expected.segments]
    assert [s.score for s in got.segments] == pytest.approx([s.score for s in expected.segments],
                                                            abs=1e-5)      # the mean, both
    assert got.speaking_spans().tolist() == expected.speaking_spans().tolist()
    assert all(s.source == Source.PREDICTED for s in proposals.current.segments)
    assert timeline.predicted_item.segments.tolist() == expected.spans().tolist()


def test_app_scores_with_the_validated_stride(qtbot, clip_video, tiny_checkpoint, tmp_path):
    pytest.importorskip("meldae.faces", reason="the face pipeline is needed to score")
    from app.review.inference_worker import ScoreController
    from meldae.checkpoint import save_checkpoint
    from meldae.infer import load_model, predict_video

    model, _ = load_model(tiny_checkpoint, "cpu")
    checkpoint = save_checkpoint(tmp_path / "strided", model,
                                 meta={"threshold": 0.5, "train": {"val_stride": 5}})
    controller = ScoreController(checkpoint=checkpoint, device="cpu")
    try:
        with qtbot.waitSignal(controller.completed, timeout=120000) as done:
            controller.start(clip_video, 48, Fraction(30))
    finally:
        controller.shutdown()
    _, info = load_model(checkpoint, "cpu")
    validated = predict_video(clip_video, model, "cpu", checkpoint_info=info)   # stride 5
    default = predict_video(clip_video, model, "cpu", stride=model.cfg.num_frames // 2)
    assert not np.allclose(validated.loc_scores, default.loc_scores, atol=1e-5)
    np.testing.assert_allclose(done.args[0].loc, validated.loc_scores, atol=1e-5)
