"""The windows dataset: window placement, hand-computed masks, padding, augmentation."""

from __future__ import annotations

import pickle
from fractions import Fraction

import numpy as np
import pytest
import torch

from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source, save_eaf
from meldae.data.synth import synthesize
from meldae.data.windows import WindowDataset, clip_labels, jitter_lut, window_starts

T, STRIDE, CROP = 16, 16, 32


@pytest.mark.parametrize(("n", "t", "stride", "expected"), [
    (10, 4, 3, [0, 3, 6]),
    (11, 4, 3, [0, 3, 6, 7]),          # last window aligned to the end
    (40, 16, 16, [0, 16, 24]),
    (32, 16, 16, [0, 16]),
    (16, 16, 4, [0]),
    (5, 16, 8, [0]),                   # shorter than a window: one padded window
    (0, 16, 8, []),
])
def test_window_starts(n, t, stride, expected):
    assert window_starts(n, t, stride) == expected


def test_window_starts_cover_every_frame_and_reject_bad_sizes():
    for n in range(1, 60):
        for t in (1, 3, 8, 16):
            for stride in (s for s in (1, 2, 5, 8, 20) if s <= t):
                covered = np.zeros(n, bool)
                for start in window_starts(n, t, stride):
                    assert 0 <= start and (start + t <= n or start == 0)
                    covered[start:start + t] = True
                assert covered.all()
    with pytest.raises(ValueError):
        window_starts(10, 4, 0)


def test_clip_labels_runs_and_boundaries():
    doc = ClipAnnotations(
        segments=[Segment(2, 4), Segment(5, 6), Segment(9, 9),
                  Segment(12, 13, source=Source.PREDICTED),                     # unreviewed
                  Segment(15, 16, source=Source.PREDICTED, review=ReviewState.ACCEPTED)],
        speaking=[Segment(0, 3)])
    labels = clip_labels(doc, 18)
    me = [0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0]
    boundary = [0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0]  # touching 2-4, 5-6: one run
    np.testing.assert_array_equal(labels.me, me)
    np.testing.assert_array_equal(labels.boundary, boundary)
    np.testing.assert_array_equal(labels.speaking, [1, 1, 1, 1] + [0] * 14)
    assert labels.me.dtype == np.float32


def test_jitter_lut():
    np.testing.assert_array_equal(jitter_lut(0.0, 1.0), np.arange(256))
    lut = jitter_lut(0.1, 1.2)                      # (x - 128) * 1.2 + 128 + 25.5
    assert (lut[0], lut[100], lut[128], lut[200], lut[230]) == (0, 120, 154, 240, 255)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list:
    """Two synthetic 40-frame clips (128 px) with hand-written annotations."""
    out = tmp_path_factory.mktemp("windows")
    infos = synthesize(out, clips=2, seed=0, frames=40, size=128)
    fps = Fraction(30)
    save_eaf(ClipAnnotations(segments=[Segment(10, 14, apex=12), Segment(25, 25)],
                             speaking=[Segment(0, 19)]), infos[0].eaf_path, fps, backups=0)
    save_eaf(ClipAnnotations(segments=[Segment(14, 19, apex=16)],
                             speaking=[Segment(30, 39)]), infos[1].eaf_path, fps, backups=0)
    return infos


# The 128 px clips are big enough for the face detector (the 64 px ones are not).
def _settings():
    from meldae.faces import FaceSettings

    return FaceSettings(crop_size=CROP)


@pytest.fixture(scope="module")
def dataset(clips, tmp_path_factory) -> WindowDataset:
    return WindowDataset(clips, T, STRIDE, CROP, face_settings=_settings(),
                         cache_dir=tmp_path_factory.mktemp("crops"))


def _ones(values, n=T) -> np.ndarray:
    out = np.zeros(n, np.float32)
    out[list(values)] = 1
    return out


def test_windows_and_item_types(dataset):
    assert len(dataset) == 6
    assert dataset.windows == [(0, 0), (0, 16), (0, 24), (1, 0), (1, 16), (1, 24)]
    item = dataset[0]
    assert item["frames"].shape == (T, CROP, CROP, 3) and item["frames"].dtype == torch.uint8
    for key in ("me_mask", "boundary_mask", "speaking"):
        assert item[key].shape == (T,) and item[key].dtype == torch.float32
    assert item["me_label"].shape == () and item["face_found"].dtype == torch.bool
    assert (item["clip"], item["start"]) == (0, 0)


def test_masks_of_an_me_inside_a_window_and_a_one_frame_me(dataset):
    first = dataset[0]                                      # clip 0, frames 0-15
    np.testing.assert_array_equal(first["me_mask"], _ones(range(10, 15)))
    np.testing.assert_array_equal(first["boundary_mask"], _ones([10, 14]))
    np.testing.assert_array_equal(first["speaking"], np.ones(T))
    assert first["me_label"].item() == 1.0
    second = dataset[1]                                     # clip 0, frames 16-31
    np.testing.assert_array_equal(second["me_mask"], _ones([9]))        # frame 25
    np.testing.assert_array_equal(second["boundary_mask"], _ones([9]))
    np.testing.assert_array_equal(second["speaking"], _ones(range(0, 4)))  # frames 16-19
    third = dataset[2]                                      # clip 0, frames 24-39
    np.testing.assert_array_equal(third["me_mask"], _ones([1]))
    assert third["start"] == 24 and third["me_label"].item() == 1.0


