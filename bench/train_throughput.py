"""Training throughput per preset: frames/s, peak memory, data-wait share, bare backbone.

For each preset, the real trainer (``meldae.train.Trainer``: data loader, autocast bf16 on
CUDA, loss, AdamW, clipping) runs a few steps on a synthetic clip folder's windows; the
bench reports training frames/s (B·T per step time), the data-wait / step-time ratio (is
the loader the bottleneck?), peak memory, and the same frames through a bare timm backbone
forward + backward in the same process (what the frame encoder alone costs).

    .venv/bin/python bench/train_throughput.py --presets tiny,lite --steps 6 --json out.json
    .venv/bin/python bench/train_throughput.py --device cuda --presets lite,paper \
        --batch-size 16 --num-workers 8 --json gpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def synth_folder(root: Path, clips: int, frames: int) -> Path:
    """A synthetic clip folder (all clips in train, no validation)."""
    from meldae.data import synthesize
    from meldae.data.clipfolder import write_splits_csv

    data = root / "data"
    infos = synthesize(data, clips=clips, seed=0, frames=frames, size=192)
    write_splits_csv(data / "splits.csv", [(c.name, c.subject, "train") for c in infos])
    return data


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_mb(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # Linux: KiB


def bare_backbone(model_cfg, batch: int, steps: int, device) -> float:
    """Frames/s of the bare timm backbone, forward + backward, B·T frames a step."""
    import timm
    import torch

    net = timm.create_model(model_cfg.backbone, pretrained=False, num_classes=0,
                            img_size=model_cfg.img_size, **dict(model_cfg.backbone_kwargs)) \
        if model_cfg.backbone.startswith("vit") else \
        timm.create_model(model_cfg.backbone, pretrained=False, num_classes=0)
    net = net.to(device).train()
    n = batch * model_cfg.num_frames
    x = torch.randn(n, 3, model_cfg.img_size, model_cfg.img_size, device=device)
    times = []
    for i in range(steps + 1):
        _sync(device)
        t0 = time.perf_counter()
        with torch.autocast(device.type, torch.bfloat16, enabled=device.type == "cuda"):
            out = net.forward_features(x)
        out.float().mean().backward()
        _sync(device)
        if i:                                   # the first step warms up
            times.append(time.perf_counter() - t0)
    return n / (sum(times) / len(times))


def run_preset(name: str, data: Path, args, cache_dir: Path | None) -> dict:
    """Train ``args.steps`` steps of preset ``name`` and measure."""
    import torch

    from meldae.data import discover_clips
    from meldae.train.config import resolve_configs
    from meldae.train.loop import Trainer
    from meldae.train.run import build_window_dataset

    model_cfg, train_cfg = resolve_configs(name, None, {"pretrained": False}, {  # speed needs no weights
        "epochs": 1, "batch_size": args.batch_size, "num_workers": args.num_workers,
        "max_steps_per_epoch": args.steps + 1, "warmup_steps": 0})
    dataset = build_window_dataset(discover_clips(data), model_cfg, train_cfg, cache_dir)
    device = torch.device(args.device if args.device != "auto" else
                          ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(model_cfg, train_cfg, Path(run_dir), dataset, [], device=str(device),
                          progress_bar=False)
        trainer.fit()
    timings = trainer.timings[1:] or trainer.timings        # drop the warm-up step
    data_s = sum(t[0] for t in timings) / len(timings)
    step_s = sum(t[1] for t in timings) / len(timings)
    frames = trainer.loader.per_rank_batch * model_cfg.num_frames
    peak = _peak_mb(device)
    bare = bare_backbone(model_cfg, trainer.loader.per_rank_batch, max(2, args.steps // 2),
                         device)
    return {"preset": name, "device": str(device), "batch": trainer.loader.per_rank_batch,
            "num_frames": model_cfg.num_frames, "img_size": model_cfg.img_size,
            "steps": len(timings), "step_s": step_s, "data_wait_s": data_s,
            "data_wait_ratio": data_s / step_s, "train_frames_per_s": frames / step_s,
            "peak_memory_mb": peak, "backbone_frames_per_s": bare,
            "num_workers": args.num_workers}


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print one line per preset (and JSON)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default="tiny,lite")
    p.add_argument("--device", default="auto")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--num-workers", type=int, default=2)
    p.add_argument("--data", type=Path, default=None, help="clip folder (default: synthetic)")
    p.add_argument("--clips", type=int, default=2)
    p.add_argument("--frames", type=int, default=96)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or synth_folder(Path(tmp), args.clips, args.frames)
        cache = None if args.data else Path(tmp) / "cache"
        rows = [run_preset(name.strip(), data, args, cache) for name in args.presets.split(",")]
    doc = {"host": platform.node(), "torch": torch.__version__,
           "threads": torch.get_num_threads(),
           "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
           "results": rows}
    for r in rows:
        print(f"{r['preset']:6} {r['device']:6} B={r['batch']} T={r['num_frames']} "
              f"S={r['img_size']}: {r['train_frames_per_s']:8.1f} train frames/s, step "
              f"{r['step_s']:.3f} s, data wait {100 * r['data_wait_ratio']:.1f} % of a step, "
              f"peak {r['peak_memory_mb']:.0f} MB; bare backbone fwd+bwd "
              f"{r['backbone_frames_per_s']:.1f} frames/s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
