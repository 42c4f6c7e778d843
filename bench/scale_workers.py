"""``meldae infer FOLDER --workers N``: end-to-end speed for several N in one run, same outputs.

Usage (from the repository root):

    python bench/scale_workers.py [--video FILE] [--copies 4] [--preset lite]
                                  [--workers 0 1 2] [--loop 1] [--json OUT]

Makes ``--copies`` distinct videos from ``--video`` (re-encoded with H.264, each with its own
small brightness offset so that the face-crop cache, keyed by content, cannot serve one from
another; ``--loop K`` makes each K times longer), saves a randomly initialised checkpoint of
the preset, then runs ``meldae infer FOLDER --out ... --workers N`` for each N in a fresh
child process with an empty crop cache. Reported per N: wall seconds, frames/s over all
videos, the speed-up over the first N, the peak RSS of the model process and of the largest
decode worker, and the largest difference of any output score from the first N's (must be
<= 1e-6). ``--workers 0`` is the in-process decoding thread.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_VIDEO = ROOT.parent / "shared" / "data" / "video" / "WolfgangLanger_Pexels.mp4"


def make_videos(source: Path, folder: Path, copies: int, loop: int = 1, height: int = 0,
                max_frames: int = 0) -> int:
    """``copies`` H.264 variants of ``source`` in ``folder``; returns the frames of each.

    Args:
        loop: each file holds the source this many times over.
        height: rescale to this height (0: keep), e.g. 1080 for the GPU check's 1080p files.
        max_frames: keep only the first frames of the source (0: all).
    """
    import av

    folder.mkdir(parents=True, exist_ok=True)
    with av.open(str(source)) as src:
        frames = []
        for frame in src.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == max_frames:
                break
        rate = src.streams.video[0].average_rate or 25
    if height:
        import cv2

        width = int(round(frames[0].shape[1] * height / frames[0].shape[0] / 2)) * 2
        frames = [cv2.resize(f, (width, height), interpolation=cv2.INTER_LINEAR)
                  for f in frames]
    for k in range(copies):
        with av.open(str(folder / f"clip{k:02d}.mp4"), "w") as out:
            stream = out.add_stream("libx264", rate=rate)
            stream.height, stream.width = frames[0].shape[:2]
            stream.pix_fmt = "yuv420p"
            stream.options = {"preset": "ultrafast" if height >= 720 else "veryfast",
                              "crf": "20"}
            for _ in range(loop):
                for img in frames:
                    shifted = np.clip(img.astype(np.int16) + k, 0, 255).astype(np.uint8)
                    out.mux(stream.encode(av.VideoFrame.from_ndarray(shifted, format="rgb24")))
            out.mux(stream.encode())
    return len(frames) * loop


def make_checkpoint(preset_name: str, folder: Path) -> Path:
    """A randomly initialised checkpoint of the preset (speed needs no trained weights)."""
    import torch

    from meldae.checkpoint import save_checkpoint
    from meldae.model import MELDAE, preset

    torch.manual_seed(0)
    model = MELDAE(preset(preset_name, pretrained=False)).eval()
    return save_checkpoint(folder / f"{preset_name}-random", model, {})


def child(args: argparse.Namespace) -> None:
    """Run ``meldae infer`` in this process; print wall time and peak RSS as JSON."""
    from meldae.cli import main

    t0 = time.perf_counter()
    status = main(["infer", str(args.folder), "--checkpoint", str(args.checkpoint), "--out",
                   str(args.out), "--device", args.device, "--no-progress", "--redo",
                   "--workers", str(args.workers)])
    seconds = time.perf_counter() - t0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"status": status, "seconds": seconds, "rss_model_mib": own,
                      "rss_worker_mib": workers if args.workers else None}))


def max_difference(a: Path, b: Path) -> float:
    """The largest score difference between two output folders."""
    worst = 0.0
    for path in sorted(a.glob("*.npz")):
        with np.load(path) as x, np.load(b / path.name) as y:
            for key in ("loc_scores", "state_scores", "attention"):
                worst = max(worst, float(np.abs(x[key].astype(np.float64) - y[key]).max()))
    return worst


def run_all(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="meldae-scale-"))
    folder = work / "videos"
    frames = make_videos(args.video, folder, args.copies, args.loop)
    ckpt = make_checkpoint(args.preset, work)
    rows, first = [], None
    for n in args.workers:
        out = work / f"out-w{n}"
        env = {**os.environ, "MELDAE_CACHE_DIR": str(work / f"cache-w{n}")}
        cmd = [sys.executable, __file__, "--child", "--folder", str(folder), "--checkpoint",
               str(ckpt), "--out", str(out), "--workers", str(n), "--device", args.device]
        run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
        if run.returncode != 0:
            raise SystemExit(f"workers={n} failed:\n{run.stderr[-2000:]}")
        row = json.loads(run.stdout.strip().splitlines()[-1])
        row.update(workers=n, fps=args.copies * frames / row["seconds"])
        first = first or (out, row["fps"])
        row["speedup"] = row["fps"] / first[1]
        row["max_diff_vs_first"] = max_difference(first[0], out)
        rows.append(row)
        print(f"workers={n}: {row['seconds']:.1f} s, {row['fps']:.2f} frames/s, "
              f"x{row['speedup']:.2f}, RSS model {row['rss_model_mib']:.0f} MiB, worker "
              f"{row['rss_worker_mib'] or 0:.0f} MiB, max diff {row['max_diff_vs_first']:.1e}",
              flush=True)
    return {"video": str(args.video), "copies": args.copies, "frames_each": frames,
            "preset": args.preset, "device": args.device, "cpus": os.cpu_count(),
            "runs": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=SHARED_VIDEO)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--loop", type=int, default=1, help="make each video K times longer")
    parser.add_argument("--preset", default="lite")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.workers = args.workers[0]
        child(args)
        return
    if not args.video.is_file():
        raise SystemExit(f"{args.video}: no such video (pass --video)")
    report = run_all(args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
