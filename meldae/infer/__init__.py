"""Streaming inference: per-window scores of a video of any length, and whole-video results.

``iter_predict`` is the engine (a Qt-free generator the app wraps in a worker);
``predict_video`` collects it into a ``meldae.scores.ClipScores`` and proposes segments
(``meldae.postprocess.PostProcessing.propose``); ``save_prediction`` writes the ``.npz``,
``.eaf`` and score ``.csv``; ``load_default_model`` loads the bundled demo model.
Torch is imported only when a function needs it.
"""

from meldae.infer.blend import StreamBlender, window_weights
from meldae.infer.default_model import load_default_model, load_model
from meldae.infer.device import DeviceError, resolve_device
from meldae.infer.engine import WindowResult, iter_predict
from meldae.infer.predict import (
    VideoPrediction,
    checkpoint_postprocessing,
    load_prediction,
    predict_video,
    save_prediction,
)

__all__ = [
    "DeviceError",
    "StreamBlender",
    "VideoPrediction",
    "WindowResult",
    "iter_predict",
    "load_default_model",
    "load_model",
    "load_prediction",
    "predict_video",
    "checkpoint_postprocessing",
    "resolve_device",
    "save_prediction",
    "window_weights",
]
