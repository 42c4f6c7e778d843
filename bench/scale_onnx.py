"""The exported ONNX model under onnxruntime against torch, in one run, on this machine.

Usage (from the repository root):

    python bench/scale_onnx.py [--preset lite] [--batch 4] [--windows 24] [--video FILE]
                               [--json OUT]

Saves a randomly initialised checkpoint of the preset, exports it (``meldae export-onnx``)
and times, with the same thread count:

* ``window``: batches of random windows through torch (whole windows, ``WindowRunner``, the
  same work as the ONNX graph) and through onnxruntime; windows/s and frames/s
  (``T`` frames a window), and the largest output difference;
* ``video``: ``predict_video`` on a real video whose face crops are already cached (so only
  the engine and the model are timed) with the torch engine (``CachedEncoderRunner``: each
  frame encoded once) and with the ONNX engine (each window encoded whole).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_VIDEO = ROOT.parent / "shared" / "data" / "video" / "WolfgangLanger_Pexels.mp4"


def time_windows(run, batches: list[np.ndarray]) -> float:
    """Seconds to run every batch once (after one warm-up batch)."""
    run(batches[0])
    t0 = time.perf_counter()
    for batch in batches:
        run(batch)
    return time.perf_counter() - t0


def window_bench(model, onnx_model, batch: int, windows: int) -> dict:
    from meldae.infer.onnx_check import onnx_window_outputs, torch_window_outputs

    cfg = model.cfg
    rng = np.random.default_rng(0)
    batches = [rng.integers(0, 256, (batch, cfg.num_frames, cfg.img_size, cfg.img_size, 3),
                            dtype=np.uint8) for _ in range(max(1, windows // batch))]
    diff = max(float(np.abs(a - b).max()) for a, b in
               zip(torch_window_outputs(model, batches[0]),
                   onnx_window_outputs(onnx_model, batches[0])))
    n = len(batches) * batch
    t_torch = time_windows(lambda w: torch_window_outputs(model, w), batches)
    t_onnx = time_windows(lambda w: onnx_window_outputs(onnx_model, w), batches)
    row = {"batch": batch, "windows": n, "max_diff": diff,
           "torch_windows_per_s": n / t_torch, "onnx_windows_per_s": n / t_onnx,
           "torch_frames_per_s": n * cfg.num_frames / t_torch,
           "onnx_frames_per_s": n * cfg.num_frames / t_onnx}
    row["onnx_over_torch"] = row["onnx_windows_per_s"] / row["torch_windows_per_s"]
    return row


def video_bench(video: Path, model, onnx_model, info: dict, batch: int, cache: Path) -> dict:
    from meldae.faces import FaceSettings, load_face_crops
    from meldae.infer import predict_video

    settings = FaceSettings(crop_size=model.cfg.img_size)
    load_face_crops(video, settings, cache_dir=cache)   # crops cached: the model is timed
    row = {}
    for name, m in (("torch", model), ("onnx", onnx_model)):
        t0 = time.perf_counter()
        pred = predict_video(video, m, "cpu", face_settings=settings, cache_dir=cache,
                             checkpoint_info=info, batch_size=batch)
        row[f"{name}_fps"] = pred.n_frames / (time.perf_counter() - t0)
        row[f"{name}_loc"] = pred.loc_scores
    row["max_loc_diff"] = float(np.abs(row.pop("torch_loc") - row.pop("onnx_loc")).max())
    row["onnx_over_torch"] = row["onnx_fps"] / row["torch_fps"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="lite")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--windows", type=int, default=24)
    parser.add_argument("--video", type=Path, default=SHARED_VIDEO)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import torch

    from meldae.infer import load_model
    from meldae.infer.onnx_export import export_onnx

    sys.path.insert(0, str(ROOT / "bench"))
    from scale_workers import make_checkpoint

    work = Path(tempfile.mkdtemp(prefix="meldae-onnx-"))
    ckpt = make_checkpoint(args.preset, work)
    t0 = time.perf_counter()
    onnx_path = export_onnx(ckpt, work / f"{args.preset}.onnx")
    export_s = time.perf_counter() - t0
    model, info = load_model(ckpt, "cpu")
    onnx_model, _ = load_model(onnx_path, "cpu", engine="onnx")
    report = {"preset": args.preset, "threads": torch.get_num_threads(),
              "export_s": export_s, "onnx_mb": onnx_path.stat().st_size / 1e6,
              "window": window_bench(model, onnx_model, args.batch, args.windows)}
    print(json.dumps(report["window"], indent=1), flush=True)
    if args.video.is_file():
        report["video"] = video_bench(args.video, model, onnx_model, info, args.batch,
                                      work / "cache")
        print(json.dumps(report["video"], indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
