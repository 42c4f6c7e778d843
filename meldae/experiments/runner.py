"""Running an experiment: its variants one after the other through the same trainer.

``DIR/<variant>/`` is each variant's run folder (checkpoints, log.csv, config.json);
``DIR/results.md`` and ``DIR/results.json`` hold the table with the paper's numbers beside
ours; Figure 4 also gets ``DIR/f1_dr_per_epoch.png``. Every run has a test split and a
configuration trained before under ``DIR`` is not trained again
(:mod:`meldae.experiments.protocol`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from meldae.atomic import atomic_write, atomic_write_text
from meldae.experiments.catalog import Experiment, get_experiment
from meldae.experiments.protocol import HeldOutSplit, RunIndex
from meldae.experiments.runs import experiment_overrides, run_variant

log = logging.getLogger(__name__)


def _atomic_text(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def run_experiment(name: str, data_dir: Path, out_dir: Path, preset_name: str = "paper",
                   epochs: int | None = None, device: str = "auto", json_progress: bool = False,
                   train_overrides: dict[str, Any] | None = None,
                   config_file: Path | None = None) -> dict[str, Any]:
    """Run every variant of experiment ``name`` and write its results table.

    Args:
        name: an experiment of ``meldae.experiments.EXPERIMENTS``.
        data_dir: the clip folder.
        out_dir: where the runs and the results go.
        preset_name: the model preset every variant starts from (default: the paper's).
        epochs: override the preset's epochs (the paper trains for 20).
        device: ``auto``, ``cpu`` or ``cuda``.
        json_progress: progress events of every run on stdout.
        train_overrides: more ``TrainConfig`` values for every variant.
        config_file: a JSON config file applied under each variant's overrides.

    Returns:
        The results document (also written to ``out_dir/results.json``).
    """
    experiment = get_experiment(name)
    if experiment.baselines:
        from meldae.experiments.table2 import run_table2

        return run_table2(experiment, Path(data_dir), Path(out_dir), preset_name, epochs,
                          device, json_progress, train_overrides, config_file)
    out_dir, data_dir = Path(out_dir), Path(data_dir)
    overrides, split = experiment_overrides(data_dir, preset_name, train_overrides, config_file)
    index = RunIndex(out_dir)
    rows = []
    for variant in experiment.variants:
        log.info("experiment %s: %s", name, variant.name)
        rows.append(run_variant(variant, data_dir, out_dir, preset_name, epochs, device,
                                json_progress, overrides, config_file, index))
        write_results(experiment, rows, out_dir, preset_name, data_dir, split)
    return write_results(experiment, rows, out_dir, preset_name, data_dir, split)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100.0 * float(value):.2f}"


def results_markdown(experiment: Experiment, rows: list[dict[str, Any]], preset_name: str,
                     data_dir: Path, split: HeldOutSplit | None = None) -> str:
    """The results table in markdown (F1 values in percent, as in the paper)."""
    lines = [f"# {experiment.title}", "",
             f"Paper: {experiment.source} (WDMD, F1_DR in %). Ours: preset `{preset_name}` on "
             f"`{data_dir}`; test F1_DR and F1 of the best epoch, with the threshold, the "
             "post-processing and the epoch chosen on validation (validation F1_DR beside it). "
             "The paper's numbers are for reference only: different data, model size and "
             "training length."]
    if split is not None:
        lines += ["", split.describe() + "."]
    lines += ["", "| Run | Paper F1_DR | Ours test F1_DR | Ours test F1 | Ours val F1_DR | "
              "Best epoch | Trained |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        test = row.get("test") or {}
        paper = "–" if row["paper_f1_dr"] is None else f"{row['paper_f1_dr']:.2f}"
        shared = f"shared with `{Path(row['shared_with']).name}`" if row.get("shared_with") else "here"
        lines.append(f"| {row['label']} | {paper} | {_pct(test.get('f1_dr'))} | "
                     f"{_pct(test.get('f1'))} | {_pct(row['val'].get('f1_dr'))} | "
                     f"{row['best_epoch']} | {shared} |")
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
                  preset_name: str, data_dir: Path,
                  split: HeldOutSplit | None = None) -> dict[str, Any]:
    """Write ``results.md``, ``results.json`` (and the Figure 4 PNG); return the document."""
    doc = {"experiment": experiment.name, "title": experiment.title, "source": experiment.source,
           "preset": preset_name, "data": str(data_dir), "runs": rows,
           "test_split": None if split is None else split.to_json()}
    _atomic_text(out_dir / "results.json", json.dumps(doc, indent=2) + "\n")
    _atomic_text(out_dir / "results.md",
                 results_markdown(experiment, rows, preset_name, data_dir, split))
    if experiment.plot_curves and rows:
        doc["plot"] = str(plot_curves(rows, out_dir / "f1_dr_per_epoch.png"))
    return doc
