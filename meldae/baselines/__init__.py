"""Spotting baselines: LBP-TOP and LBP-SIP (the paper's Table 2) and a plain frame difference.

Per-frame features from scikit-image's ``local_binary_pattern`` (``meldae.baselines.lbp``),
an MDMD-style feature-difference score, the threshold chosen on the validation split, and
the same metrics as the model (``meldae.baselines.spot``).
"""

from meldae.baselines.framediff import frame_diff_scores, grey_volume
from meldae.baselines.lbp import (
    LBPSettings,
    block_histograms,
    chi_square,
    frame_features,
    lbp_sip_codes,
    lbp_top_codes,
    mdmd_scores,
)
from meldae.baselines.spot import METHODS, run_baseline, scores_for, tune_on_validation

__all__ = [
    "METHODS",
    "LBPSettings",
    "block_histograms",
    "frame_diff_scores",
    "grey_volume",
    "chi_square",
    "frame_features",
    "lbp_sip_codes",
    "lbp_top_codes",
    "mdmd_scores",
    "run_baseline",
    "scores_for",
    "tune_on_validation",
]
