"""The MELDAE model: configuration, presets, network and backbone weights.

``MELDAEConfig``, ``preset`` and ``PRESETS`` import without torch; the network classes
(``MELDAE``, ``MELDAEOutput``, ...) load torch and timm on first access.

>>> from meldae.model import MELDAE, preset
>>> model = MELDAE(preset("tiny"))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from meldae.model.config import PRESETS, MELDAEConfig, config_from_dict, preset

if TYPE_CHECKING:
    from meldae.model.network import MELDAE, MELDAEFeatures, MELDAEOutput
    from meldae.model.weights import ModelWeightsError

_LAZY = {
    "MELDAE": "meldae.model.network",
    "MELDAEFeatures": "meldae.model.network",
    "MELDAEOutput": "meldae.model.network",
    "ModelWeightsError": "meldae.model.weights",
}

__all__ = ["PRESETS", "MELDAEConfig", "config_from_dict", "preset", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'meldae.model' has no attribute {name!r}")
