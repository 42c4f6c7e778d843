"""Speaking turns from the audio against known speech, and the VAD's speed on this CPU.

The espeak-ng recording ``tests/data/speech_en.wav`` is placed at known times (speech at
1 s; a 1 kHz tone; speech twice with a 0.3 s pause, which must stay one turn; a knock;
speech again) over faint noise, and muxed as the audio track into the shared video
``../shared/data/video/WolfgangLanger_Pexels.mp4`` (its pictures copied; a generated video
when the shared one is absent). ``meldae.audio.detect_turns`` then runs on it, and its
turns are compared with the truth at the video's frame rate: interval F1 (one-to-one
matching, IoU >= 0.5, as ``meldae.metrics``), frame accuracy, and the real-time factor
(detector time / audio duration; lower is faster). The speed is also measured on a
5-minute track. Prints a Markdown table; ``--out`` appends it to a file.

    python bench/audio_vad.py [--out docs/bench-audio.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT / "tests" / "data" / "speech_en.wav"
SHARED_VIDEO = ROOT.parent / "shared" / "data" / "video" / "WolfgangLanger_Pexels.mp4"


def _scores(turns, truth: np.ndarray, fps: Fraction, n_frames: int) -> dict:
    from meldae.audio import turns_to_frames
    from meldae.metrics import match_segments, prf_from_counts

    pred = turns.frames(fps, n_frames)
    true = turns_to_frames(truth, fps, n_frames)
    tp, fp, fn = match_segments(pred.tolist(), true.tolist(), 0.5)
    mask = np.zeros(n_frames, bool)
    for a, b in true:
        mask[a:b + 1] = True
    return {"turns": len(pred), "true_turns": len(true), "tp": tp, "fp": fp, "fn": fn,
            "f1": prf_from_counts(tp, fp, fn)[2],
            "frame_acc": float((turns.speaking_mask(fps, n_frames) == mask).mean())}


def accuracy(folder: Path) -> tuple[str, dict, dict[float, dict]]:
    """Mux the known speech into the video; the turns' scores at several gaps."""
    from meldae.audio import VadSettings, detect_turns
    from meldae.audio.synth import mix_track, mux_into_video, trimmed_speech, write_test_video
    from meldae.video import probe

    speech = trimmed_speech(SPEECH)
    if SHARED_VIDEO.is_file():
        info = probe(SHARED_VIDEO)
        track, truth = mix_track(speech, info.duration_s)
        video, source = mux_into_video(SHARED_VIDEO, track, folder / "speech_in_shared.mp4"), \
            SHARED_VIDEO.name
    else:
        track, truth = mix_track(speech, 20.0)
        video, source = write_test_video(folder / "speech.mp4", track, 20.0), "generated video"
    info = probe(video)
    fps, n = Fraction(info.fps), info.frames
    turns = detect_turns(video, use_cache=False)
    by_gap = {gap: _scores(turns.with_settings(VadSettings(gap_s=gap)), np.array(truth), fps, n)
              for gap in (0.1, 0.25, 0.5, 1.0)}
    return source, {"duration_s": turns.duration_s, "elapsed_s": turns.elapsed_s,
                    "truth": truth, "turns": turns.turns.tolist(), "fps": float(fps)}, by_gap


def speed(folder: Path, minutes: float = 5.0) -> dict:
    """Real-time factor of the detector (decoding included) on a ``minutes``-long track."""
    from meldae.audio import detect_turns
    from meldae.audio.synth import mix_track, trimmed_speech, write_test_video

    track, _ = mix_track(trimmed_speech(SPEECH), 20.0)
    long_track = np.tile(track, int(minutes * 3))
    video = write_test_video(folder / "long.mp4", long_track, len(long_track) / 16000,
                             fps=5, size=(32, 32))
    started = time.perf_counter()
    turns = detect_turns(video, use_cache=False)
    wall = time.perf_counter() - started
    return {"duration_s": turns.duration_s, "wall_s": wall, "rtf": wall / turns.duration_s,
            "turns": len(turns.turns), "expected_turns": 3 * int(minutes * 3)}


def main() -> None:
    """Run both measurements and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="append the table here")
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the speed test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source, run, by_gap = accuracy(Path(tmp))
        fast = speed(Path(tmp), args.minutes)
    cpu = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    lines = [
        f"VAD (silero-vad {_version()}, TorchScript on CPU, one thread) on known speech muxed "
        f"into {source} ({run['duration_s']:.1f} s at {run['fps']:.3f} fps), "
        f"{time.strftime('%Y-%m-%d')}, {cpu}:",
        "",
        "| gap (s) | turns found / true | TP | FP | FN | interval F1 (IoU ≥ 0.5) | frame accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for gap, s in by_gap.items():
        mark = " (default)" if gap == 0.5 else ""
        lines.append(f"| {gap:g}{mark} | {s['turns']} / {s['true_turns']} | {s['tp']} | "
                     f"{s['fp']} | {s['fn']} | {s['f1']:.2f} | {s['frame_acc']:.3f} |")
    lines += [
        "",
        f"True speech (s): {', '.join(f'{a:.2f}–{b:.2f}' for a, b in run['truth'])}; "
        f"turns found (gap 0.5 s): {', '.join(f'{a:.2f}–{b:.2f}' for a, b in run['turns'])}.",
        "",
        "| speed | audio | detector time (decoding included) | real-time factor |",
        "|---|---|---|---|",
        f"| the clip above | {run['duration_s']:.1f} s | {run['elapsed_s']:.2f} s | "
        f"{run['elapsed_s'] / run['duration_s']:.3f} |",
        f"| {args.minutes:g}-minute track | {fast['duration_s']:.0f} s | {fast['wall_s']:.1f} s | "
        f"{fast['rtf']:.3f} |",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write(text + "\n\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("silero-vad")
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    main()
