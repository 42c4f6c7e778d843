"""Previews while the playhead is dragged: an image at once, the exact frame later.

While the annotator drags the playhead, every mouse move asks for a new frame, and an exact
frame of a long-GOP file costs a seek plus up to a GOP of decoding (hundreds of ms at
1080p). ``ScrubPreviewer.preview`` answers in milliseconds with the best image it can get
cheaply, in this order:

1. the exact frame, if the frame cache (``FrameCache``) holds it;
2. the frame itself from the scrub proxy (``meldae.video.proxy``), when one is attached:
   the right frame at reduced size;
3. otherwise the nearest of: a cached frame, or a keyframe (decoding one keyframe needs no
   other frame; keyframe images are kept small, in a bounded cache of their own).

Each ``Preview`` says which frame it shows and whether it is the exact full-size frame; the
player shows the exact one when the drag rests. Not thread-safe: one previewer per thread
(the frame cache it reads is shared and locked).
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meldae.video.frame_cache import FrameCache
from meldae.video.reader import VideoReader

log = logging.getLogger(__name__)

PREVIEW_FIT = (960, 540)                 # keyframe previews fit inside this
KEYFRAME_BUDGET_BYTES = 64 * 1024 * 1024  # memory for keyframe previews


@dataclass(frozen=True)
class Preview:
    """The image shown for a scrub request."""

    requested: int       # the frame asked for
    frame_idx: int       # the frame the image shows (== requested unless a stand-in)
    image: np.ndarray    # (H, W, 3) uint8 RGB, read-only; may be smaller than the video
    source: str          # "cache", "proxy" or "keyframe"

    @property
    def exact(self) -> bool:
        """True when this is the requested frame at full size (no exact decode needed)."""
        return self.source == "cache" and self.frame_idx == self.requested


class ScrubPreviewer:
    """Cheap stand-in images for scrub requests (see the module docstring)."""

    def __init__(self, video_path: str | Path, cache: FrameCache,
                 keyframe_budget_bytes: int = KEYFRAME_BUDGET_BYTES) -> None:
        """Open the video for keyframe decoding.

        Args:
            video_path: the original video.
            cache: the shared cache of exact frames (read only here).
            keyframe_budget_bytes: memory for the keyframe previews.

        Raises:
            VideoError: the video cannot be opened.
        """
        self._reader = VideoReader(video_path, cache_bytes=1)
        self._keyframes = self._reader.keyframes
        self._cache = cache
        self._thumbs = FrameCache(keyframe_budget_bytes)
        self._proxy: VideoReader | None = None

    def __len__(self) -> int:
        return len(self._reader)

    @property
    def video_path(self) -> Path:
        """The original video."""
        return self._reader.path

    @property
    def keyframes(self) -> list[int]:
        """The original's keyframe indices."""
        return self._keyframes

    @property
    def has_proxy(self) -> bool:
        """True once a proxy is attached."""
        return self._proxy is not None

    def attach_proxy(self, proxy: VideoReader) -> None:
        """Use ``proxy`` (frame-for-frame the same video, smaller) from now on."""
        if len(proxy) != len(self._reader):
            raise ValueError(f"the proxy has {len(proxy)} frames, the video "
                             f"{len(self._reader)}")
        if self._proxy is not None:
            self._proxy.close()
        self._proxy = proxy

    def preview(self, frame_idx: int) -> Preview:
        """The best image for ``frame_idx`` that is cheap to get now."""
        frame_idx = max(0, min(int(frame_idx), len(self._reader) - 1))
        exact = self._cache.get(frame_idx)
        if exact is not None:
            return Preview(frame_idx, frame_idx, exact, "cache")
        if self._proxy is not None:
            return Preview(frame_idx, frame_idx, self._proxy[frame_idx], "proxy")
        key = self._nearest_keyframe(frame_idx)
        cached = self._cache.nearest(frame_idx)
        if cached is not None and abs(cached[0] - frame_idx) <= abs(key - frame_idx):
            return Preview(frame_idx, cached[0], cached[1], "cache")
        self._thumbs.set_center(frame_idx)
        thumb = self._thumbs.get(key)
        if thumb is None:
            thumb = self._reader.read(key, fit=PREVIEW_FIT)
            self._thumbs.put(key, thumb)
        return Preview(frame_idx, key, thumb, "keyframe")

    def _nearest_keyframe(self, frame_idx: int) -> int:
        keys = self._keyframes
        pos = bisect.bisect_right(keys, frame_idx)
        candidates = keys[max(0, pos - 1):pos + 1]
        return min(candidates, key=lambda k: (abs(k - frame_idx), k))

    def close(self) -> None:
        """Release the decoders and the keyframe previews."""
        self._reader.close()
        if self._proxy is not None:
            self._proxy.close()
            self._proxy = None
        self._thumbs.clear()
