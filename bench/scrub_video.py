"""The test file of ``bench/scrub.py``: a shared clip re-encoded as 1080p60 H.264, keyint 120.

Every output frame is a slightly different crop of the source (a slow pan and zoom), scaled
to 1920x1080, so no two frames are identical and the encoder has real motion to code, as in
camera footage. x264 ``keyint=120`` at 60 fps puts a keyframe every 2 s, with B-frames (the
x264 default), which is what makes random seeks in long-GOP files slow.

    python bench/scrub_video.py OUT.mp4 [--seconds 25] [--source VIDEO]
"""

from __future__ import annotations

import argparse
import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

log = logging.getLogger(__name__)

DEFAULT_SOURCE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "video"
                  / "WolfgangLanger_Pexels.mp4")
WIDTH, HEIGHT, FPS, KEYINT = 1920, 1080, 60, 120


def _source_frames(source: Path) -> list[np.ndarray]:
    """Every frame of ``source`` as RGB (the shared clips are small: 640x360, ~500 frames)."""
    with av.open(str(source)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def make_scrub_video(out: Path, seconds: float = 25.0, source: Path = DEFAULT_SOURCE,
                     preset: str = "veryfast") -> Path:
    """Write the benchmark's 1080p60 long-GOP file to ``out`` (skipped when it exists).

    Args:
        out: the file to write (``.mp4``).
        seconds: its duration; the source loops back and forth when shorter.
        source: the clip to upscale.
        preset: x264 speed preset (it changes the size, not the GOP structure).

    Returns:
        ``out``.
    """
    if out.is_file():
        return out
    frames = _source_frames(source)
    src_h, src_w = frames[0].shape[:2]
    n_out = int(round(seconds * FPS))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part.mp4")
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.time_base = Fraction(1, FPS)
        stream.options = {"preset": preset, "crf": "20",
                          "x264-params": f"keyint={KEYINT}:min-keyint={KEYINT}:scenecut=0"}
        for i in range(n_out):
            # Ping-pong through the source at its own speed (24 fps played at 60 fps output).
            pos = int(i * 24 / FPS) % (2 * len(frames) - 2)
            src = frames[pos if pos < len(frames) else 2 * len(frames) - 2 - pos]
            zoom = 0.85 + 0.1 * np.sin(i / 200.0)              # slow zoom between 0.75-0.95
            w, h = int(src_w * zoom) & ~1, int(src_h * zoom) & ~1
            x0 = int((src_w - w) * (0.5 + 0.5 * np.sin(i / 150.0)))
            y0 = int((src_h - h) * (0.5 + 0.5 * np.cos(i / 170.0)))
            crop = np.ascontiguousarray(src[y0:y0 + h, x0:x0 + w])
            frame = av.VideoFrame.from_ndarray(crop, format="rgb24").reformat(
                WIDTH, HEIGHT, format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line: write the file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args(argv)
    print(make_scrub_video(args.out, args.seconds, args.source))


if __name__ == "__main__":
    main()
