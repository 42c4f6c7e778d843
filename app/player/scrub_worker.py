"""The two workers behind fast scrubbing: drag previews, and building the scrub proxy.

``ScrubWorker`` wraps :class:`meldae.video.scrub.ScrubPreviewer` in a thread with a
newest-wins request slot and turns each preview into a QImage signal. It also decides, once
the video is open, whether the clip has a scrub proxy already (then it uses it) or needs one
(then it says so; the player starts a ``ProxyWorker``, and hands the finished proxy back).

``ProxyWorker`` runs :func:`meldae.video.proxy.iter_build_proxy`, which stops between two
frames when the worker is cancelled (the clip closed) and then leaves no partial file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.player.decode_worker import rgb_to_qimage
from app.player.latest import LatestSlot
from app.workers import TrackedThread
from meldae.video import VideoError, VideoReader
from meldae.video.frame_cache import FrameCache
from meldae.video.proxy import iter_build_proxy, needs_proxy, open_proxy, proxy_path
from meldae.video.scrub import ScrubPreviewer

PROGRESS_EVERY_S = 0.25     # the proxy build's progress signals, at most this often

log = logging.getLogger(__name__)

_BACKGROUND_NICE = 10   # the proxy build yields the CPU to decoding, scoring and the GUI


class ScrubWorker(TrackedThread):
    """Serves the newest scrub request with a cheap preview image.

    Signals:
        preview_ready(int, int, QImage, str): requested frame, frame shown, image, source
            ("cache", "proxy" or "keyframe").
        proxy_needed(str): the video is long-GOP and has no proxy yet; build it at this path.
        proxy_attached(): previews come from the proxy from now on.
    """

    preview_ready = Signal(int, int, QImage, str)
    proxy_needed = Signal(str)
    proxy_attached = Signal()

    def __init__(self, video_path: str | Path, cache: FrameCache, use_proxy: bool = True,
                 parent: QObject | None = None) -> None:
        """Create the worker (``start()`` opens the video).

        Args:
            video_path: the original video.
            cache: the exact frames decoded so far (shared with the DecodeWorker).
            use_proxy: look for, and ask for, a scrub proxy.
            parent: the Qt parent.
        """
        super().__init__(parent)
        self.video_path = Path(video_path)
        self._cache = cache
        self._use_proxy = use_proxy
        self._slot: LatestSlot[int] = LatestSlot()
        self._proxy_slot: LatestSlot[Path] = LatestSlot()

    def request(self, frame_idx: int) -> None:
        """Ask for a preview of ``frame_idx``; replaces any request not served yet."""
        self._slot.put(int(frame_idx))

    def attach_proxy(self, path: str | Path) -> None:
        """Use the proxy at ``path`` from the next preview on (opened on the worker's thread)."""
        self._proxy_slot.put(Path(path))

    def cancel(self) -> None:
        """Stop after the preview in hand."""
        super().cancel()
        self._slot.close()

    def run(self) -> None:  # noqa: D102 (QThread entry point)
        try:
            previewer = ScrubPreviewer(self.video_path, self._cache)
        except (VideoError, OSError) as exc:
            log.warning("no scrub previews: %s", exc)   # the DecodeWorker reports it
            return
        try:
            if self._use_proxy:
                self._find_proxy(previewer)
            while (frame_idx := self._slot.take()) is not None:
                self._take_proxy(previewer)
                if 0 <= frame_idx < len(previewer):
                    preview = previewer.preview(frame_idx)
                    self.preview_ready.emit(preview.requested, preview.frame_idx,
                                            rgb_to_qimage(preview.image), preview.source)
                self._slot.done()
        except (VideoError, OSError, ValueError) as exc:
            log.warning("scrub previews stopped: %s", exc)
        finally:
            previewer.close()

    def _find_proxy(self, previewer: ScrubPreviewer) -> None:
        if not needs_proxy(previewer.keyframes, len(previewer)):
            return
        path = proxy_path(self.video_path)
        proxy = open_proxy(path, len(previewer))
        if proxy is None:
            self.proxy_needed.emit(str(path))
        else:
            previewer.attach_proxy(proxy)
            self.proxy_attached.emit()

    def _take_proxy(self, previewer: ScrubPreviewer) -> None:
        path = self._proxy_slot.take(block=False)
        if path is None:
            return
        self._proxy_slot.done()
        proxy = open_proxy(path, len(previewer))
        if proxy is not None:
            previewer.attach_proxy(proxy)
            self.proxy_attached.emit()


class ProxyWorker(TrackedThread):
    """Builds a video's scrub proxy in the background.

    Signals:
        progress(int, int): frames written, frames in all.
        built(str): the proxy is complete at this path.
        failed(str): the proxy could not be built (previews stay on keyframes).
    """

    progress = Signal(int, int)
    built = Signal(str)
    failed = Signal(str)

    def __init__(self, video_path: str | Path, out: str | Path,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.video_path = Path(video_path)
        self.out = Path(out)

    def run(self) -> None:  # noqa: D102 (QThread entry point)
        _lower_priority()
        try:
            reader = VideoReader(self.video_path, cache_bytes=1)
        except (VideoError, OSError) as exc:
            self.failed.emit(str(exc))
            return
        builder = iter_build_proxy(reader, self.out, cancelled=lambda: self.cancel_requested)
        last = 0.0
        try:
            for step in builder:
                # a few progress signals a second, not one a frame: each emit from this
                # thread is a chance to meet the GUI thread's garbage collection inside
                # PySide (a test run hung there: GC holding the GIL, emit holding Qt's lock)
                now = time.monotonic()
                if now - last >= PROGRESS_EVERY_S or step.done == step.total:
                    last = now
                    self.progress.emit(step.done, step.total)
            if self.out.is_file() and not self.cancel_requested:
                self.built.emit(str(self.out))
        except (VideoError, OSError) as exc:
            log.warning("scrub proxy not built: %s", exc)
            self.failed.emit(str(exc))
        finally:
            builder.close()
            reader.close()


def _lower_priority() -> None:
    """Give this thread (and the codec threads it starts) the CPU last: a background job.

    Linux applies nice values per thread; elsewhere this does nothing.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _BACKGROUND_NICE)
    except (AttributeError, OSError) as exc:   # not Linux, or not permitted
        log.debug("proxy build keeps its priority: %s", exc)
