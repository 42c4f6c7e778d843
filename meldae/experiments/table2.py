"""``meldae experiment table2 DATA``: the paper's Table 2 on one's own data.

Rows: LBP-TOP and LBP-SIP (``meldae.baselines``), MELDAE* (no enhancer) and MELDAE, in the
paper's order. Every row is measured on the same test clips; the baselines' interval,
threshold and post-processing are chosen on the same validation clips the models choose
theirs on (the experiment's split, :mod:`meldae.experiments.protocol`). Columns: F1 in the
speaking and the listening context, F1_DR, UF1 when the data has expression classes
(micro / macro labels, as the converters write them), Acc_ME for the models, and the
paper's WDMD F1_DR for reference. The two models are shared with Table 3 (same
configurations under the same output folder).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from meldae.atomic import atomic_write_text
from meldae.experiments.catalog import Experiment
from meldae.experiments.protocol import HeldOutSplit, RunIndex

log = logging.getLogger(__name__)

BASELINE_CROP = 96   # face-crop size of the LBP features (``meldae baseline`` default)


def _splits(data_dir: Path, preset_name: str, overrides: dict[str, Any], config_file: Path | None):
    """The experiment's SplitSet, exactly as the trainer will split the folder."""
    from meldae.train.config import resolve_configs
    from meldae.train.run import split_folder

    _, train_cfg = resolve_configs(preset_name, config_file, train_flags=overrides)
    return split_folder(data_dir, train_cfg)


def run_table2(experiment: Experiment, data_dir: Path, out_dir: Path, preset_name: str,
               epochs: int | None, device: str, json_progress: bool,
               train_overrides: dict[str, Any] | None, config_file: Path | None) -> dict[str, Any]:
    """Score the baselines, train (or reuse) the models, write ``table2.md`` / ``.json``.

    Returns:
        The results document (also ``out_dir/results.json``).
    """
    from meldae.baselines import run_baseline
    from meldae.experiments.runs import experiment_overrides, run_variant

    overrides, split = experiment_overrides(data_dir, preset_name, train_overrides, config_file)
    splits = _splits(data_dir, preset_name, overrides, config_file)
    rows: list[dict[str, Any]] = []
    for method, label, paper in experiment.baselines:
        log.info("table2: baseline %s", method)
        report = run_baseline(method, data_dir, split="test", crop_size=BASELINE_CROP,
                              splits=splits)
        rows.append({"name": method, "label": label, "paper_f1_dr": paper, "kind": "baseline",
                     "test": report["overall"], "interval": report["interval"],
                     "postprocessing": report["postprocessing"]})
        write_table2(experiment, rows, out_dir, preset_name, data_dir, split)
    index = RunIndex(out_dir)
    for variant in experiment.variants:
        log.info("table2: %s", variant.name)
        row = run_variant(variant, data_dir, out_dir, preset_name, epochs, device, json_progress,
                          overrides, config_file, index)
        rows.append({**row, "kind": "model"})
        write_table2(experiment, rows, out_dir, preset_name, data_dir, split)
    return write_table2(experiment, rows, out_dir, preset_name, data_dir, split)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100.0 * float(value):.2f}"


def table2_markdown(rows: list[dict[str, Any]], preset_name: str, data_dir: Path,
                    split: HeldOutSplit | None) -> str:
    """The table in the paper's layout (values in percent)."""
    with_uf1 = any((r.get("test") or {}).get("uf1") is not None for r in rows)
    head = ["Model", "F1_speaking", "F1_listening", "F1_DR"] + (["UF1"] if with_uf1 else []) \
        + ["Acc_ME", "Paper F1_DR (WDMD)"]
    lines = ["# Comparison with baselines (Table 2)", "",
             f"Ours: preset `{preset_name}` on `{data_dir}`, test split; every threshold, "
             "post-processing and epoch chosen on the validation split. The paper's numbers "
             "are WDMD's, for reference only."]
    if split is not None:
        lines += ["", split.describe() + "."]
    if not with_uf1:
        lines += ["", "No UF1: the data has no expression classes (micro/macro labels)."]
    lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        test = row.get("test") or {}
        cells = [row["label"], _pct(test.get("f1_speaking")), _pct(test.get("f1_listening")),
                 _pct(test.get("f1_dr"))]
        if with_uf1:
            cells.append(_pct(test.get("uf1")))
        cells += [_pct(test.get("acc_me")), f"{row['paper_f1_dr']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_table2(experiment: Experiment, rows: list[dict[str, Any]], out_dir: Path,
                 preset_name: str, data_dir: Path, split: HeldOutSplit | None) -> dict[str, Any]:
    """Write ``results.md`` and ``results.json``; return the document."""
    doc = {"experiment": experiment.name, "title": experiment.title, "source": experiment.source,
           "preset": preset_name, "data": str(data_dir), "runs": rows,
           "test_split": None if split is None else split.to_json()}
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "results.json", json.dumps(doc, indent=2) + "\n")
    atomic_write_text(out_dir / "results.md", table2_markdown(rows, preset_name, data_dir, split))
    return doc
