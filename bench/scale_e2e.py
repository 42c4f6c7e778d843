"""End-to-end ``meldae infer`` on a folder of H.264 files against the machine's decode ceiling.

Usage (from the repository root):

    python bench/scale_e2e.py [--device cuda] [--preset paper] [--height 1080] [--copies 16]
                              [--frames 240]
                              [--workers N] [--video FILE] [--json OUT]

Makes ``--copies`` distinct H.264 files at ``--height`` (1080p by default) from ``--video``
(``bench/scale_workers.make_videos``), then measures, in the same run:

* ``decode_fps``: the decode ceiling, frames/s of ``--workers`` processes decoding the files
  in parallel (``meldae.video.VideoReader``, to RGB; nothing else);
* ``e2e_fps``: ``meldae infer FOLDER --workers N --device D`` (decode, face tracking and
  cropping in N processes, the model in one; empty crop cache), frames/s over all files,
  wall time of the command including model loading;
* ``ratio`` = e2e / decode (the issue's target: >= 0.90).

``--workers`` defaults to the cores left after one for the model process. The model has
random weights (speed does not depend on them).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from scale_workers import SHARED_VIDEO, make_checkpoint, make_videos  # noqa: E402


def _decode_count(path: str) -> int:
    from meldae.video import VideoReader

    with VideoReader(path) as reader:
        return sum(1 for _ in reader.iter_frames())


def decode_ceiling(files: list[Path], workers: int) -> dict:
    """Frames/s of ``workers`` processes decoding ``files`` in parallel."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        pool.map(abs, range(workers))   # the processes are up before the clock starts
        t0 = time.perf_counter()
        frames = sum(pool.map(_decode_count, [str(f) for f in files], chunksize=1))
        seconds = time.perf_counter() - t0
    return {"frames": frames, "seconds": seconds, "decode_fps": frames / seconds}


def end_to_end(folder: Path, ckpt: Path, out: Path, workers: int, device: str,
               cache: Path) -> dict:
    """Wall time of ``meldae infer FOLDER --workers N`` with an empty crop cache."""
    env = {**os.environ, "MELDAE_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-m", "meldae", "infer", str(folder), "--checkpoint", str(ckpt),
           "--out", str(out), "--device", device, "--no-progress", "--redo",
           "--workers", str(workers)]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if run.returncode != 0:
        raise SystemExit(f"meldae infer failed:\n{run.stderr[-3000:]}")
    return {"seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=SHARED_VIDEO)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--copies", type=int, default=16)
    parser.add_argument("--frames", type=int, default=240, help="frames per file (0: all)")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not args.video.is_file():
        raise SystemExit(f"{args.video}: no such video (pass --video)")
    work = Path(tempfile.mkdtemp(prefix="meldae-e2e-"))
    t0 = time.perf_counter()
    frames_each = make_videos(args.video, work / "videos", args.copies, height=args.height,
                              max_frames=args.frames)
    files = sorted((work / "videos").glob("*.mp4"))
    print(f"{len(files)} files of {frames_each} frames at {args.height}p made in "
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    ckpt = make_checkpoint(args.preset, work)
    report = {"height": args.height, "copies": args.copies, "frames_each": frames_each,
              "workers": args.workers, "device": args.device, "preset": args.preset,
              "cpus": os.cpu_count()}
    report.update(decode_ceiling(files, args.workers))
    e2e = end_to_end(work / "videos", ckpt, work / "out", args.workers, args.device,
                     work / "cache")
    report["e2e_seconds"] = e2e["seconds"]
    report["e2e_fps"] = report["frames"] / e2e["seconds"]
    report["ratio"] = report["e2e_fps"] / report["decode_fps"]
    print(json.dumps(report, indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
