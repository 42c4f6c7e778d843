"""End-to-end ``meldae infer`` on a folder of H.264 files against the machine's decode ceiling.

Usage (from the repository root):

    python bench/scale_e2e.py [--device cuda] [--preset paper] [--height 1080] [--copies 16]
                              [--frames 240]
                              [--workers N] [--video FILE] [--json OUT]

Makes ``--copies`` distinct H.264 files at ``--height`` (1080p by default) from ``--video``
(``bench/scale_workers.make_videos``), then measures, in the same run:

* ``decode_fps``: the decode ceiling, frames/s of ``--workers`` processes decoding the files
  in parallel (``meldae.video.VideoReader``, to RGB; nothing else);
* ``e2e_fps``: the scoring loop of ``meldae infer FOLDER --workers N --device D`` (decode,
  face tracking and cropping in N processes, the model in one; empty crop cache), frames/s
  over all files, timed after the model is loaded and warm (writing outputs not included);
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


def end_to_end(files: list[Path], ckpt: Path, workers: int, device: str, cache: Path) -> dict:
    """Seconds of ``meldae infer --workers N``'s scoring loop over ``files``, in a child.

    The child loads the model and runs one warm-up batch before the clock starts (process
    start, imports and CUDA initialisation are not what is measured); the clock then covers
    the workers' start, decoding, faces (empty crop cache) and the model: everything
    ``meldae infer`` does but writing the output files.
    """
    env = {**os.environ, "MELDAE_CACHE_DIR": str(cache)}
    cmd = [sys.executable, __file__, "--child", "--checkpoint", str(ckpt), "--device", device,
           "--workers", str(workers), *map(str, files)]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise SystemExit(f"the end-to-end child failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def child(files: list[Path], ckpt: Path, workers: int, device: str) -> None:
    """The timed scoring loop (see ``end_to_end``); prints JSON."""
    import numpy as np
    import torch

    from meldae.infer import load_model
    from meldae.infer.runners import WindowRunner
    from meldae.infer.workers import iter_folder_scores
    from meldae.infer.buffer import CropRing

    model, _ = load_model(ckpt, device)
    cfg = model.cfg
    ring = CropRing(cfg.num_frames, (cfg.img_size, cfg.img_size, 3))
    for i in range(cfg.num_frames):
        ring.append(i, np.zeros((cfg.img_size, cfg.img_size, 3), np.uint8), True)
    WindowRunner(model, model.device).run(ring, [0] * 16)   # warm-up: kernels, allocator
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    frames = failed = 0
    for result in iter_folder_scores(files, model, device, workers=workers):
        if result.scores is None:
            failed += 1
        else:
            frames += result.scores.n_frames
    seconds = time.perf_counter() - t0
    print(json.dumps({"e2e_frames": frames, "e2e_seconds": seconds, "failed": failed}))


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
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.files, args.checkpoint, args.workers, args.device)
        return
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
    report.update(end_to_end(files, ckpt, args.workers, args.device, work / "cache"))
    report["e2e_fps"] = report["e2e_frames"] / report["e2e_seconds"]
    report["ratio"] = report["e2e_fps"] / report["decode_fps"]
    print(json.dumps(report, indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
