"""Running an experiment: its variants one after the other through the same trainer.

``DIR/<variant>/`` is each variant's run folder (checkpoints, log.csv, config.json);
``DIR/results.md`` and ``DIR/results.json`` hold the table with the paper's numbers beside
ours; Figure 4 also gets ``DIR/f1_dr_per_epoch.png``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from meldae.atomic import atomic_write, atomic_write_text
from meldae.experiments.catalog import Experiment, Variant, get_experiment

log = logging.getLogger(__name__)


def _atomic_text(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def _variant_configs(variant: Variant, preset_name: str, epochs: int | None,
                     train_overrides: dict[str, Any] | None, config_file: Path | None):
    from meldae.train.config import resolve_configs

    train_flags = {**(train_overrides or {}), **variant.train}
    if epochs is not None:
        train_flags["epochs"] = epochs
    return resolve_configs(preset_name, config_file, model_flags=dict(variant.model),
                           train_flags=train_flags)


def run_variant(variant: Variant, data_dir: Path, out_dir: Path, preset_name: str,
                epochs: int | None = None, device: str = "auto", json_progress: bool = False,
                train_overrides: dict[str, Any] | None = None,
                config_file: Path | None = None) -> dict[str, Any]:
    """Train one variant and evaluate its best checkpoint.

    Returns:
        A results row: name, label, paper F1_DR, our validation metrics of the best epoch,
        the F1_DR of every epoch, and the test metrics when the data has a test split.
    """
    from meldae.evaluate import evaluate_checkpoint
    from meldae.train.run import train_folder

    model_cfg, train_cfg = _variant_configs(variant, preset_name, epochs, train_overrides,
                                            config_file)
    run_dir = out_dir / variant.name
    result = train_folder(data_dir, run_dir, model_cfg, train_cfg, device=device,
                          json_progress=json_progress)
    curve = [ev["val"].get("f1_dr") for ev in result.history]
    best_val = next((ev["val"] for ev in result.history if ev["epoch"] == result.best_epoch), {})
    row: dict[str, Any] = {
        "name": variant.name, "label": variant.label, "paper_f1_dr": variant.paper_f1_dr,
        "best_epoch": result.best_epoch, "val": best_val, "f1_dr_per_epoch": curve,
        "run_dir": str(run_dir), "stopped": result.stopped, "test": None,
    }
    if result.best_checkpoint is not None and not result.stopped:
        try:
            report = evaluate_checkpoint(data_dir, result.best_checkpoint, split="test",
                                         device=device)
        except ValueError as exc:     # no test split in this folder
            log.info("%s: no test evaluation (%s)", variant.name, exc)
        else:
            row["test"] = report["overall"]
    return row


def run_experiment(name: str, data_dir: Path, out_dir: Path, preset_name: str = "lite",
                   epochs: int | None = None, device: str = "auto", json_progress: bool = False,
                   train_overrides: dict[str, Any] | None = None,
                   config_file: Path | None = None) -> dict[str, Any]:
    """Run every variant of experiment ``name`` and write its results table.

    Args:
        name: an experiment of ``meldae.experiments.EXPERIMENTS``.
        data_dir: the clip folder.
        out_dir: where the runs and the results go.
        preset_name: the model preset every variant starts from.
        epochs: override the preset's epochs (the paper trains Figure 4 for 20).
        device: ``auto``, ``cpu`` or ``cuda``.
        json_progress: progress events of every run on stdout.
        train_overrides: more ``TrainConfig`` values for every variant.
        config_file: a JSON config file applied under each variant's overrides.

    Returns:
        The results document (also written to ``out_dir/results.json``).
    """
    experiment = get_experiment(name)
    out_dir = Path(out_dir)
    rows = []
    for variant in experiment.variants:
        log.info("experiment %s: training %s", name, variant.name)
        rows.append(run_variant(variant, Path(data_dir), out_dir, preset_name, epochs, device,
                                json_progress, train_overrides, config_file))
        write_results(experiment, rows, out_dir, preset_name, Path(data_dir))
    return write_results(experiment, rows, out_dir, preset_name, Path(data_dir))


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100.0 * float(value):.2f}"


def results_markdown(experiment: Experiment, rows: list[dict[str, Any]], preset_name: str,
                     data_dir: Path) -> str:
    """The results table in markdown (F1 values in percent, as in the paper)."""
    lines = [f"# {experiment.title}", "",
             f"Paper: {experiment.source} (WDMD, F1_DR in %). Ours: preset `{preset_name}` on "
             f"`{data_dir}`; validation F1_DR of the best epoch (threshold and post-processing "
             "chosen on validation), test F1_DR when the data has a test split. The paper's "
             "numbers are for reference only: different data, model size and training length.",
             "", "| Run | Paper F1_DR | Ours val F1_DR | Ours val F1 | Ours test F1_DR | "
             "Ours test F1 | Best epoch |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        test = row.get("test") or {}
        paper = "–" if row["paper_f1_dr"] is None else f"{row['paper_f1_dr']:.2f}"
        lines.append(f"| {row['label']} | {paper} | {_pct(row['val'].get('f1_dr'))} | "
                     f"{_pct(row['val'].get('f1'))} | {_pct(test.get('f1_dr'))} | "
                     f"{_pct(test.get('f1'))} | {row['best_epoch']} |")
    if experiment.plot_curves:
        lines += ["", "F1_DR per epoch (validation): `f1_dr_per_epoch.png`."]
    return "\n".join(lines) + "\n"


def plot_curves(rows: list[dict[str, Any]], path: Path) -> Path:
    """Figure 4 style plot: validation F1_DR per epoch for every run; the paper's converged
    values as dotted lines of the same colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for i, row in enumerate(rows):
        color = f"C{i}"
        curve = [float("nan") if v is None else v for v in row["f1_dr_per_epoch"]]
        ax.plot(range(1, len(curve) + 1), curve, marker="o", ms=3, color=color, label=row["label"])
        if row["paper_f1_dr"] is not None:
            ax.axhline(row["paper_f1_dr"] / 100.0, color=color, ls=":", lw=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("F1_DR (validation)")
    ax.set_title("Localisation losses (dotted: paper, WDMD, converged)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, fig.savefig, suffix=".png")
    plt.close(fig)
    return path


def write_results(experiment: Experiment, rows: list[dict[str, Any]], out_dir: Path,
                  preset_name: str, data_dir: Path) -> dict[str, Any]:
    """Write ``results.md``, ``results.json`` (and the Figure 4 PNG); return the document."""
    doc = {"experiment": experiment.name, "title": experiment.title, "source": experiment.source,
           "preset": preset_name, "data": str(data_dir), "runs": rows}
    _atomic_text(out_dir / "results.json", json.dumps(doc, indent=2) + "\n")
    _atomic_text(out_dir / "results.md", results_markdown(experiment, rows, preset_name, data_dir))
    if experiment.plot_curves and rows:
        doc["plot"] = str(plot_curves(rows, out_dir / "f1_dr_per_epoch.png"))
    return doc
