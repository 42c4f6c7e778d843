"""The waveform lane on a one-hour clip: decoding the envelope once, reading it back, and
drawing it at every zoom level.

Writes a one-hour AAC track (the test speech layout repeated), computes its envelope with
``meldae.audio.iter_envelope`` (decode + min/max, then cached), reads it back from the
cache, and times, offscreen, a full redraw (``grab``) of the timeline at 60 fps
(216,000 frames) with the waveform shown fully zoomed out down to one second, plus one
zoom step by the wheel's factor. Prints a Markdown table; ``--out`` appends it to a file.

    QT_QPA_PLATFORM=offscreen python bench/audio_waveform.py [--out docs/bench-audio.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
FPS = 60
HOUR_S = 3600


def make_hour(folder: Path) -> Path:
    """A one-hour audio file: the test speech layout (20 s) repeated."""
    from meldae.audio.synth import mix_track, trimmed_speech, write_audio_file

    track, _ = mix_track(trimmed_speech(ROOT / "tests" / "data" / "speech_en.wav"), 20.0)
    return write_audio_file(folder / "hour.m4a", np.tile(track, HOUR_S // 20))


def time_envelope(path: Path, cache: Path) -> tuple[object, float, float]:
    """The envelope, the seconds to compute it, and the seconds to read it from the cache."""
    from meldae.audio import load_envelope

    started = time.perf_counter()
    env = load_envelope(path, cache)
    computed = time.perf_counter() - started
    started = time.perf_counter()
    again = load_envelope(path, cache)
    cached = time.perf_counter() - started
    assert np.array_equal(env.maxs, again.maxs)
    return env, computed, cached


def time_drawing(env, repeat: int) -> list[tuple[str, float, int]]:
    """Median redraw time and bins drawn at each zoom level."""
    from PySide6.QtWidgets import QApplication

    from app.timeline.timeline_widget import TimelineWidget

    app = QApplication.instance() or QApplication([])
    timeline = TimelineWidget()
    timeline.resize(1400, 320)
    n = HOUR_S * FPS
    timeline.set_frame_count(n)
    timeline.set_envelope(env, FPS)
    timeline.show()
    app.processEvents()
    rows = []
    for label, span_s in (("1 h (all)", 3600), ("10 min", 600), ("1 min", 60), ("10 s", 10),
                          ("1 s", 1)):
        first = (n - span_s * FPS) // 2
        times = []
        for _ in range(repeat):
            timeline.zoom_to(first, first + span_s * FPS)
            started = time.perf_counter()
            timeline.grab()
            times.append(time.perf_counter() - started)
        rows.append((label, statistics.median(times), timeline.waveform_item.drawn_bins))
    timeline.zoom_to(0, n)
    times = []
    for step in range(repeat):
        timeline.view_box.scaleBy(x=0.8 if step % 2 == 0 else 1.25)
        started = time.perf_counter()
        timeline.grab()
        times.append(time.perf_counter() - started)
    rows.append(("zoom step (wheel)", statistics.median(times), timeline.waveform_item.drawn_bins))
    timeline.close()
    return rows


def main() -> None:
    """Build the hour, time it, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="append the table here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        path = make_hour(Path(tmp))
        made = time.perf_counter() - started
        env, computed, cached = time_envelope(path, Path(tmp) / "cache")
        cache_mb = sum(f.stat().st_size for f in (Path(tmp) / "cache").iterdir()) / 1e6
        rows = time_drawing(env, args.repeat)
    lines = [
        f"Waveform of a one-hour clip ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"offscreen; the AAC file took {made:.0f} s to write):",
        "",
        "| step | time |",
        "|---|---|",
        f"| envelope: decode + min/max (once per clip) | {computed:.1f} s |",
        f"| envelope: read from the cache ({cache_mb:.1f} MB) | {cached * 1000:.0f} ms |",
    ]
    lines += [f"| timeline redraw, view = {label} ({bins} bins drawn) | {t * 1000:.1f} ms |"
              for label, t, bins in rows]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write(text + "\n\n")


if __name__ == "__main__":
    main()
