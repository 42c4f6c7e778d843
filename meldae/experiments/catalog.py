"""The paper's experiments as named configurations (Tables 3 and 4, Figure 4).

Each experiment is a list of variants; a variant is a set of model and train overrides on
top of the chosen preset, with the paper's F1_DR beside it for reference (WDMD, in
percent; Figure 4 values are read off the curves as the text states them, "approximately").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Variant:
    """One training run of an experiment."""

    name: str                                   # folder name of the run
    label: str                                  # row label in the results table
    model: dict[str, Any] = field(default_factory=dict)   # MELDAEConfig overrides
    train: dict[str, Any] = field(default_factory=dict)   # TrainConfig overrides
    paper_f1_dr: float | None = None            # the paper's F1_DR (%), WDMD


@dataclass(frozen=True)
class Experiment:
    """A named group of variants trained one after the other through the same trainer."""

    name: str
    title: str
    source: str                                  # where in the paper
    variants: tuple[Variant, ...]
    plot_curves: bool = False                    # Figure 4: F1_DR per epoch to a PNG
    # Table 2: baselines scored beside the variants, (method, label, paper F1_DR) each
    baselines: tuple[tuple[str, str, float], ...] = ()


_ABLATIONS = (
    Variant("full", "MELDAE (full model)", paper_f1_dr=31.74),
    Variant("no_enhancer", "w/o ME Enhancer (MELDAE*)", model={"use_enhancer": False},
            paper_f1_dr=18.87),
    Variant("resnet50", "w/ ResNet-50 (replace ViT)",
            model={"backbone": "resnet50", "backbone_kwargs": ()}, paper_f1_dr=26.13),
    Variant("no_lstm", "w/o Bi-LSTM", model={"use_lstm": False}, paper_f1_dr=28.05),
    Variant("no_state_loss", "w/o L_State", train={"use_state_loss": False},
            paper_f1_dr=25.20),
    Variant("loss_bce", "w/ BCE loss (replace BAL)", train={"loc_loss": "bce"},
            paper_f1_dr=22.04),
    Variant("loss_iou", "w/ IoU loss (replace BAL)", train={"loc_loss": "iou"},
            paper_f1_dr=27.19),
    Variant("loss_focal_tversky", "w/ Focal Tversky (BAL w/o L_boundary)",
            train={"loc_loss": "focal_tversky"}, paper_f1_dr=28.33),
)

_LAMBDA = tuple(
    Variant(f"lambda_{lam:g}", f"BAL λ = {lam:g}", train={"lam": lam}, paper_f1_dr=f1)
    for lam, f1 in ((0.5, 30.15), (1.0, 31.74), (1.5, 31.09), (2.0, 29.88))
)

_TOKENS = tuple(
    Variant(f"tokens_{n}", f"N = {n} query tokens", model={"num_queries": n}, paper_f1_dr=f1)
    for n, f1 in ((4, 28.30), (8, 31.02), (16, 31.74), (32, 31.71))
)

# Figure 4: the text gives the converged F1_DR of each loss (as fractions; here in %).
_LOSSES = (
    Variant("bal", "BAL (ours)", train={"loc_loss": "bal"}, paper_f1_dr=32.0),
    Variant("bce", "BCE", train={"loc_loss": "bce"}, paper_f1_dr=30.0),
    Variant("iou", "IoU", train={"loc_loss": "iou"}, paper_f1_dr=27.0),
    Variant("smooth_l1", "Smooth L1", train={"loc_loss": "smooth_l1"}, paper_f1_dr=28.5),
    Variant("mse", "MSE", train={"loc_loss": "mse"}, paper_f1_dr=12.0),
    Variant("mae", "MAE", train={"loc_loss": "mae"}, paper_f1_dr=12.0),
)

# Table 2: the two baselines the paper re-ran and our two models (WDMD F1_DR in %; the
# paper's UF1 on CAS(ME)^2 / SAMM / MMEW is in docs/reproduction.md).
_TABLE2_BASELINES = (("lbp-top", "LBP-TOP", 3.62), ("lbp-sip", "LBP-SIP", 3.90))
_TABLE2 = (
    Variant("no_enhancer", "MELDAE* (w/o Enhancer)", model={"use_enhancer": False},
            paper_f1_dr=18.87),
    Variant("full", "MELDAE (Full)", paper_f1_dr=31.74),
)

_GROUPS = (
    Experiment("table2", "Comparison with baselines (Table 2)", "Table 2, §5.5", _TABLE2,
               baselines=_TABLE2_BASELINES),
    Experiment("table3", "Ablation studies (Table 3)", "Table 3, §5.7", _ABLATIONS),
    Experiment("table4_lambda", "BAL weight λ (Table 4)", "Table 4, §5.8", _LAMBDA),
    Experiment("table4_tokens", "Number of query tokens N (Table 4)", "Table 4, §5.8", _TOKENS),
    Experiment("fig4", "Localisation losses, F1_DR per epoch (Figure 4)", "Figure 4, §5.6",
               _LOSSES, plot_curves=True),
)

#: Every runnable experiment by name: the groups, and each Table 3 row on its own.
EXPERIMENTS: dict[str, Experiment] = {
    **{e.name: e for e in _GROUPS},
    **{v.name: Experiment(v.name, v.label, "Table 3, §5.7", (v,)) for v in _ABLATIONS},
}


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``.

    Raises:
        KeyError: unknown name (the message lists the known ones).
    """
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}") from None


def describe_experiments() -> list[str]:
    """One line per experiment for ``meldae experiment --list``."""
    lines = []
    for exp in EXPERIMENTS.values():
        runs = ", ".join([m for m, _, _ in exp.baselines] + [v.name for v in exp.variants])
        lines.append(f"{exp.name:<20} {exp.title} [{exp.source}] runs: {runs}")
    return lines
