"""Timeline responsiveness on a one-hour 60 fps clip (216,000 frames, 2,000 segments).

Measures, offscreen, the time to load the scores, to redraw the whole widget (``grab``) fully
zoomed out and zoomed in, to zoom/pan by one step, and to move the threshold (which
re-derives the predicted segments). Prints a Markdown table; ``--out`` also writes it.

    QT_QPA_PLATFORM=offscreen python bench/timeline_long.py [--repeat 5] [--out docs/bench-app.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N_FRAMES = 216_000
N_SEGMENTS = 2_000


def make_scores(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random S_loc and speaking scores for ``N_FRAMES`` frames."""
    kernel = np.hanning(31) / np.hanning(31).sum()
    loc = np.convolve(rng.random(N_FRAMES), kernel, mode="same") ** 3 * 6
    state = np.convolve(rng.random(N_FRAMES), np.ones(600) / 600, mode="same")
    return np.clip(loc, 0, 1).astype(np.float32), (state > 0.5).astype(np.float32)


def make_document(rng: np.random.Generator):
    """An AnnotationDocument with ``N_SEGMENTS`` ME segments and some speaking intervals."""
    from app.editing.document import AnnotationDocument
    from meldae.annotations import ClipAnnotations, Segment

    onsets = np.sort(rng.choice(N_FRAMES - 100, N_SEGMENTS, replace=False))
    segments = [Segment(int(o), int(o) + int(rng.integers(5, 30))) for o in onsets]
    speaking = [Segment(s, s + 900) for s in range(0, N_FRAMES - 1000, 3000)]
    return AnnotationDocument(ClipAnnotations(segments=segments, speaking=speaking), N_FRAMES)


def timed(fn, repeat: int) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(repeat: int) -> list[tuple[str, float]]:
    """Time the timeline operations; returns ``[(what, ms)]``."""
    from PySide6.QtWidgets import QApplication

    from app.timeline.timeline_widget import TimelineWidget

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    loc, state = make_scores(rng)
    doc = make_document(rng)
    timeline = TimelineWidget()
    timeline.resize(1400, 320)
    timeline.show()
    app.processEvents()
    timeline.set_frame_count(N_FRAMES)
    timeline.set_document(doc)
    valid = np.ones(N_FRAMES, bool)
    results = [("load scores (set_scores, 216k frames)",
                timed(lambda: timeline.set_scores(loc, valid), repeat))]
    from meldae.postprocess import PostProcessing
    from meldae.scores import ClipScores

    scores = ClipScores.from_arrays(loc, state, valid)

    def set_threshold(threshold: float) -> None:
        """What the app does when the threshold moves: new proposals, drawn."""
        timeline.set_proposals(PostProcessing(threshold=threshold).propose(scores))

    set_threshold(0.5)
    results.append(("redraw, whole clip in view", timed(timeline.grab, repeat)))

    def zoom_step():
        first, last = timeline.visible_range()
        mid, half = (first + last) / 2, (last - first) / 2 * 0.8
        timeline.zoom_to(mid - half, mid + half)
        timeline.grab()

    timeline.zoom_to(0, N_FRAMES)
    results.append(("zoom in one step + redraw", timed(zoom_step, repeat)))
    timeline.zoom_to(100_000, 101_800)          # 30 s in view
    results.append(("redraw, 30 s in view", timed(timeline.grab, repeat)))

    def pan_step():
        first, last = timeline.visible_range()
        timeline.zoom_to(first + 300, last + 300)
        timeline.grab()

    results.append(("pan one step (5 s) + redraw", timed(pan_step, repeat)))
    values = iter(np.linspace(0.3, 0.7, repeat + 1))
    results.append(("move threshold (re-derive segments)",
                    timed(lambda: set_threshold(float(next(values))), repeat)))
    results.append(("playhead move + redraw",
                    timed(lambda: (timeline.set_playhead(100_900, follow=True),
                                   timeline.grab()), repeat)))
    timeline.close()
    return results


def main() -> int:
    """Run the benchmark and print (and optionally write) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the Markdown table here too")
    args = parser.parse_args()
    results = run(args.repeat)
    lines = [f"Timeline, {N_FRAMES:,} frames (one hour at 60 fps), {N_SEGMENTS:,} segments, "
             f"1400×320 px offscreen, median of {args.repeat}:", "",
             "| operation | ms |", "|---|---:|"]
    lines += [f"| {what} | {ms:.1f} |" for what, ms in results]
    table = "\n".join(lines)
    print(table)
    if args.out is not None:
        args.out.write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
