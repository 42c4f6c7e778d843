"""PostProcessing and propose: hand-computed proposals, the checkpoint meta round trip."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest

from meldae.annotations import ReviewState, Source
from meldae.postprocess import (
    NO_META_SOURCE, PostProcessing, Proposals, postprocessing_source,
)
from meldae.scores import ClipScores


def _scores(loc, state=None, faces=None):
    n = len(loc)
    return ClipScores.from_arrays(np.asarray(loc, np.float32),
                                  None if state is None else np.asarray(state, np.float32),
                                  None if faces is None else np.asarray(faces, bool),
                                  Fraction(25))


def _spans(segments):
    return [(s.onset, s.offset) for s in segments]


LOC = [0.1, 0.6, 0.9, 0.7, 0.2, 0.8, 0.1, 0.1, 0.55, 0.1]


def test_threshold_gives_runs_with_apex_at_the_peak_and_mean_score():
    got = PostProcessing(threshold=0.5).propose(_scores(LOC))
    assert _spans(got.segments) == [(1, 3), (5, 5), (8, 8)]
    first = got.segments[0]
    assert first.apex == 2                                     # argmax of 0.6, 0.9, 0.7
    assert first.score == pytest.approx((0.6 + 0.9 + 0.7) / 3)  # the mean, not the max 0.9
    assert [s.apex for s in got.segments] == [2, 5, 8]
    assert all(s.source == Source.PREDICTED and s.review == ReviewState.UNREVIEWED
               for s in got.segments)
    # a frame exactly at the threshold is in
    assert _spans(PostProcessing(threshold=0.55).propose(_scores(LOC)).segments) == [
        (1, 3), (5, 5), (8, 8)]
    assert _spans(PostProcessing(threshold=0.85).propose(_scores(LOC)).segments) == [(2, 2)]


def test_merge_gap_joins_and_the_gap_lowers_the_mean():
    # runs (1,3) and (5,5) are 1 frame apart; (5,5) and (8,8) 2 frames apart
    one = PostProcessing(threshold=0.5, merge_gap=1).propose(_scores(LOC))
    assert _spans(one.segments) == [(1, 5), (8, 8)]
    assert one.segments[0].score == pytest.approx((0.6 + 0.9 + 0.7 + 0.2 + 0.8) / 5)
    assert one.segments[0].apex == 2
    two = PostProcessing(threshold=0.5, merge_gap=2).propose(_scores(LOC))
    assert _spans(two.segments) == [(1, 8)]
    assert two.segments[0].score == pytest.approx(np.mean(LOC[1:9]))


def test_min_length_drops_short_segments_after_merging():
    assert _spans(PostProcessing(0.5, min_length=2).propose(_scores(LOC)).segments) == [(1, 3)]
    assert _spans(PostProcessing(0.5, min_length=4).propose(_scores(LOC)).segments) == []
    # merged first, then measured: (1,5) is 5 frames long
    assert _spans(PostProcessing(0.5, min_length=5, merge_gap=1)
                  .propose(_scores(LOC)).segments) == [(1, 5)]


def test_apex_ties_take_the_first_peak():
    got = PostProcessing(0.5).propose(_scores([0.0, 0.7, 0.9, 0.9, 0.0]))
    assert got.segments[0].apex == 2


def test_no_face_and_unscored_frames_are_never_proposed():
    loc = [0.9, 0.9, 0.9, 0.9, np.nan, 0.9]
    faces = [True, True, False, True, True, True]
    got = PostProcessing(0.5, merge_gap=3).propose(_scores(loc, faces=faces))
    # the face-less frame 2 splits (no merging across it); NaN frame 4 is not scored yet
    assert _spans(got.segments) == [(0, 1), (3, 3), (5, 5)]
    assert all(np.isfinite(s.score) for s in got.segments)


def test_speaking_runs_use_the_state_threshold_and_faces():
    state = [0.2, 0.7, 0.8, 0.4, 0.9, 0.9]
    faces = [True, True, True, True, True, False]
    scores = _scores([0.0] * 6, state, faces)
    got = PostProcessing(state_threshold=0.5).propose(scores)
    assert got.segments == ()
    assert _spans(got.speaking) == [(1, 2), (4, 4)]            # frame 5 has no face
    assert got.speaking[0].score == pytest.approx(0.75)
    assert all(s.source == Source.PREDICTED for s in got.speaking)
    assert _spans(PostProcessing(state_threshold=0.3).propose(scores).speaking) == [(1, 4)]
    # a scorer without a state head proposes no speaking
    assert PostProcessing().propose(_scores([0.9, 0.9])).speaking == ()


def test_proposals_spans_and_annotations():
    got = PostProcessing(0.5).propose(_scores(LOC, state=[0.9] * 10))
    assert got.spans().tolist() == [[1, 3], [5, 5], [8, 8]] and got.spans().dtype == np.int64
    assert got.speaking_spans().tolist() == [[0, 9]]
    doc = got.to_annotations()
    assert _spans(doc.segments) == _spans(got.segments) and _spans(doc.speaking) == [(0, 9)]
    assert Proposals().spans().shape == (0, 2) and got.post == PostProcessing(0.5)


def test_meta_round_trip_and_json():
    post = PostProcessing(threshold=0.35, min_length=3, merge_gap=2, state_threshold=0.2)
    meta = {"postprocessing": post.to_meta("chosen on the validation split (3 clips)")}
    back = json.loads(json.dumps(meta))
    assert PostProcessing.from_meta(back) == post
    assert postprocessing_source(back) == "chosen on the validation split (3 clips)"
    assert post.to_meta() == {"threshold": 0.35, "min_length": 3, "merge_gap": 2,
                              "state_threshold": 0.2}
    assert type(PostProcessing.from_meta(back).min_length) is int


def test_from_meta_defaults_and_old_checkpoints():
    assert PostProcessing.from_meta(None) == PostProcessing()
    assert PostProcessing.from_meta({}) == PostProcessing(0.5, 1, 0, 0.5)
    assert postprocessing_source({}) == NO_META_SOURCE
    # written before the state threshold: it defaults to 0.5
    old = {"postprocessing": {"threshold": 0.4, "min_length": 3, "merge_gap": 2,
                              "source": "chosen on the validation split"}, "threshold": 0.4}
    assert PostProcessing.from_meta(old) == PostProcessing(0.4, 3, 2, 0.5)
    # only the top-level threshold (the oldest meta): read, the rest defaults
    assert PostProcessing.from_meta({"threshold": 0.3}) == PostProcessing(threshold=0.3)
    assert postprocessing_source({"threshold": 0.3}) == "checkpoint meta"
    # the sub-dict wins over the top level
    both = {"threshold": 0.3, "postprocessing": {"threshold": 0.6}}
    assert PostProcessing.from_meta(both).threshold == 0.6


def test_bundled_demo_checkpoint_still_loads():
    from meldae.paths import demo_checkpoint

    path = demo_checkpoint().with_suffix(".json")
    if not path.is_file():
        pytest.skip("no bundled demo checkpoint")
    meta = json.loads(path.read_text())["meta"]
    post = PostProcessing.from_meta(meta)
    stored = meta["postprocessing"]
    assert post == PostProcessing(stored["threshold"], stored["min_length"],
                                  stored["merge_gap"], stored.get("state_threshold", 0.5))
    assert postprocessing_source(meta) == stored["source"]


def test_replace_keeps_it_frozen():
    post = PostProcessing()
    with pytest.raises(AttributeError):
        post.threshold = 0.2                                   # type: ignore[misc]
    assert replace(post, threshold=0.2).threshold == 0.2 and post.threshold == 0.5