def test_an_me_crossing_a_window_edge_has_no_boundary_at_the_edge(dataset):
    left = dataset[3]                                       # clip 1, frames 0-15; ME 14-19
    np.testing.assert_array_equal(left["me_mask"], _ones([14, 15]))
    np.testing.assert_array_equal(left["boundary_mask"], _ones([14]))
    assert left["speaking"].sum() == 0
    right = dataset[4]                                      # frames 16-31
    np.testing.assert_array_equal(right["me_mask"], _ones(range(0, 4)))
    np.testing.assert_array_equal(right["boundary_mask"], _ones([3]))
    np.testing.assert_array_equal(right["speaking"], _ones(range(14, 16)))  # frames 30-31
    last = dataset[5]                                       # frames 24-39: no ME
    assert last["me_label"].item() == 0.0 and last["me_mask"].sum() == 0
    np.testing.assert_array_equal(last["speaking"], _ones(range(6, 16)))


def test_frames_are_the_cached_crops(dataset, clips):
    from meldae.faces import load_face_crops

    crops = load_face_crops(clips[1].video_path, _settings(), dataset.cache_dir)
    item = dataset[4]
    np.testing.assert_array_equal(item["frames"].numpy(), crops.crops[16:32])
    np.testing.assert_array_equal(item["face_found"].numpy(), crops.face_found[16:32])
    assert crops.face_found.mean() >= 0.95 and item["frames"].float().mean() > 20


def test_short_clip_is_padded(clips, tmp_path):
    ds = WindowDataset(clips[:1], 64, 32, CROP, face_settings=_settings(), cache_dir=tmp_path)
    assert ds.windows == [(0, 0)]
    item = ds[0]
    assert item["frames"].shape == (64, CROP, CROP, 3)
    assert not item["frames"][40:].any() and not item["face_found"][40:].any()
    np.testing.assert_array_equal(item["me_mask"], _ones([10, 11, 12, 13, 14, 25], 64))
    np.testing.assert_array_equal(item["speaking"], _ones(range(20), 64))


def test_train_augmentation_flips_jitters_and_shifts(clips, tmp_path):
    progress_calls = []
    ds = WindowDataset(clips, T, 8, CROP, face_settings=_settings(), cache_dir=tmp_path,
                       train=True, flip_p=1.0,
                       brightness=0.0, contrast=0.0,
                       progress=lambda *args: progress_calls.append(args))
    assert progress_calls[-1] == (1, 2, 40, 40)
    torch.manual_seed(0)
    starts = set()
    for _ in range(20):
        item = ds[1]                                        # regular start 8, shifted by -4..4
        start = item["start"]
        starts.add(start)
        assert 4 <= start <= 12
        plain = ds.window(0, start)
        flipped = plain["frames"].numpy()[:, :, ::-1]
        np.testing.assert_array_equal(item["frames"].numpy(), flipped)
        np.testing.assert_array_equal(item["me_mask"], plain["me_mask"])
    assert len(starts) > 3
    ds.flip_p, ds.brightness = 0.0, 0.2
    shifts = []
    for _ in range(8):
        item = ds[0]
        plain = ds.window(0, item["start"])
        found = plain["face_found"].numpy()
        assert found.any()
        got = item["frames"].numpy().astype(int)[found]
        want = plain["frames"].numpy().astype(int)[found]
        unclipped = (want > 60) & (want < 190)               # away from 0 and 255
        delta = got[unclipped] - want[unclipped]
        assert delta.max() - delta.min() <= 1                 # one shift for every pixel
        assert abs(delta.mean()) <= 0.2 * 255 + 1
        shifts.append(delta.mean())
        assert not item["frames"].numpy()[~found].any()       # no face stays black
    assert max(shifts) - min(shifts) > 5                      # the shift is random


def test_pickles_without_the_crops_and_reopens_them(dataset):
    blob = pickle.dumps(dataset)
    assert len(blob) < 20_000                               # the crops are not in the pickle
    clone = pickle.loads(blob)
    np.testing.assert_array_equal(clone[4]["frames"], dataset[4]["frames"])


def test_dataloader_with_forked_workers(dataset):
    loader = torch.utils.data.DataLoader(dataset, batch_size=3, num_workers=2,
                                         multiprocessing_context="fork")
    batches = list(loader)
    assert [b["frames"].shape for b in batches] == [(3, T, CROP, CROP, 3)] * 2
    assert batches[0]["me_label"].tolist() == [1.0, 1.0, 1.0]
    assert batches[1]["start"].tolist() == [0, 16, 24]
