"""``meldae train``, ``evaluate``, ``experiment`` and ``baseline``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

PRESET_CHOICES = ("paper", "lite", "tiny")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the training, evaluation, experiment and baseline subcommands."""
    _add_train(subparsers)
    _add_evaluate(subparsers)
    _add_experiment(subparsers)
    _add_baseline(subparsers)


def _add_common_train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=PRESET_CHOICES, default=None,
                   help="model and training preset (default: lite; on --resume: the run's)")
    p.add_argument("--config", type=Path, default=None,
                   help='JSON file {"model": {...}, "train": {...}} overriding the preset')
    p.add_argument("--epochs", type=int, default=None, help="number of epochs")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--json-progress", action="store_true",
                   help="progress as JSON lines on stdout (for the app)")
    p.add_argument("--max-steps", type=int, default=None, dest="max_steps",
                   help="at most this many optimiser steps per epoch")


def _add_train(subparsers) -> None:
    p = subparsers.add_parser("train", help="train MELDAE on a clip folder",
                              description="Train MELDAE on a clip folder (also under torchrun).")
    p.add_argument("data", type=Path, help="clip folder (videos + .eaf, optional splits.csv)")
    p.add_argument("--out", type=Path, required=True, help="run folder")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out exactly where it stopped")
    p.add_argument("--init-from", type=Path, default=None, dest="init_from",
                   metavar="CKPT", help="fine-tune: start from the weights of CKPT "
                   "(NAME.safetensors); the model config comes from it. Default for a lite "
                   "model without --pretrained/--no-pretrained/--weights: the bundled demo "
                   "model")
    p.add_argument("--speaking-from-audio", action="store_true",
                   help="clips without annotated speaking take the speaking turns of their "
                        "audio track (silero-vad) as Speaking labels; the run folder's "
                        "speaking_from_audio.json says which")
    p.add_argument("--speaking-gap", type=float, default=0.5, metavar="SECONDS",
                   help="--speaking-from-audio: pauses shorter than this stay inside a turn")
    _add_common_train_flags(p)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr-backbone", type=float, default=None)
    p.add_argument("--lr-new", type=float, default=None)
    p.add_argument("--loc-loss", default=None,
                   help="bal, focal_tversky, bce, iou, mae, mse or smooth_l1")
    p.add_argument("--lam", type=float, default=None, help="BAL boundary weight λ")
    p.add_argument("--num-queries", type=int, default=None, help="N, enhancer query tokens")
    p.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=None,
                   help="a new model whose backbone starts from ImageNet weights (timm: the "
                   "Hugging Face cache, else a download); --no-pretrained: a new model from "
                   "random weights. Default: paper asks for ImageNet weights, lite fine-tunes "
                   "the bundled demo model, tiny starts from random weights")
    p.add_argument("--weights", type=Path, default=None, dest="weights_path", metavar="FILE",
                   help="start the backbone from a local timm state dict (.safetensors, "
                   ".pth/.pt/.bin or .npz); wins over --pretrained")
    p.add_argument("--num-workers", type=int, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(func=cmd_train)


def _train_flags(args) -> dict:
    return {"epochs": args.epochs, "batch_size": getattr(args, "batch_size", None),
            "lr_backbone": getattr(args, "lr_backbone", None),
            "lr_new": getattr(args, "lr_new", None), "loc_loss": getattr(args, "loc_loss", None),
            "lam": getattr(args, "lam", None), "num_workers": getattr(args, "num_workers", None),
            "seed": getattr(args, "seed", None), "max_steps_per_epoch": args.max_steps}


def _emit_error(args, message: str) -> None:
    if getattr(args, "json_progress", False):
        sys.stdout.write(json.dumps({"event": "error", "message": message}) + "\n")
        sys.stdout.flush()


def _configs_for_train(args):
    from meldae.train.config import configs_from_json, resolve_configs, train_config_from_dict

    config_json = args.out / "config.json"
    if args.resume and config_json.is_file():
        # A resumed run keeps its own configuration; only more epochs may be asked for.
        model_cfg, train_cfg = configs_from_json(json.loads(config_json.read_text("utf-8")),
                                                 str(config_json))
        if args.epochs is not None:
            train_cfg = train_config_from_dict({"epochs": args.epochs}, base=train_cfg)
        if getattr(args, "init_from", None) is not None:
            log.info("--init-from is ignored on --resume: the run continues from its own "
                     "last checkpoint (it started from %s)", train_cfg.init_from or "scratch")
        return model_cfg, train_cfg
    model_flags = {"num_queries": args.num_queries}
    init_from = getattr(args, "init_from", None)
    if init_from is None:
        init_from = _default_start(args)
    if init_from is not None:
        if args.pretrained or args.weights_path is not None:
            from meldae.train.config import ConfigError

            raise ConfigError("--init-from starts every weight from the checkpoint: drop "
                              "--pretrained / --weights, or drop --init-from")
        return _configs_for_fine_tuning(args, init_from, model_flags)
    weights = args.weights_path
    model_flags.update(pretrained=args.pretrained,
                       weights_path=None if weights is None else str(weights.resolve()))
    return resolve_configs(args.preset or "lite", args.config, model_flags, _train_flags(args))


def _default_start(args) -> Path | None:
    """The bundled demo model when ``meldae train`` is given no start of its own, else None.

    A new ``lite`` model trained from scratch on a few real people fits their appearance and
    barely carries over to a new face (docs/benchmarks.md, "Real faces"); the demo model has
    already learnt speech and ME motion on procedural faces and real footage, so fine-tuning
    it is the default start for ``lite``. ``--no-pretrained`` asks for random weights,
    ``--pretrained`` / ``--weights`` for an ImageNet backbone; other presets, ``--num-queries``
    and a ``--config`` that sets the model also start a new model.
    """
    from meldae.paths import demo_checkpoint
    from meldae.train.config import read_config_file

    if (args.pretrained is not None or args.weights_path is not None
            or args.num_queries is not None or (args.preset or "lite") != "lite"):
        return None
    if args.config is not None:
        file_preset, file_model, _ = read_config_file(args.config)
        if file_preset not in (None, "lite") or file_model:
            return None
    demo = demo_checkpoint()
    if not demo.is_file():
        log.warning("the bundled demo model (%s) is missing: training a new lite model from "
                    "random weights", demo)
        return None
    log.info("starting from the bundled demo model (%s), the default start of a lite model; "
             "--no-pretrained trains from random weights, --pretrained or --weights FILE from "
             "an ImageNet backbone", demo)
    return demo


def _configs_for_fine_tuning(args, init_from: Path, model_flags: dict):
    """Model config from the ``--init-from`` checkpoint; flags that disagree are an error.

    Raises:
        CheckpointError: missing files or not a MELDAE checkpoint.
        ConfigError: ``--preset``, ``--num-queries`` or ``--config`` ask for another model.
    """
    from dataclasses import replace

    from meldae.checkpoint import CheckpointError, checkpoint_paths, read_checkpoint_info
    from meldae.model import config_from_dict
    from meldae.train.config import (
        FINE_TUNE_EPOCHS, ConfigError, matching_preset, model_differences, read_config_file,
        resolve_configs,
    )

    st_path, json_path = checkpoint_paths(init_from)
    doc = read_checkpoint_info(json_path)
    if not st_path.is_file():
        raise CheckpointError(f"{st_path}: checkpoint weights not found (beside {json_path.name})")
    try:
        ckpt_cfg = config_from_dict(doc["model"])
    except ValueError as exc:
        raise CheckpointError(f"{json_path}: {exc}") from exc
    file_asks = False
    if args.config is not None:
        file_preset, file_model, _ = read_config_file(args.config)
        file_asks = bool(file_preset or file_model)
    name = args.preset or matching_preset(ckpt_cfg) or "lite"
    wanted, train_cfg = resolve_configs(name, args.config, model_flags, _train_flags(args))
    asked = args.preset is not None or file_asks or args.num_queries is not None
    differences = model_differences(wanted, ckpt_cfg) if asked else []
    if differences:
        raise ConfigError(f"--init-from {st_path}: the model's shape comes from the checkpoint, "
                          f"but the flags ask for {', '.join(differences)}")
    epochs_given = args.epochs is not None or (
        args.config is not None and "epochs" in read_config_file(args.config)[2])
    if not epochs_given and name in FINE_TUNE_EPOCHS:
        train_cfg = replace(train_cfg, epochs=FINE_TUNE_EPOCHS[name])
    train_cfg = replace(train_cfg, lr_backbone=train_cfg.backbone_lr(pretrained=True),
                        init_from=str(st_path.resolve()))
    return replace(ckpt_cfg, pretrained=False, weights_path=None), train_cfg


def _audio_settings(args):
    """``--speaking-from-audio``: the VAD settings; None when not asked for."""
    if not getattr(args, "speaking_from_audio", False):
        return None
    from meldae.audio import VadSettings

    return VadSettings(gap_s=args.speaking_gap)


def cmd_train(args) -> int:
    """Train (or resume) a run; errors become one line and an ``error`` event."""
    from meldae.cli import user_errors
    from meldae.train.distributed import detect_env
    from meldae.train.run import TrainingError, train_folder

    main_rank = detect_env().is_main
    try:
        model_cfg, train_cfg = _configs_for_train(args)
        result = train_folder(args.data, args.out, model_cfg, train_cfg, resume=args.resume,
                              device=args.device, json_progress=args.json_progress,
                              speaking_from_audio=_audio_settings(args))
    except (TrainingError, ValueError, *user_errors()) as exc:
        if main_rank:
            _emit_error(args, str(exc))
            print(f"meldae: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a crash: tell the app, then let the traceback show
        if main_rank:
            _emit_error(args, f"{type(exc).__name__}: {exc}")
        raise
    if not args.json_progress and main_rank:
        state = "stopped" if result.stopped else "finished"
        print(f"training {state}: {result.epochs_done} epoch(s); best checkpoint "
              f"{result.best_checkpoint} (epoch {result.best_epoch})")
        if args.speaking_from_audio:
            print(f"speaking labels from the audio: see {args.out / 'speaking_from_audio.json'}")
    return 0


def _add_evaluate(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="evaluate a checkpoint on a clip folder",
                              description="Evaluate a checkpoint with the paper's metrics; "
                              "threshold and post-processing come from the checkpoint "
                              "(chosen on the validation split by the trainer).")
    p.add_argument("data", type=Path, help="clip folder")
    p.add_argument("--checkpoint", type=Path, required=True, help="NAME.safetensors")
    p.add_argument("--split", default="test", choices=("train", "val", "test", "all"),
                   help="which clips to evaluate (default: test)")
    p.add_argument("--json", type=Path, default=None, dest="json_out", help="write the report")
    p.add_argument("--device", default="auto")
    p.add_argument("--stride", type=int, default=None,
                   help="window stride (default: the validated one, else T // 2)")
    p.add_argument("--scores-out", type=Path, default=None, metavar="DIR",
                   help="write each clip's scores as DIR/<clip>.npz (loc_scores, state_scores)")
    _add_protocol_flags(p)
    p.set_defaults(func=cmd_evaluate)


def _add_protocol_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--protocol", choices=("meldae", "megc"), default="meldae",
                   help="how hits are counted: meldae (one-to-one matching, default) or megc "
                   "(a ground truth found by any prediction with IoU >= 0.5, as the MEGC "
                   "2020-2022 baselines count)")
    p.add_argument("--megc-csv", type=Path, default=None, metavar="CSV",
                   help="also write the predicted intervals as a MEGC submission CSV "
                   "(vid,pred_onset,pred_offset,type; frames from 1)")


def _report(make_report, json_out: Path | None, megc_csv: Path | None = None) -> int:
    """Run ``make_report()``, print its table and write its JSON (and MEGC CSV); one line on
    a bad input."""
    from meldae.evaluate import EvaluationError, format_report, report_megc_rows, write_report
    from meldae.megc import write_megc_csv

    try:
        report = make_report()
    except EvaluationError as exc:
        print(f"meldae: error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    if json_out:
        write_report(report, json_out)
    if megc_csv:
        write_megc_csv(megc_csv, report_megc_rows(report))
        print(f"MEGC submission CSV: {megc_csv}")
    return 0


def cmd_evaluate(args) -> int:
    """Evaluate and print the table (and write JSON)."""
    from meldae.evaluate import evaluate_checkpoint

    return _report(lambda: evaluate_checkpoint(args.data, args.checkpoint, split=args.split,
                                               device=args.device, stride=args.stride,
                                               scores_out=args.scores_out,
                                               protocol=args.protocol),
                   args.json_out, args.megc_csv)


def _add_experiment(subparsers) -> None:
    p = subparsers.add_parser("experiment", help="run one of the paper's experiments",
                              description="Run a named experiment of the paper (Table 2, "
                              "Tables 3-4, Figure 4) as the paper ran it: the paper preset "
                              "(pretrained ViT-B/16), 20 epochs, batch 16; thresholds chosen on "
                              "validation, figures on a subject-level test split (created when "
                              "the folder has none). Runs of identical configurations under the "
                              "same --out are trained once and shared between tables. "
                              "--preset tiny makes any experiment a quick CPU smoke run.")
    p.add_argument("name", nargs="?", help="experiment name (see --list)")
    p.add_argument("data", nargs="?", type=Path, help="clip folder")
    p.add_argument("--list", action="store_true", help="list the experiments")
    p.add_argument("--out", type=Path, default=None, help="output folder")
    p.add_argument("--preset", choices=PRESET_CHOICES, default="paper",
                   help="model and training preset every run starts from (default: paper)")
    p.add_argument("--config", type=Path, default=None)
    p.add_argument("--epochs", type=int, default=None, help="default: the preset's (paper: 20)")
    p.add_argument("--device", default="auto")
    p.add_argument("--json-progress", action="store_true")
    p.add_argument("--max-steps", type=int, default=None, dest="max_steps")
    p.set_defaults(func=cmd_experiment)


def cmd_experiment(args) -> int:
    """List or run experiments."""
    from meldae.evaluate import EvaluationError
    from meldae.experiments import describe_experiments, run_experiment
    from meldae.train.config import ConfigError
    from meldae.train.run import TrainingError

    if args.list:
        print("\n".join(describe_experiments()))
        return 0
    if not args.name or args.data is None or args.out is None:
        print("meldae: error: experiment needs NAME DATA --out DIR (or --list)", file=sys.stderr)
        return 2
    overrides = {"max_steps_per_epoch": args.max_steps} if args.max_steps else None
    try:
        doc = run_experiment(args.name, args.data, args.out, args.preset, args.epochs,
                             args.device, args.json_progress, overrides, args.config)
    except (KeyError, ConfigError, TrainingError, EvaluationError) as exc:
        print(f"meldae: error: {exc.args[0]}", file=sys.stderr)
        return 2
    if not args.json_progress:
        print((args.out / "results.md").read_text(encoding="utf-8"))
    log.info("results: %s", doc.get("plot") or args.out / "results.json")
    return 0


def _add_baseline(subparsers) -> None:
    p = subparsers.add_parser("baseline", help="LBP-TOP / LBP-SIP / frame-difference baselines",
                              description="Spot MEs with LBP-TOP or LBP-SIP features and an "
                              "MDMD-style feature difference, or with plain frame differences "
                              "(frame-diff, which also scores speaking from the mouth region); "
                              "the threshold is chosen on the validation split, the metrics "
                              "are computed on --split.")
    p.add_argument("method", choices=("lbp-top", "lbp-sip", "frame-diff"))
    p.add_argument("data", type=Path, help="clip folder")
    p.add_argument("--split", default="test", choices=("train", "val", "test", "all"))
    p.add_argument("--json", type=Path, default=None, dest="json_out")
    p.add_argument("--crop-size", type=int, default=96, help="face crop size for the features")
    p.add_argument("--interval", type=int, default=None,
                   help="k: compare frame t with t-k and t+k (default: chosen on validation)")
    p.add_argument("--tune-on", type=Path, default=None, dest="tune_on", metavar="DIR",
                   help="choose threshold and k on the validation split of DIR (e.g. the "
                   "training folder of the model it is compared with) instead of DATA's")
    _add_protocol_flags(p)
    p.set_defaults(func=cmd_baseline)


def cmd_baseline(args) -> int:
    """Run a baseline and print its table (and write JSON)."""
    from meldae.baselines import run_baseline

    return _report(lambda: run_baseline(args.method, args.data, split=args.split,
                                        crop_size=args.crop_size, interval=args.interval,
                                        tune_dir=args.tune_on, protocol=args.protocol),
                   args.json_out, args.megc_csv)
