"""The trainer: one process or one rank of a torchrun job.

``Trainer.fit`` runs epochs of optimiser steps, validates after every epoch, writes
``last`` and ``best`` checkpoints and the train state (exact resume), and reports progress
events. SIGTERM or SIGINT finish the current step, save ``last`` and the train state, and
return normally, so that stopping a run always leaves a usable checkpoint.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from meldae.atomic import atomic_write_text
from meldae.train import distributed as D
from meldae.train.config import TrainConfig, configs_to_json
from meldae.train.data_loading import EpochLoader
from meldae.train.measure import fixed_postprocessing, select_postprocessing
from meldae.train.optim import batch_losses, build_optimizer, build_scheduler, seed_step, to_device
from meldae.train.progress import ProgressReporter
from meldae.train.state import Position, has_train_state, load_train_state, save_train_state
from meldae.train.validate import EvalClip, score_clips

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a finished (or stopped) run produced."""

    run_dir: Path
    best_checkpoint: Path | None
    last_checkpoint: Path | None
    best_epoch: int
    epochs_done: int
    stopped: bool                                   # ended by a stop request, not by finishing
    step_losses: list[float] = field(default_factory=list)   # this process's steps, in order
    history: list[dict[str, Any]] = field(default_factory=list)  # the epoch events


