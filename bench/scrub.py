"""Scrubbing on a 1080p60 long-GOP file: random seeks, drag previews, rest to exact frame.

Makes its own test file (``bench/scrub_video.py``: WolfgangLanger_Pexels.mp4 upscaled to
1920x1080 at 60 fps, x264 keyint 120 = a keyframe every 2 s, B-frames), then measures:

1. ``VideoReader`` random seek (cold, no cache), with the seek as it was before the scrub
   work (to the keyframe's dts, which lands one GOP early in MP4) and as it is now;
2. the scrub proxy's build time;
3. drags of the playhead in the real ``PlayerWidget`` (offscreen): a request every 16 ms
   (a 60 Hz mouse), sweeping between random positions for 1.5 s, then resting 1 s. Per
   request served: the time from ``seek`` to the image reaching the widget; per rest: the
   time from the last request to the exact frame. With keyframe stand-ins only, and with
   the proxy.

    QT_QPA_PLATFORM=offscreen python bench/scrub.py [--work /tmp/meldae-scrub] [--drags 8]
    QT_QPA_PLATFORM=offscreen python bench/scrub.py --screenshot docs/screenshots/scrub-stand-in.png
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scrub_video import make_scrub_video  # noqa: E402

TICK_MS = 16          # a 60 Hz mouse
DRAG_S, REST_S = 1.5, 1.0


def stats(values: list[float]) -> str:
    """``median / p95`` in ms."""
    if not values:
        return "–"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"{statistics.median(ordered):.0f} / {p95:.0f}"


def spin(seconds: float, until=lambda: False) -> None:
    """Run the Qt event loop for ``seconds`` or until ``until()`` holds."""
    from PySide6.QtCore import QCoreApplication

    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and not until():
        QCoreApplication.processEvents()
        time.sleep(0.001)


def random_seeks(video: Path, n: int, legacy: bool) -> list[float]:
    """Cold random reads of ``n`` frames (ms each); ``legacy``: seek to the keyframe's dts."""
    from meldae.video import VideoReader
    from meldae.video.index import FrameIndex

    original = FrameIndex.seek_candidates
    if legacy:
        FrameIndex.seek_candidates = lambda self, i: (
            [] if self.seek_ts(i) is None else [self.seek_ts(i)])
    try:
        reader = VideoReader(video, cache_bytes=1)
        rng = random.Random(1)
        times = []
        for _ in range(n):
            frame_idx = rng.randrange(len(reader))
            t0 = time.perf_counter()
            reader.read(frame_idx)
            times.append((time.perf_counter() - t0) * 1000)
        reader.close()
        return times
    finally:
        FrameIndex.seek_candidates = original


def build_proxy(video: Path) -> float:
    """Build the scrub proxy into the cache (seconds); 0 when it was there."""
    from meldae.video import VideoReader
    from meldae.video.proxy import iter_build_proxy, proxy_path

    out = proxy_path(video)
    if out.is_file():
        return 0.0
    t0 = time.perf_counter()
    for _ in iter_build_proxy(VideoReader(video), out):
        pass
    return time.perf_counter() - t0


class DragRecorder:
    """Times each request to its image (a stand-in or the exact frame) and rests to exact."""

    def __init__(self) -> None:
        self.asked: dict[int, float] = {}     # the newest request only: older ones lost
        self.exact_at: dict[int, float] = {}
        self.served: list[float] = []         # ms, request -> image
        self.offsets: list[int] = []          # frames between the image and the request
        self.sources: dict[str, int] = {}
        self.rests: list[float] = []          # ms, last request -> exact frame
        self.requests = 0

    def request(self, frame_idx: int) -> float:
        """Note a request (it supersedes the previous one); returns its time."""
        self.asked.clear()
        self.exact_at.clear()
        self.requests += 1
        self.asked[frame_idx] = time.perf_counter()
        return self.asked[frame_idx]

    def on_preview(self, requested: int, shown: int, source: str) -> None:
        """``PlayerWidget.preview_shown``."""
        self._served(requested, abs(shown - requested), source)

    def on_exact(self, frame_idx: int) -> None:
        """``PlayerWidget.frame_shown``."""
        self.exact_at[frame_idx] = time.perf_counter()
        self._served(frame_idx, 0, "exact")

    def _served(self, frame_idx: int, offset: int, source: str) -> None:
        if frame_idx in self.asked:
            self.served.append((time.perf_counter() - self.asked.pop(frame_idx)) * 1000)
            self.offsets.append(offset)
            self.sources[source] = self.sources.get(source, 0) + 1


