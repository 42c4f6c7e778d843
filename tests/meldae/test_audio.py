"""meldae.audio: decoding, the cached envelope, speaking turns, and the VAD on known speech."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from meldae.audio import (
    AudioError, Envelope, VadSettings, detect_turns, envelope_cache_path, iter_envelope,
    load_envelope, probe_audio, read_audio, turns_from_probs, turns_to_frames,
)
from meldae.audio.synth import Placement, speech_test_video, write_test_video
from meldae.metrics import match_segments, prf_from_counts

SPEECH_WAV = Path(__file__).resolve().parents[1] / "data" / "speech_en.wav"


@pytest.fixture(scope="module")
def speech_video(tmp_path_factory) -> tuple[Path, list[tuple[float, float]]]:
    """20 s of video: speech at 1 s, a tone, speech twice with a 0.3 s pause, a knock, speech."""
    return speech_test_video(tmp_path_factory.mktemp("speech"), SPEECH_WAV)


@pytest.fixture(scope="module")
def silent_video(tmp_path_factory) -> Path:
    """A video without an audio track."""
    return write_test_video(tmp_path_factory.mktemp("mute") / "mute.mp4", None, 2.0)


def test_speech_recording_is_small_and_in_the_repository():
    assert SPEECH_WAV.is_file() and SPEECH_WAV.stat().st_size < 200_000


def test_probe_tells_a_track_from_none_and_bad_files_raise(speech_video, silent_video, tmp_path):
    info = probe_audio(speech_video[0])
    assert info.sample_rate == 16000 and info.channels == 1
    assert info.duration_s == pytest.approx(20.0, abs=0.1)
    assert probe_audio(silent_video) is None
    with pytest.raises(AudioError, match="no such file"):
        probe_audio(tmp_path / "missing.mp4")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video" * 100)
    with pytest.raises(AudioError, match="garbage.mp4"):
        probe_audio(garbage)
    with pytest.raises(AudioError, match="no audio track"):
        read_audio(silent_video)


def test_decoded_audio_is_aligned_with_the_pictures(speech_video):
    audio = read_audio(speech_video[0], 16000)
    assert len(audio) == pytest.approx(20.0 * 16000, abs=2048)
    rms = lambda a, b: float(np.sqrt(np.mean(audio[int(a * 16000):int(b * 16000)] ** 2)))
    assert rms(1.2, 1.8) > 10 * rms(0.2, 0.8)          # speech starts at 1.0 s
    assert rms(5.3, 6.1) > 0.15                         # the tone (amplitude 0.3)


def test_envelope_is_cached_beside_the_scores_and_bounds_the_samples(speech_video, monkeypatch):
    path = speech_video[0]
    first = load_envelope(path)
    cache = envelope_cache_path(path)
    from meldae.paths import cache_dir

    assert cache.is_file() and cache.parent == cache_dir() / "audio"   # beside cache_dir()/scores
    assert len(first) == pytest.approx(2000, abs=8)     # 100 bins per second (+ AAC padding)
    audio = read_audio(path, 8000)
    assert first.maxs.max() == pytest.approx(audio.max(), abs=1e-6)
    assert first.mins.min() == pytest.approx(audio.min(), abs=1e-6)
    # Second time: read from the cache, no decoding (the decoder would fail here).
    monkeypatch.setattr("meldae.audio.envelope.iter_audio",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("decoded")))
    items = list(iter_envelope(path))
    assert len(items) == 1 and np.array_equal(items[0].maxs, first.maxs)


def test_envelope_pyramid_keeps_peaks_and_bounds_the_bins():
    rng = np.random.default_rng(0)
    n = 360_000                                       # one hour at 100 bins per second
    lo, hi = -rng.random(n).astype(np.float32), rng.random(n).astype(np.float32)
    env = Envelope(lo, hi, 100.0, 3600.0)
    levels = env.levels()
    assert [len(level[1]) for level in levels] == sorted((len(l[1]) for l in levels), reverse=True)
    for _rate, mins, maxs in levels:
        assert maxs.max() == hi.max() and mins.min() == lo.min()
    rate, mins, _ = env.level_for(3600.0, 2000)
    assert 3600.0 * rate <= 2000 and len(mins) <= 2000 * 4
    assert env.level_for(10.0, 2000)[0] == 100.0       # zoomed in: the finest level


def test_no_audio_track_is_an_error_of_the_envelope_and_the_vad(silent_video):
    with pytest.raises(AudioError, match="no audio track"):
        list(iter_envelope(silent_video))
    with pytest.raises(AudioError, match="no audio track"):
        detect_turns(silent_video)


def test_turns_keep_short_pauses_inside_and_split_at_long_ones():
    hop = 0.1
    probs = np.zeros(100, np.float32)
    probs[10:20] = 0.9            # 1.0-2.0 s
    probs[23:30] = 0.9            # 2.3-3.0 s: a 0.3 s pause -> same turn
    probs[40:50] = 0.9            # 4.0-5.0 s: a 1.0 s pause -> new turn
    probs[60:61] = 0.9            # 0.1 s blip -> too short
    probs[70:80] = 0.4            # between the thresholds, never reaching 0.5 -> nothing
    s = VadSettings(gap_s=0.5, min_speech_s=0.25, pad_s=0.0)
    assert turns_from_probs(probs, hop, s).tolist() == [[1.0, 3.0], [4.0, 5.0]]
    assert len(turns_from_probs(probs, hop, VadSettings(gap_s=0.2, pad_s=0.0))) == 3
    hysteresis = np.array([0, 0.6, 0.4, 0.4, 0.2, 0], np.float32)   # stays on above 0.35
    assert turns_from_probs(hysteresis, 1.0, VadSettings(pad_s=0.0)).tolist() == [[1.0, 4.0]]


def test_turns_to_frames_cover_every_frame_a_turn_touches():
    turns = np.array([[1.0, 2.0], [2.02, 2.05], [9.9, 12.0]])
    frames = turns_to_frames(turns, Fraction(25), n_frames=250)
    assert frames.tolist() == [[25, 49], [50, 51], [247, 249]]


def _interval_f1(pred: np.ndarray, truth: np.ndarray) -> float:
    return prf_from_counts(*match_segments(pred.tolist(), truth.tolist(), 0.5))[2]


def test_vad_finds_the_known_speech_and_not_the_tone_or_knock(speech_video):
    path, truth = speech_video
    fps, n = Fraction(25), 500
    turns = detect_turns(path)
    truth_frames = turns_to_frames(np.array(truth), fps, n)
    pred_frames = turns.frames(fps, n)
    assert _interval_f1(pred_frames, truth_frames) == 1.0
    true_mask = np.zeros(n, bool)
    for a, b in truth_frames:
        true_mask[a:b + 1] = True
    assert (turns.speaking_mask(fps, n) == true_mask).mean() >= 0.95
    assert not turns.speaking_mask(fps, n)[int(5.3 * 25):int(6.1 * 25)].any()     # tone
    assert not turns.speaking_mask(fps, n)[int(14.7 * 25):int(15.3 * 25)].any()   # knock
    # The probabilities are cached: other settings cost no model run.
    again = detect_turns(path, VadSettings(gap_s=0.1))
    assert again.elapsed_s == 0.0 and len(again.turns) == 4


def test_vad_leaves_torch_threads_and_does_not_import_the_silero_package(speech_video):
    code = ("import sys, torch; torch.set_num_threads(2); from meldae.audio import detect_turns;"
            f"detect_turns({str(speech_video[0])!r}, use_cache=False);"
            "print(torch.get_num_threads(), 'silero_vad' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.split() == ["2", "False"]


def test_placement_with_pause_joins_the_previous_speech(tmp_path):
    from meldae.audio.synth import mix_track

    speech = np.full(1600, 0.5, np.float32)            # 0.1 s
    _track, truth = mix_track(speech, 3.0, (Placement("speech", 0.5),
                                            Placement("speech+pause", 0.2),
                                            Placement("speech", 2.0)))
    assert truth == [pytest.approx((0.5, 0.9)), pytest.approx((2.0, 2.1))]