class _StopFlag:
    """SIGTERM/SIGINT set a flag; a second SIGINT interrupts for real."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:  # noqa: ARG002 (signal handler signature)
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("stop requested (signal %d): finishing the current step", signum)

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


class Trainer:
    """Trains a MELDAE model on a window dataset and validates on whole clips.

    Args:
        model_cfg: the model's ``MELDAEConfig``.
        train_cfg: the ``TrainConfig``.
        run_dir: the run folder (created).
        train_set: a dataset of window items (see ``meldae.data.WindowDataset``).
        val_clips: whole validation clips; may be empty (then ``best`` follows ``last``).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        json_progress: print progress events as JSON lines on stdout.
        progress_bar: tqdm on stderr (None: when stderr is a terminal).
        meta: extra checkpoint metadata (e.g. ``trained_on``).
    """

    def __init__(self, model_cfg, train_cfg: TrainConfig, run_dir: Path, train_set,
                 val_clips: list[EvalClip], device: str = "auto", json_progress: bool = False,
                 progress_bar: bool | None = None, meta: dict[str, Any] | None = None) -> None:
        self.model_cfg, self.cfg = model_cfg, train_cfg
        self.run_dir = Path(run_dir)
        self.train_set, self.val_clips = train_set, list(val_clips)
        self.env = D.detect_env()
        self.device = D.pick_device(device, self.env)
        D.init_distributed(self.env, self.device)
        self.meta = dict(meta or {})
        self.reporter = ProgressReporter(self.run_dir, json_progress=json_progress,
                                         enabled=self.env.is_main, progress_bar=progress_bar)
        if train_cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        self.model = self._build_model()
        self.loader = EpochLoader(train_set, train_cfg, self.env)
        self.steps_per_epoch = self.loader.steps_per_epoch
        pretrained = bool(model_cfg.pretrained or model_cfg.weights_path)
        self.optimizer = build_optimizer(self.model, train_cfg, pretrained)
        self.scheduler = build_scheduler(self.optimizer, train_cfg, self.steps_per_epoch)
        self.ddp_model = self._wrap(self.model)
        self.position = Position()
        self.postprocessing = fixed_postprocessing(train_cfg).to_meta("train config")
        self._stop = _StopFlag()
        self.timings: list[tuple[float, float]] = []   # per step: (data wait s, step s)

    def _build_model(self):
        from meldae.model import MELDAE

        torch.manual_seed(self.cfg.seed)      # identical initial weights on every rank
        return MELDAE(self.model_cfg).to(self.device).train()

    def _wrap(self, model):
        if not self.env.is_distributed:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    # ----------------------------------------------------------------- files
    def _checkpoint_meta(self, epoch: int, val: dict[str, Any]) -> dict[str, Any]:
        return {**self.meta, "epoch": epoch, "global_step": self.position.global_step,
                "val": val, "postprocessing": dict(self.postprocessing),
                "train": configs_to_json(self.model_cfg, self.cfg)["train"]}

    def _save(self, kind: str, epoch: int, val: dict[str, Any]) -> Path:
        from meldae.checkpoint import save_checkpoint

        path = save_checkpoint(self.run_dir / kind, self.model, self._checkpoint_meta(epoch, val))
        return Path(path)

    def _save_last_and_state(self, epoch_label: int, val: dict[str, Any]) -> Path | None:
        """Rank 0 writes ``last`` and the train state; every rank waits for it."""
        path = None
        if self.env.is_main:
            self.position.elapsed_s = self._elapsed()
            path = self._save("last", epoch_label, val)
            save_train_state(self.run_dir, self.optimizer, self.scheduler, self.position)
            self.reporter.emit({"event": "checkpoint", "kind": "last", "path": str(path),
                                "epoch": epoch_label})
        D.barrier(self.env)
        return path

    def _write_config(self) -> None:
        if self.env.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            text = json.dumps(configs_to_json(self.model_cfg, self.cfg), indent=2) + "\n"
            atomic_write_text(self.run_dir / "config.json", text)

    def _resume(self) -> None:
        from meldae.checkpoint import load_weights, read_checkpoint_info

        last = self.run_dir / "last.safetensors"
        if not has_train_state(self.run_dir) or not last.is_file():
            raise FileNotFoundError(f"{self.run_dir}: nothing to resume (no last checkpoint "
                                    "and train state)")
        load_weights(self.model, last)
        self.position = load_train_state(self.run_dir, self.optimizer, self.scheduler)
        post = read_checkpoint_info(last)["meta"].get("postprocessing")
        if post:
            self.postprocessing = post
        log.info("resumed %s at epoch %d step %d", self.run_dir, self.position.epoch,
                 self.position.step)

    # ----------------------------------------------------------------- loop
    def _elapsed(self) -> float:
        return self._prior_elapsed + (time.monotonic() - self._t0)

    def fit(self, resume: bool = False, stop_after_steps: int | None = None) -> TrainResult:
        """Train until ``cfg.epochs`` are done or a stop is requested.

        Args:
            resume: continue from ``RUN/last`` + ``RUN/train_state`` exactly.
            stop_after_steps: behave as if a stop was requested after this many optimiser
                steps of this call (for tests and tools).

        Returns:
            The run's ``TrainResult``.
        """
        self._t0, self._prior_elapsed = time.monotonic(), 0.0
        result = TrainResult(self.run_dir, None, None, 0, 0, False)
        if resume:
            self._resume()
            self._prior_elapsed = self.position.elapsed_s
        self._write_config()
        self.reporter.emit({"event": "start", "run_dir": str(self.run_dir),
                            "device": str(self.device), "epochs": self.cfg.epochs,
                            "steps_per_epoch": self.steps_per_epoch,
                            "resumed_from_epoch": self.position.epoch,
                            "world_size": self.env.world_size})
        with self._stop:
            stopped = self._epochs(result, stop_after_steps)
        result.stopped = stopped
        result.epochs_done = self.position.epoch
        result.best_epoch = self.position.best_epoch
        best = self.run_dir / "best.safetensors"
        result.best_checkpoint = best if best.is_file() else None
        last = self.run_dir / "last.safetensors"
        result.last_checkpoint = last if last.is_file() else None
        best_path = str(best) if best.is_file() else None
        self.reporter.emit({"event": "done", "best_checkpoint": best_path,
                            "best_epoch": self.position.best_epoch,
                            "elapsed_s": self._elapsed(), "stopped": stopped})
        self.reporter.close()
        return result

    def _epochs(self, result: TrainResult, stop_after_steps: int | None) -> bool:
        """Run the remaining epochs; True when a stop request ended them early."""
        steps_this_call = 0
        while self.position.epoch < self.cfg.epochs:
            epoch = self.position.epoch
            epoch_t0 = time.monotonic()
            losses: list[float] = []
            self.reporter.start_epoch(epoch + 1, self.steps_per_epoch, self.position.step)
            fetch_t0 = time.perf_counter()
            for batch in self.loader.batches(epoch, skip_steps=self.position.step,
                                             before_fetch=self._seed_step):
                step_t0 = time.perf_counter()
                parts = self._step(batch)
                self.timings.append((step_t0 - fetch_t0, time.perf_counter() - step_t0))
                losses.append(parts["loss"])
                result.step_losses.append(parts["loss"])
                steps_this_call += 1
                self._report_step(epoch, parts)
                limit_hit = stop_after_steps is not None and steps_this_call >= stop_after_steps
                if self._after_step(epoch, limit_hit):
                    return True
                fetch_t0 = time.perf_counter()
            self._end_epoch(epoch, losses, epoch_t0, result)
            if self.position.epoch < self.cfg.epochs and \
                    D.any_rank(self._stop.requested, self.env, self.device):
                return True              # asked during validation: last + state just saved
        return False

    def _after_step(self, epoch: int, limit_hit: bool) -> bool:
        """Save on a stop request (True: stop now) or every ``state_every_steps`` steps."""
        if D.any_rank(self._stop.requested or limit_hit, self.env, self.device):
            self._save_last_and_state(epoch, self._last_val())
            return True
        if self.cfg.state_every_steps and \
                self.position.global_step % self.cfg.state_every_steps == 0:
            self._save_last_and_state(epoch, self._last_val())
        return False

    def _seed_step(self) -> None:
        """Seed the RNGs for the next step: augmentation and dropout of step k are then the
        same whether or not the run was stopped and resumed in between."""
        seed_step(self.cfg.seed, self.env.rank, self.position.global_step)

    def _step(self, batch: dict[str, Any]) -> dict[str, float]:
        batch = to_device(batch, self.device)
        use_amp = self.device.type == "cuda"
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=use_amp):
            frames = self.model.prepare(batch["frames"])                       # (B, T, 3, S, S)
            out = self.ddp_model(frames, need_attention=False)                 # heads (B, T)
        parts = batch_losses(out, batch, self.cfg)
        self.optimizer.zero_grad(set_to_none=True)
        parts["loss"].backward()
        if self.cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        lrs = {g.get("name"): g["lr"] for g in self.optimizer.param_groups}
        self.scheduler.step()
        self.position.step += 1
        self.position.global_step += 1
        keys = ("loss", "loss_me", "loss_state", "loss_loc")
        values = D.mean_over_ranks([float(parts[k].detach()) for k in keys], self.env, self.device)
        # the rate this step used (the new parts' group: the one the paper quotes as 5e-4)
        return {**dict(zip(keys, values)), "lr": lrs.get("new", lrs.get("backbone"))}

    def _report_step(self, epoch: int, parts: dict[str, float]) -> None:
        self.reporter.emit({"event": "step", "epoch": epoch + 1, "step": self.position.step,
                            "global_step": self.position.global_step, **parts,
                            "elapsed_s": self._elapsed()})

    def _last_val(self) -> dict[str, Any]:
        return dict(self.position.extra.get("last_val", {}))

    def _validate(self) -> dict[str, Any]:
        """Score this rank's share of the validation clips; rank 0 measures them all."""
        mine = self.val_clips[self.env.rank::self.env.world_size]
        stride = self.cfg.val_stride or max(1, self.model_cfg.num_frames // 2)
        scores = score_clips(self.model, mine, stride, batch_size=self.loader.per_rank_batch)
        gathered = D.gather_to_main(scores, self.env)
        if not self.env.is_main or not self.val_clips:
            return {}
        all_scores = [s for part in gathered for s in part]
        by_name = {c.name: c for c in self.val_clips}
        clips = [by_name[s.name] for s in all_scores]
        post, metrics = select_postprocessing(clips, all_scores, self.cfg)
        self.postprocessing = post
        return metrics

    def _end_epoch(self, epoch: int, losses: list[float], epoch_t0: float,
                   result: TrainResult) -> None:
        val = self._validate()
        self.position.epoch, self.position.step = epoch + 1, 0
        done = epoch + 1
        if self.env.is_main:
            self.position.extra["last_val"] = val
            train_loss = sum(losses) / len(losses) if losses else float("nan")
            per_epoch = time.monotonic() - epoch_t0
            event = {"event": "epoch", "epoch": done, "train_loss": train_loss, "val": val,
                     "elapsed_s": self._elapsed(),
                     "eta_s": per_epoch * (self.cfg.epochs - done)}
            self.reporter.emit(event)
            result.history.append(event)
            self._maybe_best(done, val)
        self._save_last_and_state(done, val)

    def _maybe_best(self, epoch: int, val: dict[str, Any]) -> None:
        """Write ``best`` when validation F1_DR improved (ties broken by F1)."""
        f1_dr = float(val.get("f1_dr", 0.0)) if val else 0.0
        f1 = float(val.get("f1", 0.0)) if val else 0.0
        pos = self.position
        if (f1_dr, f1) > (pos.best_f1_dr, pos.best_f1) or not val:
            pos.best_f1_dr, pos.best_f1, pos.best_epoch = f1_dr, f1, epoch
            path = self._save("best", epoch, val)
            self.reporter.emit({"event": "checkpoint", "kind": "best", "path": str(path),
                                "epoch": epoch, "f1_dr": f1_dr})
