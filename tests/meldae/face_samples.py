"""Small inputs for the face tests (imported by path: importlib mode)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from meldae.faces.track import TrackedBox


def boxes(params, track_id=0):
    """Tracked boxes from ``(centre x, centre y, size)`` per frame."""
    return [TrackedBox(i, (cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2), track_id)
            for i, (cx, cy, s) in enumerate(params)]


def write_blank_video(path: Path, n: int = 12) -> Path:
    """A small MPEG-4 video of ``n`` grey frames without a face."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for i in range(n):
            img = np.full((64, 96, 3), 20 * (i % 10), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
