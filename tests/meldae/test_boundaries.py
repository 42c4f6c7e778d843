"""Import boundaries: meldae never loads Qt or the app; light modules never load torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "superqt", "PyQt5", "PyQt6", "app")

_IMPORT_ALL = """
import importlib, json, pkgutil, sys
import meldae
imported, failed = [], {}
for info in pkgutil.walk_packages(meldae.__path__, "meldae."):
    if info.name.rsplit(".", 1)[-1] == "__main__":
        continue  # running the CLI is not importing it
    try:
        importlib.import_module(info.name)
        imported.append(info.name)
    except Exception as exc:
        failed[info.name] = f"{type(exc).__name__}: {exc}"
roots = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"imported": imported, "failed": failed, "roots": roots}))
"""


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_importing_every_meldae_module_loads_no_qt_and_no_app():
    result = json.loads(_run(_IMPORT_ALL))
    assert not result["failed"], f"meldae modules that do not import: {result['failed']}"
    for name in ("meldae.model", "meldae.model.network", "meldae.checkpoint", "meldae.losses", "meldae.metrics"):
        assert name in result["imported"]
    leaked = sorted(set(result["roots"]) & set(FORBIDDEN))
    assert not leaked, f"meldae imported GUI modules: {leaked}"


def test_light_modules_do_not_import_torch():
    code = (
        "import sys, json\n"
        "import meldae, meldae.metrics, meldae.checkpoint\n"
        "from meldae.model import MELDAEConfig, preset, PRESETS\n"
        "preset('tiny')\n"
        "print(json.dumps(sorted(m for m in ('torch', 'timm') if m in sys.modules)))\n"
    )
    assert json.loads(_run(code)) == []


def test_the_review_core_imports_without_torch_or_decoders():
    """What the app and ``meldae export-project`` need to open a project loads nothing heavy."""
    code = (
        "import sys, json\n"
        "import meldae.project, meldae.project.autosave, meldae.project.export, meldae.atomic\n"
        "import meldae.train.events, meldae.train.launch, meldae.annotations.segment_set\n"
        "print(json.dumps(sorted(m for m in ('torch', 'timm', 'cv2', 'av') if m in sys.modules)))\n"
    )
    assert json.loads(_run(code)) == []
