"""Benchmark video decoding and the face pipeline on real videos.

Measures, per video: sequential decode frames/s, random-seek latency (median and p95, no
frame cache), the face pipeline's frames/s per detector (detect + track + smooth + crop; no
crop cache; timed on the first configuration, the others replay its detections), the frames
with a face, and the crop jitter of each stabilisation ("raw": none; "v1": the version-1
smoother, one radius for position and size; "stabilised": today's default without
landmarks; "aligned": with dlib's 5-point landmarks, when installed):

* crop centre / scale jitter: frame-to-frame change of the crop square's centre / side, in
  crop pixels (mean, p95, max), and the side's range in source pixels;

* box jitter: the std of the frame-to-frame displacement of the crop box centre, divided by
  the face size (the unsmoothed boxes are the tracker's raw detections);
* content jitter: the mean and 90th percentile of the frame-to-frame shift of the crop's
  content in crop pixels (phase correlation of consecutive crops), raw vs stabilised.

Usage: python bench/video_faces.py VIDEO [VIDEO ...] [--json OUT] [--detectors dlib haar]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from meldae.faces import FaceSettings, face_frames, resolve_align  # noqa: E402
from meldae.faces.detect import FaceDetector, dlib_available  # noqa: E402
from meldae.video import VideoReader  # noqa: E402


def bench_decode(path: Path, seeks: int, seed: int = 0) -> dict:
    """Sequential decode rate and random-seek latency of one video."""
    t0 = time.perf_counter()
    reader = VideoReader(path, cache_bytes=0)
    open_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = sum(1 for _ in reader.iter_frames())
    decode_fps = n / (time.perf_counter() - t0)
    rng = random.Random(seed)
    latencies = []
    for _ in range(seeks):
        i = rng.randrange(n)
        t0 = time.perf_counter()
        reader[i]
        latencies.append(time.perf_counter() - t0)
    ms = np.array(latencies) * 1000
    return {"frames": n, "fps": str(reader.fps), "size": list(reader.size),
            "open_s": round(open_s, 4), "decode_fps": round(decode_fps, 1),
            "seek_ms_median": round(float(np.median(ms)), 1),
            "seek_ms_p95": round(float(np.percentile(ms, 95)), 1)}


def _shift(a: np.ndarray, b: np.ndarray, window: np.ndarray) -> float:
    """Translation (pixels) between two crops by phase correlation."""
    ga = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gb = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float32)
    (dx, dy), _ = cv2.phaseCorrelate(ga, gb, window)
    return float(np.hypot(dx, dy))


class ReplayDetector:
    """Detects with ``FaceDetector`` on the first pass and replays its results afterwards.

    Every configuration then sees the same detections (only the first pass is timed).
    """

    def __init__(self, name: str) -> None:
        self.detector = FaceDetector(name)
        self.name = self.detector.name
        self.found: list = []
        self._next = 0

    def rewind(self) -> None:
        """Start replaying from the first frame."""
        self._next = 0

    def __call__(self, rgb: np.ndarray) -> list:
        if self._next == len(self.found):
            self.found.append(self.detector(rgb))
        self._next += 1
        return self.found[self._next - 1]


def run_pipeline(path: Path, settings: FaceSettings, max_frames: int | None,
                 detector: ReplayDetector | None = None) -> dict:
    """Run the face pipeline once; frames/s, found frames, box and content jitter."""
    reader = VideoReader(path)
    stop = min(len(reader), max_frames) if max_frames else len(reader)
    window = cv2.createHanningWindow((settings.crop_size,) * 2, cv2.CV_32F)
    boxes, missing, shifts = [], [], []
    prev = None
    if detector is not None:
        detector.rewind()
    t0 = time.perf_counter()
    for face in face_frames(reader.iter_frames(0, stop), reader.size, settings, detector):
        if face.face_found:
            boxes.append((face.frame_idx, face.box))
            if prev is not None and prev[0] == face.frame_idx - 1:
                shifts.append(_shift(prev[1], face.crop, window))
            prev = (face.frame_idx, face.crop)
        else:
            missing.append(face.frame_idx)
            prev = None
    elapsed = time.perf_counter() - t0
    return {"frames": stop, "pipeline_fps": round(stop / elapsed, 1),
            "found": stop - len(missing), "missing_frames": missing,
            "box_jitter": _box_jitter(boxes, settings.margin),
            **crop_jitter(boxes, settings.crop_size),
            "content_shift_px_mean": round(float(np.mean(shifts)), 3) if shifts else None,
            "content_shift_px_p90": round(float(np.percentile(shifts, 90)), 3) if shifts else None}


def crop_jitter(boxes: list, crop_size: int) -> dict:
    """Frame-to-frame changes of the crop square, in crop pixels (consecutive frames only).

    centre: the displacement of the square's centre; scale: the change of its side, both
    times ``crop_size / side`` (how far the content moves in the crop); side: the range of
    the square's side in source pixels. Mean, 95th percentile and maximum.
    """
    centre, scale = [], []
    for (i, a), (j, b) in zip(boxes, boxes[1:]):
        if j == i + 1:
            side = a[2] - a[0]
            d = np.hypot((b[0] + b[2] - a[0] - a[2]) / 2, (b[1] + b[3] - a[1] - a[3]) / 2)
            centre.append(d * crop_size / side)
            scale.append(abs((b[2] - b[0]) - side) * crop_size / side)
    if not centre:
        return {}
    sides = [bx[2] - bx[0] for _, bx in boxes]
    out = {"side_px_min": round(float(min(sides)), 1), "side_px_max": round(float(max(sides)), 1)}
    for name, v in (("centre", np.array(centre)), ("scale", np.array(scale))):
        out[f"{name}_jitter_px"] = [round(float(v.mean()), 2),
                                    round(float(np.percentile(v, 95)), 2), round(float(v.max()), 2)]
    return out


def _box_jitter(boxes: list, margin: float) -> float | None:
    """Std of consecutive box-centre displacement over face size (consecutive frames only)."""
    steps = []
    for (i, a), (j, b) in zip(boxes, boxes[1:]):
        if j == i + 1:
            face = (a[2] - a[0]) / (1 + 2 * margin)
            d = np.hypot((b[0] + b[2] - a[0] - a[2]) / 2, (b[1] + b[3] - a[1] - a[3]) / 2)
            steps.append(d / face)
    return round(float(np.std(steps)), 5) if steps else None


def configurations(crop_size: int, detector: str) -> dict[str, FaceSettings]:
    """The stabilisations compared: none, the version-1 smoother, today's, with landmarks.

    All search the whole frame in every frame (``roi_face_px=0``), so that they can replay
    the same detections; ``searched_near`` measures the default search near the face.
    """
    base = FaceSettings(crop_size=crop_size, detector=detector, align="off", roi_face_px=0)
    configs = {"raw": replace(base, smooth_radius=0),
               "v1": replace(base, scale_radius=base.smooth_radius, median_radius=0),
               "stabilised": base}
    if resolve_align("auto") == "landmarks":
        configs["aligned"] = replace(base, align="landmarks")
    return configs


def searched_near(crop_size: int, detector: str) -> FaceSettings:
    """The default settings (search near the tracked face, landmarks when installed)."""
    return FaceSettings(crop_size=crop_size, detector=detector)


def make_upscaled(src: Path, out: Path, size: tuple[int, int] = (2560, 1440)) -> Path:
    """Write an H.264 copy of ``src`` upscaled to ``size`` (stands in for 1440p camera files)."""
    import av

    reader = VideoReader(src)
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=reader.fps,
                                      options={"crf": "20", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for _, frame in reader.iter_frames():
            big = cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC)
            for packet in stream.encode(av.VideoFrame.from_ndarray(big, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--detectors", nargs="+", default=["dlib", "haar"])
    parser.add_argument("--seeks", type=int, default=50, help="random reads per video")
    parser.add_argument("--max-frames", type=int, default=None,
                        help="face pipeline: at most this many frames per video")
    parser.add_argument("--crop-size", type=int, default=224)
    parser.add_argument("--upscaled", type=Path, default=None, metavar="OUT.mp4",
                        help="also write a 2560x1440 copy of the first video there and bench it")
    args = parser.parse_args(argv)
    if args.upscaled is not None:
        args.videos.append(make_upscaled(args.videos[0], args.upscaled))
    results = {}
    for path in args.videos:
        entry = {"decode": bench_decode(path, args.seeks)}
        print(f"{path.name}: {entry['decode']}", flush=True)
        for name in args.detectors:
            if name == "dlib" and not dlib_available():
                continue
            detector = ReplayDetector(name)
            entry[name] = {}
            for label, settings in configurations(args.crop_size, name).items():
                figures = run_pipeline(path, settings, args.max_frames, detector)
                entry[name][label] = figures
                shown = {k: v for k, v in figures.items() if k != "missing_frames"}
                print(f"  {name} {label}: {shown} missing={figures['missing_frames'][:30]}",
                      flush=True)
            figures = run_pipeline(path, searched_near(args.crop_size, name), args.max_frames)
            entry[name]["default_near_face"] = figures
            shown = {k: v for k, v in figures.items() if k != "missing_frames"}
            print(f"  {name} default (near the face): {shown} "
                  f"missing={figures['missing_frames'][:30]}", flush=True)
        results[path.name] = entry
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
