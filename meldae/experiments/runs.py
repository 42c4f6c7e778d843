"""One run of an experiment: its configuration, training (or reuse) and test evaluation,
shared by the tables (:mod:`meldae.experiments.runner`, :mod:`meldae.experiments.table2`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from meldae.experiments.catalog import Variant
from meldae.experiments.protocol import HeldOutSplit, RunIndex, config_digest, held_out_split

log = logging.getLogger(__name__)


def variant_configs(variant: Variant, preset_name: str, epochs: int | None,
                    train_overrides: dict[str, Any] | None, config_file: Path | None):
    """(MELDAEConfig, TrainConfig) of a variant: preset, config file, the experiment's train
    overrides, then the variant's own overrides and ``epochs``."""
    from meldae.train.config import resolve_configs

    train_flags = {**(train_overrides or {}), **variant.train}
    if epochs is not None:
        train_flags["epochs"] = epochs
    return resolve_configs(preset_name, config_file, model_flags=dict(variant.model),
                           train_flags=train_flags)


def run_variant(variant: Variant, data_dir: Path, out_dir: Path, preset_name: str,
                epochs: int | None = None, device: str = "auto", json_progress: bool = False,
                train_overrides: dict[str, Any] | None = None,
                config_file: Path | None = None, index: RunIndex | None = None) -> dict[str, Any]:
    """Train one variant (or reuse the identical run recorded in ``index``) and evaluate its
    best checkpoint on the test split.

    Returns:
        A results row: name, label, paper F1_DR, our validation metrics of the best epoch,
        the F1_DR of every epoch, the test metrics, and ``shared_with`` when the run was
        trained before for another variant.
    """
    model_cfg, train_cfg = variant_configs(variant, preset_name, epochs, train_overrides,
                                           config_file)
    digest = config_digest(model_cfg, train_cfg, data_dir)
    index = index or RunIndex(out_dir)
    done = index.get(digest)
    if done is not None:
        log.info("%s: same configuration as %s; not trained again", variant.name, done["run_dir"])
        return {**done, "name": variant.name, "label": variant.label,
                "paper_f1_dr": variant.paper_f1_dr, "shared_with": done["run_dir"]}
    row = _train_and_test(variant, data_dir, out_dir / variant.name, model_cfg, train_cfg,
                          device, json_progress)
    if not row["stopped"]:
        index.put(digest, {k: row[k] for k in ("run_dir", "best_epoch", "val", "f1_dr_per_epoch",
                                               "test", "stopped", "checkpoint")})
    return row


def _train_and_test(variant: Variant, data_dir: Path, run_dir: Path, model_cfg, train_cfg,
                    device: str, json_progress: bool) -> dict[str, Any]:
    from meldae.evaluate import EvaluationError, evaluate_checkpoint
    from meldae.train.run import train_folder

    result = train_folder(data_dir, run_dir, model_cfg, train_cfg, device=device,
                          json_progress=json_progress)
    curve = [ev["val"].get("f1_dr") for ev in result.history]
    best_val = next((ev["val"] for ev in result.history if ev["epoch"] == result.best_epoch), {})
    row: dict[str, Any] = {
        "name": variant.name, "label": variant.label, "paper_f1_dr": variant.paper_f1_dr,
        "best_epoch": result.best_epoch, "val": best_val, "f1_dr_per_epoch": curve,
        "run_dir": str(run_dir), "stopped": result.stopped, "test": None,
        "checkpoint": None if result.best_checkpoint is None else str(result.best_checkpoint),
    }
    if result.best_checkpoint is not None and not result.stopped:
        try:
            report = evaluate_checkpoint(data_dir, result.best_checkpoint, split="test",
                                         device=device)
        except EvaluationError as exc:
            log.warning("%s: no test evaluation (%s)", variant.name, exc)
        else:
            row["test"] = report["overall"]
    return row


def experiment_overrides(data_dir: Path, preset_name: str, train_overrides: dict[str, Any] | None,
                         config_file: Path | None) -> tuple[dict[str, Any], HeldOutSplit]:
    """The train overrides of every run (a created test split included) and the test split."""
    from meldae.train.config import resolve_configs

    _, base = resolve_configs(preset_name, config_file, train_flags=dict(train_overrides or {}))
    split = held_out_split(Path(data_dir), base)
    overrides = dict(train_overrides or {})
    if split.test_fraction is not None:
        overrides["test_fraction"] = split.test_fraction
    log.info("%s", split.describe())
    return overrides, split
