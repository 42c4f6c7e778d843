"""Safe file writing: a temporary file in the same folder, then ``os.replace``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from meldae.annotations.model import AnnotationError


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old or the new file.

    Raises:
        AnnotationError: when the folder is missing or not writable.
    """
    path = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise AnnotationError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise AnnotationError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


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
