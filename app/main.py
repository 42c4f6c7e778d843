"""Entry point of MELDAE Studio: ``python main.py [VIDEO_OR_FOLDER]`` / ``meldae-studio``.

With no argument the app reopens the project opened last (File ▸ Open recent), or the demo
project (generated on first start) when nothing was opened before. ``--list-actions``
prints every menu action with its shortcut as JSON and exits. With
``--screenshot PNG`` it waits until the model's scores are drawn, saves a picture of the
whole window and exits (0; 1 when the scores never arrive within ``--timeout`` seconds).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

SCREENSHOT_SETTLE_MS = 400


def build_parser() -> argparse.ArgumentParser:
    """The command line of the application."""
    parser = argparse.ArgumentParser(
        prog="meldae-studio",
        description="Review micro-expression segments in face videos with the MELDAE model.")
    parser.add_argument("path", nargs="?", type=Path, metavar="VIDEO_OR_FOLDER",
                        help="a video or a clip folder (default: the demo project)")
    parser.add_argument("--checkpoint", type=Path, metavar="CKPT",
                        help="model checkpoint (.safetensors + .json); default: the demo model")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda")
    parser.add_argument("--screenshot", type=Path, metavar="PNG",
                        help="save a screenshot once the scores are drawn, then exit")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="S",
                        help="--screenshot: give up after this many seconds (default 300)")
    parser.add_argument("--frame", type=int, default=None,
                        help="--screenshot: seek to this frame first (default: the top score)")
    parser.add_argument("--fit-scores", action="store_true",
                        help="stretch the timeline's S_loc axis to the scores (for weak models)")
    parser.add_argument("--size", default="1400x900", help="window size WxH (default 1400x900)")
    parser.add_argument("--list-actions", action="store_true",
                        help="print every action with its shortcut and menu as JSON, then exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return parser


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.path is not None and not args.path.exists():
        parser.exit(2, f"meldae-studio: error: {args.path}: no such file or folder\n")
    if args.checkpoint is not None:
        weights = args.checkpoint if args.checkpoint.suffix else args.checkpoint.with_suffix(
            ".safetensors")
        if not weights.with_suffix(".safetensors").is_file():
            parser.exit(2, f"meldae-studio: error: {args.checkpoint}: no such checkpoint\n")
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.exit(2, f"meldae-studio: error: --size {args.size!r}: expected WxH\n")
    args.size = (width, height)
    if args.screenshot is not None and args.screenshot.suffix.lower() != ".png":
        parser.exit(2, f"meldae-studio: error: {args.screenshot}: the screenshot must be a .png\n")


class ScreenshotTaker:
    """Saves the window once the scores are complete and the frame is on screen."""

    def __init__(self, window, path: Path, timeout_s: float, frame: int | None) -> None:
        from PySide6.QtCore import QTimer

        self.window, self.path, self.frame = window, path, frame
        self.status = 1
        window.scores_ready.connect(self._on_scores_ready)
        window.scores.model_missing.connect(
            lambda msg: self._fail(f"the model could not be loaded: {msg}"))
        window.scores.device_missing.connect(
            lambda msg: self._fail(f"GPU not available: {msg}; use --device auto or cpu"))
        self._timeout = QTimer(singleShot=True, interval=int(timeout_s * 1000))
        self._timeout.timeout.connect(
            lambda: self._fail(f"no scores within {timeout_s:g} s; no screenshot written"))
        self._timeout.start()

    def _on_scores_ready(self) -> None:
        from PySide6.QtCore import QTimer

        window = self.window
        frame = self.frame
        if frame is None and window.scores.scores is not None:
            import numpy as np

            frame = int(np.nanargmax(np.nan_to_num(window.scores.scores.loc, nan=-1.0)))
        if frame is not None:
            window.player.seek(frame)
        QTimer.singleShot(SCREENSHOT_SETTLE_MS, self._grab)

    def _grab(self) -> None:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        audio_busy = self.window.audio_lanes.running    # waveform / speaking turns
        if self.window.player.shown_frame != self.window.player.current_frame or audio_busy:
            QTimer.singleShot(100, self._grab)   # the decoder has not delivered yet
            return
        self._timeout.stop()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.window.grab().save(str(self.path)):
            print(f"saved {self.path}")
            self.status = 0
        else:
            print(f"meldae-studio: error: {self.path}: could not write the screenshot",
                  file=sys.stderr)
        QApplication.instance().quit()

    def _fail(self, message: str) -> None:
        from PySide6.QtWidgets import QApplication

        print(f"meldae-studio: error: {message}", file=sys.stderr)
        self.status = 1
        QApplication.instance().quit()


def main(argv: list[str] | None = None) -> int:
    """Run the application; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.screenshot is not None or args.list_actions:
        # The screenshot must also work with a display; offscreen keeps it off the screen.
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MELDAE Studio")
    _apply_style(app)
    window = MainWindow(checkpoint=args.checkpoint, device=args.device)
    if args.list_actions:
        return _list_actions(window)
    window.resize(*args.size)
    if args.fit_scores:
        window.timeline.set_fit_scores(True)
    taker = None
    if args.screenshot is not None:
        window.remember_recent = False
        taker = ScreenshotTaker(window, args.screenshot, args.timeout, args.frame)
    window.show()
    _open_start_path(window, args.path)
    status = app.exec()
    window.shutdown()
    return taker.status if taker is not None else int(status)


def _open_start_path(window, path: Path | None) -> None:
    """The path given, else the project opened last, else the demo project."""
    if path is None:
        from meldae.review import RecentPaths

        path = RecentPaths().last()
        if path is not None:
            logging.getLogger(__name__).info("reopening %s (the last project)", path)
    if path is None:
        window.review.start_demo()
    else:
        window.open_path(path)


def _list_actions(window) -> int:
    import json

    from app.window_menus import window_catalog

    print(json.dumps(window_catalog(window), indent=1, ensure_ascii=False))
    window.shutdown()
    return 0


def _apply_style(app) -> None:
    from meldae.paths import resources_dir

    style = resources_dir() / "style.qss"
    if style.is_file():
        app.setStyleSheet(style.read_text(encoding="utf-8"))