def drag(player, recorder: DragRecorder, start: int, end: int) -> None:
    """One drag from ``start`` to ``end`` at 60 Hz, then the rest (recorded)."""
    steps = int(DRAG_S * 1000 / TICK_MS)
    frame_idx, last_request = start, time.perf_counter()
    for step in range(steps + 1):
        frame_idx = round(start + (end - start) * step / steps)
        last_request = recorder.request(frame_idx)
        player.seek(frame_idx)
        spin(TICK_MS / 1000)
    spin(REST_S * 3, lambda: frame_idx in recorder.exact_at)
    if frame_idx in recorder.exact_at:
        recorder.rests.append((recorder.exact_at[frame_idx] - last_request) * 1000)
    spin(REST_S)


def drag_session(video: Path, drags: int, use_proxy: bool, wait_proxy: bool = True) -> dict:
    """Drag the playhead of a real PlayerWidget ``drags`` times; latencies in ms."""
    from PySide6.QtWidgets import QApplication

    from app.player.player_widget import PlayerWidget

    app = QApplication.instance() or QApplication([])
    player = PlayerWidget()
    player.scrubber.use_proxy = use_proxy
    player.resize(960, 600)
    player.show()
    recorder = DragRecorder()
    player.preview_shown.connect(recorder.on_preview)
    player.frame_shown.connect(recorder.on_exact)
    attached: list[bool] = []
    player.scrubber.proxy_ready.connect(lambda: attached.append(True))
    player.open_video(video)
    spin(30, lambda: player.shown_frame == 0)
    if use_proxy and wait_proxy:   # the proxy is built already: wait until it is in use
        spin(10, lambda: bool(attached))
    rng = random.Random(7)
    for _ in range(drags):
        drag(player, recorder, rng.randrange(player.frame_count),
             rng.randrange(player.frame_count))
    cache_mb = player.scrubber.cache.budget_bytes / 2**20
    player.shutdown()
    player.deleteLater()
    app.processEvents()
    return dict(served=recorder.served, requests=recorder.requests, rests=recorder.rests,
                sources=recorder.sources, offsets=recorder.offsets, cache_mb=cache_mb)


def screenshot(video: Path, out: Path, frame_idx: int = 845) -> None:
    """Save the player showing a keyframe stand-in (no proxy) for ``frame_idx``, 720 px wide."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from app.player.player_widget import PlayerWidget

    app = QApplication.instance() or QApplication([])
    player = PlayerWidget()
    player.scrubber.use_proxy = False
    player.resize(900, 560)
    player.show()
    shown: list[int] = []
    player.preview_shown.connect(lambda requested, *_: shown.append(requested))
    player.open_video(video)
    spin(60, lambda: player.shown_frame == 0)
    player.seek(frame_idx)
    spin(10, lambda: frame_idx in shown)
    player.grab().toImage().scaledToWidth(
        720, Qt.TransformationMode.SmoothTransformation).save(str(out))
    player.shutdown()
    app.processEvents()


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/meldae-scrub"))
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--seeks", type=int, default=40)
    parser.add_argument("--drags", type=int, default=8)
    parser.add_argument("--screenshot", type=Path, help="only save the stand-in screenshot")
    args = parser.parse_args(argv)
    os.environ["MELDAE_CACHE_DIR"] = str(args.work / "cache")
    video = make_scrub_video(args.work / "scrub_1080p60.mp4", args.seconds)
    if args.screenshot:
        screenshot(video, args.screenshot)
        return
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}; file: {video.name} "
          f"({video.stat().st_size / 2**20:.1f} MiB)\n")
    legacy = random_seeks(video, args.seeks, legacy=True)
    now = random_seeks(video, args.seeks, legacy=False)
    no_proxy = drag_session(video, args.drags, use_proxy=False)
    # The first minute after opening a long-GOP clip: the proxy is being built meanwhile.
    building = drag_session(video, max(2, args.drags // 2), use_proxy=True, wait_proxy=False)
    build_s = build_proxy(video)
    with_proxy = drag_session(video, args.drags, use_proxy=True)
    print("| measurement | median / p95 (ms) | notes |")
    print("|---|---|---|")
    print(f"| random seek, `VideoReader`, seek to keyframe dts (before) | {stats(legacy)} | "
          f"{len(legacy)} cold reads |")
    print(f"| random seek, `VideoReader`, seek to keyframe pts (now) | {stats(now)} | "
          f"{len(now)} cold reads |")
    for name, run in (("keyframe stand-ins, no proxy", no_proxy),
                      ("while the proxy is being built", building),
                      ("with the proxy", with_proxy)):
        served = len(run["served"]) / max(1, run["requests"])
        print(f"| drag: request → image, {name} | {stats(run['served'])} | "
              f"{served:.0%} of {run['requests']} requests served (the rest superseded); "
              f"sources {run['sources']}; stand-in off by median "
              f"{statistics.median(run['offsets'] or [0]):.0f} frames |")
        print(f"| drag rests → exact frame, {name} | {stats(run['rests'])} | "
              f"{len(run['rests'])} rests |")
    print(f"\nproxy build: {build_s:.1f} s (0 = reused); frame cache budget "
          f"{with_proxy['cache_mb']:.0f} MiB")


if __name__ == "__main__":
    main()
