"""Safe annotation files: :mod:`meldae.atomic` with ``AnnotationError``, and rotating backups."""

from __future__ import annotations

import os
from pathlib import Path

from meldae import atomic
from meldae.annotations.model import AnnotationError


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old or the new file.

    Raises:
        AnnotationError: when the folder is missing or not writable.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise AnnotationError(f"{path}: cannot write (no such folder)")
    try:
        atomic.atomic_write_bytes(path, data)
    except OSError as exc:
        raise AnnotationError(f"{path}: cannot write ({exc.strerror or exc})") from None


def rotate_backups(path: str | Path, count: int) -> None:
    """Keep the current ``path`` as ``path.1`` and shift older copies up to ``path.<count>``.

    ``path.1`` is the newest backup; the oldest beyond ``count`` is dropped. The current
    file is copied (not moved), so ``path`` stays in place until the new version replaces it.
    """
    path = Path(path)
    if count <= 0 or not path.exists():
        return
    backups = [path.with_name(f"{path.name}.{i}") for i in range(1, count + 1)]
    try:
        backups[-1].unlink(missing_ok=True)
        for older, newer in zip(reversed(backups[1:]), reversed(backups[:-1])):
            if newer.exists():
                os.replace(newer, older)
        atomic_write_bytes(backups[0], path.read_bytes())
    except OSError as exc:
        raise AnnotationError(f"{path}: cannot rotate backups ({exc.strerror or exc})") from None
