"""Load a script of bench/ as a module, for the tests that run or check it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"
#: The real face videos of ../shared (tests that use them skip when they are absent).
VIDEOS = BENCH.parents[1] / "shared" / "data" / "video"


def load_bench(name: str) -> ModuleType:
    """``bench/<name>.py`` as a fresh module (bench scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
