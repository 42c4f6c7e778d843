"""Small synthetic videos for the scrubbing tests of meldae.video and the app's player.

Imported from test modules after putting ``tests/`` on ``sys.path`` (importlib mode).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def pattern_frame(i: int, size: tuple[int, int], bar: int = 3) -> np.ndarray:
    """Frame ``i``, unlike every other: a bar moving over a gradient, and a row marker."""
    w, h = size
    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[..., 2] = np.linspace(0, 200, w, dtype=np.uint8)[None, :]
    img[:, (3 * i) % w: (3 * i) % w + bar, 0] = 255
    img[(2 * i) % h, :, 1] = 220
    return img


def write_long_gop(path: Path, n_frames: int, keyint: int, size: tuple[int, int],
                   x264_extra: str = "", bar: int = 3) -> Path:
    """``n_frames`` of H.264 at 30 fps (MP4) with a keyframe every ``keyint`` frames."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.time_base = Fraction(1, 30)
        params = f"keyint={keyint}:min-keyint={keyint}:scenecut=0" + x264_extra
        stream.options = {"x264-params": params}
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(pattern_frame(i, size, bar), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
