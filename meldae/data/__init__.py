"""Datasets: clip folders, splits, benchmark converters, statistics, windows, synthetic data.

Names are imported lazily (PEP 562), so ``import meldae.data`` loads neither torch (the
windows dataset) nor PyAV/OpenCV (converters, synthetic data) until a name is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # clip folders
    "DataError": "meldae.data.clipfolder",
    "ClipInfo": "meldae.data.clipfolder",
    "VIDEO_EXTENSIONS": "meldae.data.clipfolder",
    "discover_clips": "meldae.data.clipfolder",
    "load_clip_annotations": "meldae.data.clipfolder",
    "clip_fps": "meldae.data.clipfolder",
    "read_splits_csv": "meldae.data.clipfolder",
    "write_splits_csv": "meldae.data.clipfolder",
    # splits
    "SplitSet": "meldae.data.splits",
    "subject_split": "meldae.data.splits",
    "kfold_splits": "meldae.data.splits",
    # converters
    "convert": "meldae.data.convert",
    "make_label": "meldae.data.convert",
    "expression_type_of": "meldae.data.convert",
    # statistics
    "DatasetStats": "meldae.data.stats",
    "clip_statistics": "meldae.data.stats",
    "format_statistics": "meldae.data.stats",
    "plot_statistics": "meldae.data.stats",
    "speaking_context": "meldae.data.stats",
    # windows dataset (torch) and synthetic data: owned by meldae.data.windows / synth
    "WindowDataset": "meldae.data.windows",
    "synthesize": "meldae.data.synth",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'meldae.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
