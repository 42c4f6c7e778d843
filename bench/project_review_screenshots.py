"""Make the user guide's screenshots of the project review tools (docs/screenshots/project-*.png).

Builds a two-clip project from the shared real videos (``../shared/data/video``), with two
annotators' files of one clip side by side, scores the first clip with the bundled demo
model (cached), then grabs the Review next and Progress docks, the adjudication view and the
agreement dialog. Run from the checkout::

    QT_QPA_PLATFORM=offscreen python bench/project_review_screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ROOT.parent / "shared" / "data" / "video"


def build_project(folder: Path) -> None:
    """Two real clips; alice's and bob's files of the first; a reference file in progress."""
    from meldae.annotations import ClipAnnotations, ReviewState, Segment, Source, save_eaf
    from meldae.review.clip_data import video_timing

    for name in ("WolfgangLanger_Pexels.mp4", "single_face.mp4"):
        shutil.copy(VIDEOS / name, folder / name)
    fps, _ = video_timing(folder / "WolfgangLanger_Pexels.mp4")
    alice = ClipAnnotations(segments=[Segment(60, 68, label="micro:happy"), Segment(150, 158),
                                      Segment(300, 309, label="micro:disgust")],
                            speaking=[Segment(0, 210), Segment(260, 471)])
    bob = ClipAnnotations(segments=[Segment(62, 70, label="micro:happy"), Segment(150, 158),
                                    Segment(402, 410)],
                          speaking=[Segment(0, 230), Segment(250, 471)])
    save_eaf(alice, folder / "WolfgangLanger_Pexels.alice.eaf", fps, annotator="alice")
    save_eaf(bob, folder / "WolfgangLanger_Pexels.bob.eaf", fps, annotator="bob")
    save_eaf(ClipAnnotations(segments=[
        Segment(60, 68, annotator="alice"),
        Segment(120, 126, source=Source.PREDICTED, review=ReviewState.REJECTED, annotator="alice")],
        speaking=[Segment(0, 210, annotator="alice")]), folder / "single_face.eaf", fps)


def main(out: Path) -> int:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from meldae.review.adjudicate import Side

    app = QApplication.instance() or QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="meldae-shots-"))
    os.environ.setdefault("MELDAE_CONFIG_DIR", str(work / "config"))
    folder = work / "project"
    folder.mkdir()
    build_project(folder)
    window = MainWindow(device="cpu")
    window.resize(1500, 900)
    window.show()

    def wait(signal=None, ms=600_000, until=None) -> None:
        loop = QEventLoop()
        if signal is not None:
            signal.connect(loop.quit)
        if until is not None:
            timer = QTimer(interval=100)
            timer.timeout.connect(lambda: until() and loop.quit())
            timer.start()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    window.open_path(folder)
    wait(window.scores_ready)
    controller = window.project_review
    controller.annotator.set_name("carol")
    controller.review_next.show()
    controller.progress.show()
    wait(until=lambda: bool(controller.review_next.suggestions) and controller.progress.progress is not None)
    controller.next_suggestion()
    wait(ms=1500)
    out.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out / "project-review-docks.png"))
    view = controller.open_adjudication()
    view.resize(1300, 700)
    view.table.selectRow(0)
    view.decide(Side.A)
    view.decide(Side.B)
    view.table.selectRow(2)
    wait(ms=800)
    view.grab().save(str(out / "project-adjudication.png"))
    dialog = controller.open_agreement()
    dialog.compute()
    wait(until=lambda: dialog.report is not None, ms=60_000)
    dialog.resize(1100, 420)
    wait(ms=300)
    dialog.grab().save(str(out / "project-agreement.png"))
    print(f"wrote {out}/project-*.png")
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
