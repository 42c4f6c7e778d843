"""Project folders for the project tests of tests/meldae and tests/app (imported by path)."""

from __future__ import annotations

import os


def touch(path) -> None:
    """Create an empty file (mode 0644)."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))


def clip_folder(tmp_path, names, eaf=True):
    """Empty but named videos (and EAFs): a project never opens them until a clip opens."""
    for name in names:
        touch(tmp_path / f"{name}.mp4")
        if eaf:
            touch(tmp_path / f"{name}.eaf")
    return tmp_path
