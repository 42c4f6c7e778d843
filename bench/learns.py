"""Does MELDAE learn? Synthetic clips -> train the tiny preset on CPU -> test split F1.

Generates a synthetic clip folder (``meldae.data.synthesize``), fixes a subject split
(train / val / test) in ``splits.csv``, trains the ``tiny`` preset from scratch for a
bounded number of steps, evaluates the best checkpoint (chosen on val, with the
threshold chosen on val) on the held-out test subjects, runs the LBP-TOP and LBP-SIP
baselines on the same test clips (their threshold also chosen on val), and prints a table
and JSON.

    .venv/bin/python bench/learns.py --out /tmp/learns --json /tmp/learns/learns.json

The figures go into docs/bench-train.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

log = logging.getLogger("bench.learns")


def make_data(out: Path, clips: int, frames: int, size: int, seed: int,
              mes_per_10s: float, val_subjects: int, test_subjects: int,
              me_scale: float = 1.0) -> Path:
    """Write the synthetic folder and a subject-level splits.csv (last subjects: test)."""
    from meldae.data import synthesize
    from meldae.data.clipfolder import write_splits_csv

    data = out / "data"
    infos = synthesize(data, clips=clips, seed=seed, frames=frames, size=size,
                       mes_per_10s=mes_per_10s, me_scale=me_scale)
    subjects = sorted({c.subject for c in infos})
    if len(subjects) < val_subjects + test_subjects + 1:
        raise SystemExit(f"{len(subjects)} subjects: too few for the split")
    test = set(subjects[-test_subjects:])
    val = set(subjects[-(test_subjects + val_subjects):-test_subjects])
    rows = [(c.name, c.subject, "test" if c.subject in test else
             "val" if c.subject in val else "train") for c in infos]
    write_splits_csv(data / "splits.csv", rows)
    return data


def train_and_evaluate(data: Path, out: Path, args) -> dict:
    """Train the tiny preset and evaluate its best checkpoint on the test split."""
    from meldae.evaluate import evaluate_checkpoint
    from meldae.train.config import resolve_configs
    from meldae.train.run import train_folder

    model_flags = {"img_size": args.img_size} if args.img_size else {}
    if args.num_frames:
        model_flags["num_frames"] = args.num_frames
    model_cfg, train_cfg = resolve_configs("tiny", None, model_flags, {
        "epochs": args.epochs, "max_steps_per_epoch": args.steps_per_epoch,
        "batch_size": args.batch_size or None, "num_workers": 0, "seed": args.seed,
        "lr_new": args.lr or None, "warmup_steps": args.warmup, "loc_loss": args.loc_loss})
    t0 = time.perf_counter()
    result = train_folder(data, out / "run", model_cfg, train_cfg, device="cpu",
                          progress_bar=False)
    train_s = time.perf_counter() - t0
    report = evaluate_checkpoint(data, result.best_checkpoint, split="test", device="cpu")
    return {"train_s": train_s, "best_epoch": result.best_epoch,
            "steps": len(result.step_losses),
            "first_losses": result.step_losses[:5], "last_losses": result.step_losses[-5:],
            "val_curve": [ev["val"].get("f1") for ev in result.history],
            "test": report["overall"], "postprocessing": report["postprocessing"],
            "model": {"preset": "tiny", "img_size": model_cfg.img_size,
                      "num_frames": model_cfg.num_frames},
            "train_config": {"epochs": train_cfg.epochs,
                             "steps_per_epoch": train_cfg.max_steps_per_epoch,
                             "batch_size": train_cfg.batch_size,
                             "lr_backbone": train_cfg.backbone_lr(False),
                             "lr_new": train_cfg.lr_new, "loc_loss": train_cfg.loc_loss}}


def baselines(data: Path, crop_size: int) -> dict:
    """Both LBP baselines on the test split (threshold and k chosen on val)."""
    from meldae.baselines import run_baseline

    out = {}
    for method in ("lbp-top", "lbp-sip"):
        t0 = time.perf_counter()
        report = run_baseline(method, data, split="test", crop_size=crop_size)
        out[method] = {"test": report["overall"], "interval": report["interval"],
                       "postprocessing": report["postprocessing"],
                       "seconds": time.perf_counter() - t0}
    return out


def table(doc: dict) -> str:
    """The result rows: F1, precision, recall, F1_DR on the test split."""
    lines = ["| Method | F1 | Precision | Recall | F1_DR | TP/FP/FN |", "|---|---|---|---|---|---|"]
    rows = [("MELDAE tiny (ours)", doc["model"]["test"])]
    rows += [(m.upper(), r["test"]) for m, r in doc["baselines"].items()]
    for name, m in rows:
        lines.append(f"| {name} | {m['f1']:.3f} | {m['precision']:.3f} | {m['recall']:.3f} | "
                     f"{m['f1_dr']:.3f} | {m['tp']}/{m['fp']}/{m['fn']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the whole check; exit 0 when the model reaches F1 >= 0.5 and beats both baselines."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("/tmp/meldae-learns"))
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--clips", type=int, default=48)
    p.add_argument("--frames", type=int, default=150)
    p.add_argument("--size", type=int, default=256, help="synthetic frame size (px)")
    p.add_argument("--mes-per-10s", type=float, default=6.0)
    p.add_argument("--me-scale", type=float, default=3.0,
                   help="scale the synthetic MEs' amplitude (meldae synth --me-scale)")
    p.add_argument("--val-subjects", type=int, default=4)
    p.add_argument("--test-subjects", type=int, default=4)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--steps-per-epoch", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=0,
                   help="windows per step (0: the tiny preset's)")
    p.add_argument("--img-size", type=int, default=0,
                   help="face-crop size of the tiny model (0: the preset's 64 px)")
    p.add_argument("--num-frames", type=int, default=0,
                   help="frames per window T of the tiny model (0: the preset's)")
    p.add_argument("--lr", type=float, default=0.0,
                   help="learning rate of every part (0: the tiny preset's)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--loc-loss", default="bal", help="localisation loss (paper: bal)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    data = make_data(args.out, args.clips, args.frames, args.size, args.seed,
                     args.mes_per_10s, val_subjects=args.val_subjects,
                     test_subjects=args.test_subjects, me_scale=args.me_scale)
    synth_s = time.perf_counter() - t0
    model = train_and_evaluate(data, args.out, args)
    doc = {"data": {"clips": args.clips, "frames": args.frames, "size": args.size,
                    "mes_per_10s": args.mes_per_10s, "me_scale": args.me_scale,
                    "seed": args.seed, "synth_s": synth_s},
           "model": model, "baselines": baselines(data, model["model"]["img_size"]),
           "total_s": time.perf_counter() - t0, "torch_threads": torch.get_num_threads()}
    f1 = doc["model"]["test"]["f1"]
    doc["passed"] = bool(f1 >= 0.5 and all(f1 > b["test"]["f1"]
                                           for b in doc["baselines"].values()))
    print(table(doc))
    print(json.dumps(doc, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0 if doc["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
