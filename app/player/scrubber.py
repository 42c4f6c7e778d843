"""The player's scrubbing glue: frame cache, drag previews and the proxy build of one clip.

``Scrubber`` owns, for the open clip, the shared :class:`FrameCache`, the ``ScrubWorker``
that answers every seek with a preview in milliseconds, and the ``ProxyWorker`` that builds
a scrub proxy for long-GOP files in the background. Closing the clip cancels both workers
without waiting (a cancelled proxy build removes its partial file); they are kept referenced
until their threads end.

The exact frame is not its business: the player's ``DecodeWorker`` decodes it and shares
the cache, so a frame decoded once is shown at once the next time.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.player.scrub_worker import ProxyWorker, ScrubWorker
from app.workers import TrackedThread, retire
from meldae.video.frame_cache import DEFAULT_BUDGET_BYTES, FrameCache

log = logging.getLogger(__name__)


class Scrubber(QObject):
    """Previews and the frame cache of the clip open in the player.

    Signals:
        preview_ready(int, int, QImage, str): requested frame, frame shown, image, source.
        proxy_progress(int, int): the proxy build's frames written and total.
        proxy_ready(): previews now come from the proxy.
    """

    preview_ready = Signal(int, int, QImage, str)
    proxy_progress = Signal(int, int)
    proxy_ready = Signal()

    def __init__(self, parent: QObject | None = None, use_proxy: bool | None = None) -> None:
        """Create an idle scrubber.

        Args:
            parent: the Qt parent (the player).
            use_proxy: build and use scrub proxies for long-GOP files; None: yes, unless
                the environment sets ``MELDAE_SCRUB_PROXY=0``.
        """
        super().__init__(parent)
        if use_proxy is None:
            use_proxy = os.environ.get("MELDAE_SCRUB_PROXY", "1").strip() != "0"
        self.use_proxy = use_proxy
        self.cache_budget_bytes = DEFAULT_BUDGET_BYTES   # for the next clip opened
        self.cache: FrameCache | None = None
        self._previews: ScrubWorker | None = None
        self._proxy: ProxyWorker | None = None
        self._retired: set[TrackedThread] = set()

    @property
    def proxy_building(self) -> bool:
        """True while a proxy is being built for the open clip."""
        return self._proxy is not None and self._proxy.isRunning()

    @property
    def proxy_worker(self) -> ProxyWorker | None:
        """The proxy build of the open clip, if one was started."""
        return self._proxy

    def open(self, video_path: str | Path) -> FrameCache:
        """Start serving previews for ``video_path``; returns the new frame cache."""
        self.close()
        self.cache = FrameCache(self.cache_budget_bytes)
        worker = ScrubWorker(video_path, self.cache, use_proxy=self.use_proxy)
        worker.preview_ready.connect(self.preview_ready)
        worker.proxy_needed.connect(self._on_previews_proxy_needed)
        worker.proxy_attached.connect(self.proxy_ready)
        self._previews = worker
        worker.start()
        return self.cache

    def cached(self, frame_idx: int) -> np.ndarray | None:
        """The exact frame ``frame_idx`` if it is in the cache (no decoding)."""
        return self.cache.get(frame_idx) if self.cache is not None else None

    def request(self, frame_idx: int) -> None:
        """Ask for a preview of ``frame_idx`` (answered by ``preview_ready``)."""
        if self._previews is not None:
            self._previews.request(frame_idx)

    def close(self) -> None:
        """Stop previews and any proxy build of the clip (returns at once)."""
        previews, proxy = self._previews, self._proxy
        if previews is not None:   # nothing stale may arrive once the clip is closed
            for signal in (previews.preview_ready, previews.proxy_needed,
                           previews.proxy_attached):
                signal.disconnect()
            retire(self._retired, previews)
        if proxy is not None:
            proxy.progress.disconnect()
            proxy.built.disconnect()
            retire(self._retired, proxy)
        self._previews, self._proxy, self.cache = None, None, None

    def shutdown(self) -> None:
        """Stop every worker and wait for them (application exit and tests)."""
        self.close()
        for worker in list(self._retired):
            worker.shutdown()
        self._retired.clear()

    def _on_previews_proxy_needed(self, path: str) -> None:
        if self._previews is None or self._proxy is not None:
            return
        worker = ProxyWorker(self._previews.video_path, path)
        worker.progress.connect(self.proxy_progress)
        worker.built.connect(self._on_proxy_built)
        self._proxy = worker
        log.info("building a scrub proxy for %s", self._previews.video_path.name)
        worker.start()

    def _on_proxy_built(self, path: str) -> None:
        if self._previews is not None:
            self._previews.attach_proxy(path)
