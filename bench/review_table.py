"""The review workflow at scale: 2,000 labelled segments with apexes in an 18,000-frame clip.

Times, offscreen, what an annotator does many times an hour: one label edit (the segment
table updates one row, the timeline redraws its labels), one drag step, sorting the table by
score, redrawing the timeline with labels and apexes fully zoomed out and zoomed to 300
frames, zooming to a segment (Z), and N (next unreviewed proposal). Prints a Markdown table.

    QT_QPA_PLATFORM=offscreen python bench/review_table.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N_FRAMES = 18_000
N_SEGMENTS = 2_000


def timed(fn, app, repeat: int) -> float:
    """Median wall time of ``fn()`` plus the events it posts, in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        app.processEvents()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(repeat: int) -> list[tuple[str, float]]:
    """Time the operations; returns ``[(what, ms)]``."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QUndoStack
    from PySide6.QtWidgets import QApplication

    from app.editing.document import AnnotationDocument
    from app.editing.editor import SegmentEditor
    from app.review.segment_table import SCORE, SegmentTable
    from app.timeline.timeline_widget import TimelineWidget
    from app.timeline.zoom import segment_view
    from meldae.annotations import ClipAnnotations, Segment, Source
    from meldae.review import PRESETS

    app = QApplication.instance() or QApplication([])
    labels = PRESETS["Action units"]
    segments = [Segment(i * 9, i * 9 + 5, apex=i * 9 + 2, label=labels[i % len(labels)],
                        source=Source.PREDICTED, score=(i % 97) / 97) for i in range(N_SEGMENTS)]
    doc = AnnotationDocument(ClipAnnotations(segments, [], vocabulary=labels), N_FRAMES)
    editor = SegmentEditor(doc, QUndoStack())
    timeline = TimelineWidget()
    timeline.set_document(doc)
    timeline.set_frame_count(N_FRAMES)
    timeline.set_fps(30)
    timeline.resize(1400, 320)
    timeline.show()
    table = SegmentTable(doc, editor)
    table.source_model.set_fps(30)
    table.resize(420, 320)
    table.show()
    app.processEvents()
    target = doc.ids[N_SEGMENTS // 2]
    names = iter(f"AU{k}" for k in range(10 ** 6))
    step = iter(range(10 ** 6))
    results = [
        ("label edit (table row + timeline labels)",
         timed(lambda: editor.set_label(target, next(names)), app, repeat)),
        ("drag step (one segment edge)",
         timed(lambda: editor.on_segment_edit_requested(target, 9000, 9003 + next(step) % 2,
                                                        False), app, repeat)),
        ("sort the table by score (order flipped each time)",
         timed(lambda: table.sortByColumn(SCORE, Qt.SortOrder(next(step) % 2)), app, repeat)),
        ("redraw timeline, whole clip (apex lines only)", timed(timeline.grab, app, repeat)),
    ]
    timeline.zoom_to(9000, 9300)
    results.append(("redraw timeline, 300 frames (labels, apexes)",
                    timed(timeline.grab, app, repeat)))
    results.append(("zoom to a segment (Z) + redraw",
                    timed(lambda: (timeline.zoom_to(*segment_view(4500, 4505, N_FRAMES)),
                                   timeline.grab()), app, repeat)))
    results.append(("N: next unreviewed proposal",
                    timed(lambda: editor.go_unreviewed(+1, 4000), app, repeat)))
    table.close()
    timeline.close()
    return results


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results = run(args.repeat)
    print(f"Review workflow, {N_FRAMES:,} frames, {N_SEGMENTS:,} labelled segments with "
          f"apexes, timeline 1400×320 px and table 420×320 px offscreen, median of "
          f"{args.repeat}:\n")
    print("| operation | ms |\n|---|---:|")
    for what, ms in results:
        print(f"| {what} | {ms:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
