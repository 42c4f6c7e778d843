"""Where the program keeps its cache and finds its bundled resources."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The root of the on-disk cache: ``$MELDAE_CACHE_DIR`` or ``~/.cache/meldae``."""
    env = os.environ.get("MELDAE_CACHE_DIR")
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "meldae"
    return root


def config_dir() -> Path:
    """Where the user's settings live (recent projects): ``$MELDAE_CONFIG_DIR`` or
    ``~/.config/meldae``."""
    env = os.environ.get("MELDAE_CONFIG_DIR")
    return Path(env).expanduser() if env else Path.home() / ".config" / "meldae"


def resources_dir() -> Path:
    """The bundled resources (style sheet, icons, demo checkpoint) at the repository root."""
    return Path(__file__).resolve().parents[1] / "resources"


def demo_checkpoint() -> Path:
    """The bundled demo checkpoint (a ``lite`` model; resources/demo/README.md)."""
    return resources_dir() / "demo" / "meldae-lite-demo.safetensors"
