"""MELDAE: micro-expression spotting in conversation (model, data, training, inference).

This package never imports Qt; the desktop application lives in ``app``.
"""

__version__ = "0.1.0"
