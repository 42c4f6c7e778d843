"""Audio/video drift during playback of a long clip (default 10 minutes, played at 1×).

Builds a clip of ``--minutes`` minutes (small moving pictures, 25 fps, an AAC track) with
PyAV, opens it in the app's ``PlayerWidget`` with :class:`app.audio.AudioPlayback`
following it, plays it to the end in real time, and samples every second the offset between
the audio position (``QMediaPlayer.position``) and the video clock, in frames. Without an
audio device (CI, offscreen) ``QMediaPlayer`` runs on its own clock
(``require_output=False``); with a sound card the device clock drives it, and the same
correction loop applies. Prints a Markdown summary; ``--out`` appends it to a file and
``--json`` writes the samples.

    QT_QPA_PLATFORM=offscreen python bench/audio_sync.py [--minutes 10] [--out docs/bench-audio.md]
        [--json samples.json] [--plot docs/bench-audio-sync.png]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_clip(path: Path, minutes: float) -> Path:
    """A ``minutes``-long 25 fps clip whose audio is a tone with a click every second."""
    from meldae.audio.synth import RATE, write_test_video

    n = int(minutes * 60 * RATE)
    t = np.arange(n, dtype=np.float64) / RATE
    track = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    track[(np.arange(n) % RATE) < 80] = 0.8
    return write_test_video(path, track, minutes * 60, fps=25, size=(64, 48))


def run(clip: Path, speed: float) -> dict:
    """Play ``clip`` to the end; the offsets sampled each second and the corrections."""
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    from app.audio.playback import AudioPlayback
    from app.player.player_widget import PlayerWidget

    app = QApplication.instance() or QApplication([])
    window = QWidget()
    player = PlayerWidget(window)
    audio = AudioPlayback(player, lambda text, ms=0: None, window, require_output=False)
    loop = QEventLoop()
    player.video_opened.connect(lambda n: loop.quit())
    player.open_video(clip)
    audio.open(clip)
    loop.exec()
    QTimer.singleShot(1000, loop.quit)     # let QMediaPlayer load the file
    loop.exec()
    samples: list[tuple[float, float, int]] = []
    smoothed: list[float] = []
    audio.offset_measured.connect(smoothed.append)

    def sample() -> None:
        clock, media = player.clock, audio.media_player
        if clock is None or media is None:
            return
        offset = media.position() * float(player.fps) / 1000.0 - clock.position()
        samples.append((time.monotonic() - started, offset, audio.corrections))

    timer = QTimer()
    timer.timeout.connect(sample)
    def on_playing_changed(playing: bool) -> None:
        if not playing:
            loop.quit()

    player.playing_changed.connect(on_playing_changed)
    player.set_speed(speed)
    started = time.monotonic()
    player.play()
    timer.start(1000)
    loop.exec()
    timer.stop()
    wall = time.monotonic() - started
    minutes = player.frame_count / float(player.fps) / 60
    player.shutdown()
    audio.close()
    offsets = np.array([s[1] for s in samples[2:]])       # skip the start-up second
    return {"clip_minutes": minutes,
            "speed": speed, "wall_s": wall, "samples": samples, "smoothed": smoothed,
            "corrections": audio.corrections,
            "max_abs_offset_frames": float(np.abs(offsets).max()) if len(offsets) else None,
            "max_abs_smoothed_frames": float(np.abs(smoothed[2:]).max()) if len(smoothed) > 2 else None,
            "last_minute_mean_frames": float(np.mean([s[1] for s in samples if s[0] > wall - 60]))}


def plot(result: dict, path: Path) -> None:
    """Offset of the audio from the video clock over the run (frames), with the ±1 frame band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.array([s[0] for s in result["samples"]]) / 60
    offsets = np.array([s[1] for s in result["samples"]])
    fig, ax = plt.subplots(figsize=(8, 3), dpi=100)
    ax.axhspan(-1, 1, color="0.92", label="±1 frame")
    ax.plot(t, offsets, ".", ms=2, color="tab:blue", label="one reading per second")
    ax.set_xlabel("playback time (min)")
    ax.set_ylabel("audio − video (frames)")
    ax.set_ylim(-2, 2)
    ax.set_title(f"Audio/video offset, {result['clip_minutes']:.0f}-minute clip at "
                 f"{result['speed']:g}×, {result['corrections']} video-clock corrections")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    """Build the clip, play it, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=None, help="append the summary here")
    parser.add_argument("--json", type=Path, default=None, help="write the samples here")
    parser.add_argument("--plot", type=Path, default=None, help="draw the offsets (PNG)")
    parser.add_argument("--replot", type=Path, default=None, metavar="JSON",
                        help="only draw --plot from the samples of an earlier --json")
    args = parser.parse_args()
    if args.replot is not None:
        plot(json.loads(args.replot.read_text(encoding="utf-8")), args.plot)
        return
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "long.mp4", args.minutes)
        result = run(clip, args.speed)
    lines = [
        f"Audio/video sync, {result['clip_minutes']:.1f}-minute clip at {args.speed:g}× "
        f"({time.strftime('%Y-%m-%d')}, played in {result['wall_s']:.0f} s):",
        "",
        "| measure | frames (25 fps) |",
        "|---|---|",
        f"| largest offset, single reading (audio packet steps included) | "
        f"{result['max_abs_offset_frames']:.2f} |",
        f"| largest offset, mean of {10} readings (what the correction sees) | "
        f"{result['max_abs_smoothed_frames']:.2f} |",
        f"| mean offset over the last minute | {result['last_minute_mean_frames']:.2f} |",
        f"| video clock corrections | {result['corrections']} |",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write(text + "\n\n")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    if args.plot:
        plot(result, args.plot)


if __name__ == "__main__":
    main()
