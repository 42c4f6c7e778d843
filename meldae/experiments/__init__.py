"""The paper's experiments as named, runnable configurations.

``meldae experiment --list`` lists them; ``meldae experiment NAME DATA --out DIR`` trains
every variant in turn (in this process, through ``meldae.train``) and writes a results
table with the paper's numbers beside ours.
"""

from meldae.experiments.catalog import (
    EXPERIMENTS,
    Experiment,
    Variant,
    describe_experiments,
    get_experiment,
)
from meldae.experiments.runner import plot_curves, results_markdown, run_experiment
from meldae.experiments.runs import run_variant

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "Variant",
    "describe_experiments",
    "get_experiment",
    "plot_curves",
    "results_markdown",
    "run_experiment",
    "run_variant",
]
