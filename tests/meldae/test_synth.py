"""Synthetic data: exact ground truth, decodable videos, detectable faces, determinism."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from meldae.annotations import load_eaf
from meldae.data.synth import synthesize, synthesize_clips, write_video
from meldae.data.synth_face import FaceRenderer, FaceState, random_identity
from meldae.data.synth_timeline import ContextQuota, envelope, plan_clip


def _decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("synth_tiny")
    return out, synthesize_clips(out, clips=3, seed=7, frames=45, size=64)


def test_envelope_is_nonzero_exactly_on_onset_to_offset():
    env = envelope(20, 5, 7, 10)
    assert np.all(env[:5] == 0) and np.all(env[11:] == 0)
    # rise sin^2(pi/2 * k/3) for k = 1..3, fall sin^2(pi/2 * k/4) for k = 3..1
    expected = [0.25, 0.75, 1.0, math.sin(3 * math.pi / 8) ** 2, 0.5, math.sin(math.pi / 8) ** 2]
    np.testing.assert_allclose(env[5:11], expected, atol=1e-12)
    one_frame = envelope(5, 2, 2, 2)
    np.testing.assert_array_equal(one_frame, [0, 0, 1, 0, 0])


def test_plan_places_mes_inside_one_context_without_overlap():
    quota = ContextQuota()
    speaking_mes = total = 0
    for clip in range(12):
        plan = plan_clip(np.random.default_rng([3, clip]), 300, Fraction(30), 320, quota)
        mask = plan.speaking_mask()
        previous_offset = -1
        for me in plan.mes:
            assert 6 <= me.offset - me.onset + 1 <= 15            # 0.2-0.5 s at 30 fps
            assert me.onset <= me.apex <= me.offset
            assert me.onset > previous_offset                     # sorted, no overlap
            assert np.all(mask[me.onset:me.offset + 1] == me.speaking)
            previous_offset = me.offset
            speaking_mes += me.speaking
            total += 1
        assert plan.blinks or plan.nods or plan.flickers           # distractors present
        # The ME channels are zero exactly outside the ME frames.
        moving = np.zeros(300, bool)
        for name in ("brow_raise_l", "brow_raise_r", "brow_lower_l", "brow_lower_r",
                     "squint_l", "squint_r", "lip_pull_l", "lip_pull_r"):
            moving |= plan.channels[name] > 0
        np.testing.assert_array_equal(moving, _mask(plan.mes, 300))
    assert total >= 20                                             # ~2.5 per 10 s
    assert 0.5 <= speaking_mes / total <= 0.6                     # about 55 % while speaking


def _mask(mes, n):
    mask = np.zeros(n, bool)
    for me in mes:
        mask[me.onset:me.offset + 1] = True
    return mask


def _brow_top_edge(renderer: FaceRenderer, state: FaceState) -> float:
    """Sub-pixel row of the upper edge of the right brow at its middle column."""
    rgb = renderer.render(state).astype(np.float32)
    a, b, ident = renderer.a, renderer.b, renderer.identity
    brow_y = renderer.cy + (-0.2 - 0.32 * a / b) * b
    x = int(renderer.cx + (ident.eye_dx + 0.02) * a)
    y0 = int(brow_y - 0.25 * a)
    profile = rgb[y0:int(brow_y + 0.1 * a), x - 2:x + 3].mean(axis=(1, 2))
    k = int(np.argmin(profile))
    level = 0.5 * (profile[:k].max() + profile[k])
    while profile[k - 1] < level:
        k -= 1
    return y0 + k - (level - profile[k]) / (profile[k - 1] - profile[k])


def _lower_lip_bottom(renderer: FaceRenderer, state: FaceState) -> float:
    """Sub-pixel row where the (red) lower lip ends, at the mouth's middle column."""
    rgb = renderer.render(state).astype(np.float32)
    x = int(renderer.cx)
    redness = (rgb[:, x - 2:x + 3, 0] - rgb[:, x - 2:x + 3, 1]).mean(axis=1)
    ident = renderer.identity
    mouth_y = int(renderer.cy + (ident.nose_length + (1 - ident.nose_length) * 0.36) * renderer.b)
    seg = redness[mouth_y:mouth_y + int(0.6 * renderer.a)]
    level = 0.5 * (seg.max() + np.median(seg[int(0.45 * renderer.a):]))
    k = int(np.flatnonzero(seg > level).max())
    return mouth_y + k + (seg[k] - level) / (seg[k] - seg[k + 1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_me_moves_a_few_pixels_and_speech_moves_much_more(seed):
    renderer = FaceRenderer(random_identity(np.random.default_rng(seed)), 320)
    rest, raised = FaceState(), FaceState(brow_raise_l=0.03, brow_raise_r=0.03)
    brow_shift = _brow_top_edge(renderer, raised) - _brow_top_edge(renderer, rest)
    # 0.03 a * (0.8 + 0.3 / 2) at the brow's middle: about 2.3 px for a ~ 80 px.
    assert -3.5 < brow_shift < -1.2
    talking = FaceState(mouth_open=0.2, jaw=0.09)
    lip_shift = _lower_lip_bottom(renderer, talking) - _lower_lip_bottom(renderer, rest)
    assert lip_shift == pytest.approx(0.75 * 0.2 * renderer.a, abs=1.5)   # about 12 px
    # Only the brows move for a brow raise: nothing changes below the eyes.
    diff = np.abs(renderer.render(raised).astype(int) - renderer.render(rest).astype(int))
    changed_rows = np.flatnonzero(diff.max(axis=(1, 2)) > 20)
    assert changed_rows.max() < renderer.cy - 0.2 * renderer.b


def test_folder_layout_annotations_and_splits(tiny_folder):
    out, written = tiny_folder
    assert sorted(p.name for p in out.iterdir() if not p.name.endswith(".meldae.json")) == [
        "splits.csv", "synth.json", "synth_s01_01.eaf", "synth_s01_01.mp4",
        "synth_s01_02.eaf", "synth_s01_02.mp4", "synth_s02_01.eaf", "synth_s02_01.mp4"]
    assert (out / "splits.csv").read_text().splitlines() == [
        "clip,subject,split", "synth_s01_01,s01,", "synth_s01_02,s01,", "synth_s02_01,s02,"]
    for clip in written:
        doc = load_eaf(clip.eaf_path, Fraction(30))
        got = [(s.onset, s.apex, s.offset, s.label) for s in doc.confirmed_segments()]
        assert got == [(e.onset, e.apex, e.offset, e.kind) for e in clip.plan.mes]
        assert [(s.onset, s.offset) for s in doc.confirmed_speaking()] == clip.plan.speaking
        np.testing.assert_array_equal(doc.speaking_mask(45), clip.plan.speaking_mask())
    meta = json.loads((out / "synth.json").read_text())
    assert [c["name"] for c in meta["clips"]] == [c.name for c in written]
    assert meta["clips"][0]["mes"] == [
        {"onset": e.onset, "apex": e.apex, "offset": e.offset, "kind": e.kind,
         "sides": list(e.sides), "speaking": e.speaking,
         "amplitude_px": round(e.amplitude * written[0].face_half_width_px, 3)}
        for e in written[0].plan.mes]


def test_videos_decode_to_exactly_the_frames_written(tiny_folder):
    from meldae.video import VideoReader

    _, written = tiny_folder
    for clip in written:
        assert len(_decode(clip.video_path)) == 45
        with VideoReader(clip.video_path) as reader:
            assert len(reader) == 45 and reader.fps == Fraction(30)
            assert reader.size == (64, 64)


def test_ntsc_rate_and_writer(tmp_path):
    fps = Fraction(30000, 1001)
    frames = [np.full((16, 24, 3), 10 * i, np.uint8) for i in range(7)]
    assert write_video(tmp_path / "x.mp4", iter(frames), fps) == 7
    decoded = _decode(tmp_path / "x.mp4")
    assert decoded.shape == (7, 16, 24, 3)
    np.testing.assert_allclose(decoded.mean(axis=(1, 2, 3)), [10 * i for i in range(7)], atol=2)
    from meldae.video import VideoReader

    with VideoReader(tmp_path / "x.mp4") as reader:
        assert reader.fps == fps
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "odd.mp4", iter([np.zeros((15, 16, 3), np.uint8)]), fps)
    assert not list(tmp_path.glob(".*"))                           # no temp file left


def test_same_seed_same_clips_other_seed_other_clips(tmp_path, tiny_folder):
    _, first = tiny_folder
    again = synthesize_clips(tmp_path / "a", clips=1, seed=7, frames=45, size=64)
    other = synthesize_clips(tmp_path / "b", clips=1, seed=8, frames=45, size=64)
    np.testing.assert_array_equal(_decode(again[0].video_path), _decode(first[0].video_path))
    assert again[0].plan.mes == first[0].plan.mes
    assert not np.array_equal(_decode(other[0].video_path), _decode(first[0].video_path))


def test_synthesize_returns_clip_infos_that_discovery_agrees_with(tmp_path):
    from meldae.data.clipfolder import discover_clips
    from meldae.data.splits import subject_split

    infos = synthesize(tmp_path, clips=6, seed=0, frames=8, size=48)
    assert [(c.name, c.subject, c.split) for c in infos] == [
        ("synth_s01_01", "s01", None), ("synth_s01_02", "s01", None),
        ("synth_s02_01", "s02", None), ("synth_s02_02", "s02", None),
        ("synth_s03_01", "s03", None), ("synth_s03_02", "s03", None)]
    assert discover_clips(tmp_path) == infos
    split = subject_split(infos, 0.3, 0.3, seed=0)
    assert [len(split.subjects(name)) for name in ("train", "val", "test")] == [1, 1, 1]
    assert [len(getattr(split, name)) for name in ("train", "val", "test")] == [2, 2, 2]


def test_procedural_faces_are_found_by_dlib_and_haar(tmp_path):
    dlib = pytest.importorskip("dlib")
    from meldae.data.synth import NoiseBank

    detector = dlib.get_frontal_face_detector()
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    total = found_dlib = found_haar = 0
    for subject in range(8):                                  # 8 identities, 4 moments each
        renderer = FaceRenderer(random_identity(np.random.default_rng([11, 10_000 + subject])), 320)
        plan = plan_clip(np.random.default_rng([11, subject]), 120, Fraction(30), 320,
                         ContextQuota())
        noise = NoiseBank(np.random.default_rng(subject), 320)
        for frame_idx in (5, 40, 75, 110):
            rgb = renderer.render(FaceState(**plan.state_kwargs(frame_idx)), noise.next())
            gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            found_dlib += len(detector(gray, 0)) > 0
            found_haar += len(cascade.detectMultiScale(cv2.equalizeHist(gray), 1.1, 5,
                                                       minSize=(40, 40))) > 0
            total += 1
    assert found_dlib >= 0.95 * total
    assert found_haar >= 0.95 * total
    # ... and by the project's face pipeline on an encoded clip, with both of its detectors.
    from meldae.faces import FaceSettings, load_face_crops

    written = synthesize_clips(tmp_path, clips=1, seed=11, frames=16, size=320)
    for name in ("dlib", "haar"):
        crops = load_face_crops(written[0].video_path, FaceSettings(crop_size=64, detector=name),
                                tmp_path / "cache")
        assert crops.face_found.mean() >= 0.95


def test_cli_synth_prints_a_summary(tmp_path, capsys):
    from meldae.cli import main

    assert main(["synth", str(tmp_path / "out"), "--clips", "2", "--frames", "12",
                 "--size", "48", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "wrote 2 clips (1 subjects, 24 frames at 30 fps, 48x48)" in out
    assert "speaking fraction" in out
    assert len(list((tmp_path / "out").glob("*.mp4"))) == 2


def test_source_video_motion_injection(shared_data, tmp_path):
    source = shared_data / "video" / "single_face.mp4"
    written = synthesize_clips(tmp_path, clips=1, seed=2, frames=40, size=128, source=source)
    frames = _decode(written[0].video_path)
    assert frames.shape == (40, 128, 128, 3)
    doc = load_eaf(written[0].eaf_path, Fraction(30))
    assert [(s.onset, s.offset) for s in doc.confirmed_segments()] == [
        (e.onset, e.offset) for e in written[0].plan.mes]


def test_source_without_a_face_is_a_data_error(shared_data, tmp_path):
    from meldae.data.clipfolder import DataError

    with pytest.raises(DataError, match="no_face.mp4: no face found"):
        synthesize_clips(tmp_path, clips=1, seed=0, frames=12, size=64,
                         source=shared_data / "video" / "no_face.mp4")
    assert not list(tmp_path.glob("*.mp4"))
