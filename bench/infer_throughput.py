"""Inference throughput and memory: end-to-end and model-only frames/s, where the time goes,
and peak RSS for a video and for the same video ten times longer.

Usage (from the repository root):

    python bench/infer_throughput.py [--device auto|cpu|cuda] [--preset lite|tiny|paper|all]
                                     [--video FILE] [--repeat 10] [--json OUT]

* ``model_fps``: frames/s of the streaming engine fed with random face crops from memory
  (no decoding, no face detection): the model, window batching and blending.
* ``decode_ms`` / ``faces_ms``: per-frame cost of decoding (``VideoReader.iter_frames``)
  and of the face pipeline on top of it (``iter_face_crops`` with an empty cache, minus the
  decoding).
* ``e2e_fps``: ``iter_predict`` on the video with an empty crop cache (decode + faces +
  model, overlapped by the background thread); ``model_ms`` is ``1000 / model_fps``.
* ``rss``: peak resident memory (``resource.getrusage(...).ru_maxrss``) of a fresh process
  running ``iter_predict`` over the video and over the video looped ``--repeat`` times
  (packets remuxed with PyAV, no re-encoding); the ratio must stay below 1.2.

Models have random weights (``pretrained=False``): speed does not depend on the values.
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
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_VIDEO = ROOT.parent / "shared" / "data" / "video" / "WolfgangLanger_Pexels.mp4"


def build_model(preset_name: str, device: str):
    """A randomly initialised model of the preset, in eval mode on the device."""
    import torch

    from meldae.infer.device import resolve_device
    from meldae.model import MELDAE, preset

    torch.manual_seed(0)
    dev = resolve_device(device)
    return MELDAE(preset(preset_name, pretrained=False)).to(dev).eval(), dev  # speed needs no weights


def model_only_fps(preset_name: str, device: str, frames: int, batch_size: int | None) -> float:
    """Frames/s of the engine over random in-memory crops (no decoding, no faces)."""
    from types import SimpleNamespace

    from meldae.infer.engine import predict_frames

    model, dev = build_model(preset_name, device)
    size = model.cfg.img_size
    crops = np.random.default_rng(0).integers(0, 256, (64, size, size, 3), dtype=np.uint8)

    def source(n):
        return lambda: (SimpleNamespace(frame_idx=i, crop=crops[i % 64], face_found=True)
                        for i in range(n))

    def run(n):
        for _ in predict_frames(source(n), model, dev, crop_size=size, total_frames=n,
                                fps=Fraction(30), batch_size=batch_size):
            pass

    run(2 * model.cfg.num_frames)          # warm-up (allocations, cuDNN/kernels)
    _sync(dev)
    t0 = time.perf_counter()
    run(frames)
    _sync(dev)
    return frames / (time.perf_counter() - t0)


def _sync(dev) -> None:
    import torch

    if getattr(dev, "type", "") == "cuda":
        torch.cuda.synchronize()


def decode_ms(video: Path) -> tuple[float, int]:
    """Milliseconds per frame to decode the video to RGB, and its frame count."""
    from meldae.video import VideoReader

    with VideoReader(video) as reader:
        t0 = time.perf_counter()
        n = sum(1 for _ in reader.iter_frames())
    return 1000 * (time.perf_counter() - t0) / n, n


def faces_ms(video: Path, crop_size: int) -> float:
    """Milliseconds per frame of decoding + the face pipeline (empty cache)."""
    from meldae.faces import FaceSettings, iter_face_crops

    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        n = sum(1 for _ in iter_face_crops(video, FaceSettings(crop_size=crop_size),
                                           cache_dir=Path(cache)))
    return 1000 * (time.perf_counter() - t0) / n


def child_run(video: Path, preset_name: str, device: str, batch_size: int | None) -> dict:
    """``iter_predict`` over the video in this process; frames/s and peak RSS.

    Besides ``ru_maxrss`` (which also counts file-backed pages, e.g. a memory-mapped crop
    cache being written), a sampler thread records the peak of anonymous memory
    (``RssAnon``): the process's own heap, tensors and buffers.
    """
    import threading

    from meldae.infer import iter_predict

    model, dev = build_model(preset_name, device)
    rss_model = _maxrss_mib()
    peak_anon = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak_anon[0] = max(peak_anon[0], _rss_anon_mib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    n = 0
    for result in iter_predict(video, model, str(dev), batch_size=batch_size):
        n = result.stop
    _sync(dev)
    seconds = time.perf_counter() - t0
    done.set()
    sampler.join()
    return {"frames": n, "seconds": seconds, "e2e_fps": n / seconds,
            "maxrss_mib_after_model": rss_model, "maxrss_mib": _maxrss_mib(),
            "peak_rss_anon_mib": peak_anon[0]}


def _rss_anon_mib() -> float:
    """Anonymous resident memory now (Linux ``/proc/self/status``), MiB; 0 elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux


