"""Model throughput: MELDAE presets beside the raw timm backbone, in the same run.

For each preset (``paper``, ``lite``) it times, in frames per second (B*T frames per call):

* ``backbone``: the raw timm backbone's ``forward_features`` on the B*T frames (the floor);
* ``infer_attn``: MELDAE inference returning the attention map (explicit softmax path);
* ``infer_fast``: MELDAE inference without it (SDPA fast path);
* ``train_step``: forward (fast path) + multi-task loss + backward + AdamW step.

CPU runs in float32; CUDA runs under bf16 autocast (as training and inference do there).
Random weights (no download). The JSON output holds every figure and the run's settings.

    python bench/model_throughput.py --device cpu --batch 1 --frames 4 --repeats 3 --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from meldae.losses import multitask_loss  # noqa: E402
from meldae.model import MELDAE, preset  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_interleaved(fns: dict[str, Callable[[], object]], device: torch.device, warmup: int,
                     repeats: int) -> dict[str, float]:
    """Median seconds per call of each function, timed in interleaved rounds.

    Interleaving (a, b, c, a, b, c, ...) exposes every variant to the same clock and load
    drift, so that their ratios are fair even on a busy CPU or a GPU still raising its clock.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    _sync(device)
    times: dict[str, list[float]] = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            _sync(device)
            times[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


def _autocast(device: torch.device) -> contextlib.AbstractContextManager:
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def bench_preset(name: str, args: argparse.Namespace, device: torch.device) -> dict[str, float]:
    """Frames/s of the raw backbone, inference (both paths) and a training step for a preset."""
    torch.manual_seed(0)
    model = MELDAE(preset(name, num_frames=args.frames, pretrained=False)).to(device).eval()  # speed needs no weights
    cfg, B, T = model.cfg, args.batch, args.frames
    frames = torch.randn(B, T, 3, cfg.img_size, cfg.img_size, device=device)  # (B, T, 3, S, S)
    flat = frames.flatten(0, 1)  # (B*T, 3, S, S)
    backbone = model.encoder.backbone
    n_frames = B * T
    result: dict[str, float] = {}

    def run_backbone() -> object:
        with torch.inference_mode(), _autocast(device):
            return backbone.forward_features(flat)

    def run_model(need_attention: bool) -> Callable[[], object]:
        def call() -> object:
            with torch.inference_mode(), _autocast(device):
                return model(frames, need_attention=need_attention)
        return call

    seconds = _time_interleaved(
        {"backbone": run_backbone, "infer_attn": run_model(True), "infer_fast": run_model(False)},
        device, args.warmup, args.repeats,
    )
    result.update({key: n_frames / value for key, value in seconds.items()})
    result["infer_attn_vs_backbone"] = result["infer_attn"] / result["backbone"]
    result["infer_fast_vs_backbone"] = result["infer_fast"] / result["backbone"]
    if args.profile:
        _profile(run_model(True), device)
    if not args.no_train:
        step = _train_step(model, frames, device)
        result["train_step"] = n_frames / _time_interleaved({"train": step}, device, args.warmup, args.repeats)["train"]
    return result


def _profile(fn: Callable[[], object], device: torch.device) -> None:
    """Print the operators that take the most time in one call (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        fn()
        _sync(device)
    sort_by = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    print(prof.key_averages().table(sort_by=sort_by, row_limit=15))


def _train_step(model: MELDAE, frames: torch.Tensor, device: torch.device) -> Callable[[], object]:
    """A closure running one optimisation step with the paper's two learning rates."""
    model.train()
    optimiser = torch.optim.AdamW(
        [{"params": model.backbone_parameters(), "lr": 1e-5}, {"params": model.new_parameters(), "lr": 5e-4}]
    )
    B, T = frames.shape[:2]
    targets = {
        "me_label": torch.ones(B, device=device),
        "speaking": (torch.arange(T, device=device) < T // 2).float().expand(B, T),
        "me_mask": ((torch.arange(T, device=device) % 8) < 2).float().expand(B, T),
    }

    def step() -> object:
        optimiser.zero_grad(set_to_none=True)
        with _autocast(device):
            out = model(frames, need_attention=False)
        loss = multitask_loss(out, targets).total
        loss.backward()
        optimiser.step()
        return loss

    return step


def _cpu_name() -> str:
    """The processor's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (and JSON when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--batch", type=int, default=1, help="windows per call (B)")
    parser.add_argument("--frames", type=int, default=8, help="frames per window (T)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls first")
    parser.add_argument("--presets", default="paper,lite", help="comma-separated preset names")
    parser.add_argument("--no-train", action="store_true", help="skip the training step")
    parser.add_argument("--profile", action="store_true", help="print an operator profile of inference")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    name = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    device = torch.device("cpu" if name == "auto" else name)
    run = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_name(),
        "precision": "bf16 autocast" if device.type == "cuda" else "float32",
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "batch": args.batch, "frames": args.frames, "repeats": args.repeats, "presets": {},
    }
    print(f"# {run['device']} ({run['precision']}), torch {run['torch']}, B={args.batch} T={args.frames}")
    print(f"{'preset':<7} {'backbone':>10} {'infer_attn':>11} {'infer_fast':>11} {'attn/bb':>8} {'train':>9}  (frames/s)")
    for preset_name in args.presets.split(","):
        figures = bench_preset(preset_name, args, device)
        run["presets"][preset_name] = figures
        train = f"{figures['train_step']:9.2f}" if "train_step" in figures else f"{'-':>9}"
        print(f"{preset_name:<7} {figures['backbone']:10.2f} {figures['infer_attn']:11.2f} "
              f"{figures['infer_fast']:11.2f} {figures['infer_attn_vs_backbone']:8.3f} {train}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(run, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