def run_child(video: Path, preset_name: str, device: str, batch_size: int | None,
              threads: int | None = None) -> dict:
    """``child_run`` in a fresh process with an empty crop cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "MELDAE_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, __file__, "--child", str(video), "--preset", preset_name,
               "--device", device]
        if batch_size:
            cmd += ["--batch-size", str(batch_size)]
        if threads:
            cmd += ["--threads", str(threads)]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def loop_video(src: Path, dst: Path, repeat: int) -> int:
    """Write ``src`` played ``repeat`` times into ``dst`` by remuxing packets; frame count."""
    import av

    from meldae.video import VideoReader

    with av.open(str(src)) as inp:
        stream = inp.streams.video[0]
        pts = [p.pts for p in inp.demux(stream) if p.size > 0 and p.pts is not None]
    step = int(np.median(np.diff(sorted(pts)))) if len(pts) > 1 else 1
    span = max(pts) - min(pts) + step            # one loop, in the stream's time base
    with av.open(str(dst), "w", format="mp4") as out:
        for k in range(repeat):
            with av.open(str(src)) as inp:
                in_stream = inp.streams.video[0]
                if k == 0:
                    out_stream = out.add_stream_from_template(in_stream)
                for packet in inp.demux(in_stream):
                    if packet.size == 0:
                        continue
                    packet.pts = None if packet.pts is None else packet.pts + k * span
                    packet.dts = None if packet.dts is None else packet.dts + k * span
                    packet.stream = out_stream
                    out.mux(packet)
    with VideoReader(dst) as reader:
        return len(reader)


def bench_preset(args: argparse.Namespace, preset_name: str, video: Path) -> dict:
    """All figures of one preset."""
    from meldae.model import preset

    crop = preset(preset_name).img_size
    row: dict = {"preset": preset_name}
    row["model_fps"] = model_only_fps(preset_name, args.device, args.model_frames,
                                      args.batch_size)
    row["model_ms"] = 1000 / row["model_fps"]
    row["decode_ms"], row["frames"] = decode_ms(video)
    row["faces_ms"] = max(0.0, faces_ms(video, crop) - row["decode_ms"])
    short = run_child(video, preset_name, args.device, args.batch_size, args.threads)
    row["e2e_fps"] = short["e2e_fps"]
    row["e2e_ms"] = 1000 / short["e2e_fps"]
    row["rss_mib"] = short["maxrss_mib"]
    row["rss_anon_mib"] = short["peak_rss_anon_mib"]
    if args.repeat > 1:
        with tempfile.TemporaryDirectory() as tmp:
            long_video = Path(tmp) / f"long_x{args.repeat}.mp4"
            row["long_frames"] = loop_video(video, long_video, args.repeat)
            long = run_child(long_video, preset_name, args.device, args.batch_size, args.threads)
        row["long_e2e_fps"] = long["e2e_fps"]
        row["long_rss_mib"] = long["maxrss_mib"]
        row["long_rss_anon_mib"] = long["peak_rss_anon_mib"]
        row["rss_ratio"] = long["maxrss_mib"] / short["maxrss_mib"]
        row["rss_anon_ratio"] = long["peak_rss_anon_mib"] / short["peak_rss_anon_mib"]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--preset", default="lite", help="lite, tiny, paper or all")
    parser.add_argument("--video", type=Path, default=None,
                        help="video to score (default: the shared Pexels clip, else a synth clip)")
    parser.add_argument("--repeat", type=int, default=10, help="loop factor of the long video")
    parser.add_argument("--model-frames", type=int, default=256,
                        help="frames for the model-only rate")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.child is not None:
        print(json.dumps(child_run(args.child, args.preset, args.device, args.batch_size)))
        return 0
    presets = ["tiny", "lite", "paper"] if args.preset == "all" else [args.preset]
    with tempfile.TemporaryDirectory() as tmp:
        video = args.video or _default_video(Path(tmp))
        rows = [bench_preset(args, name, video) for name in presets]
    result = {"device": _device_name(args.device), "video": str(video), "rows": rows,
              "cpu_count": os.cpu_count(), "load_avg_1min": os.getloadavg()[0]}
    for row in rows:
        print(json.dumps(row))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _default_video(tmp: Path) -> Path:
    if SHARED_VIDEO.is_file():
        return SHARED_VIDEO
    from meldae.data.synth import synthesize

    return synthesize(tmp, clips=1, seed=0, frames=300, size=320)[0].video_path


def _device_name(device: str) -> str:
    import torch

    from meldae.infer.device import resolve_device

    dev = resolve_device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"cpu ({os.cpu_count()} cores, torch threads {torch.get_num_threads()})"


if __name__ == "__main__":
    raise SystemExit(main())
