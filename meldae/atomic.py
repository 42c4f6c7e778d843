"""Atomic file writing: the one helper every writer of the package uses.

A file is written to a temporary name in the same folder (so the final rename never crosses
file systems), flushed and ``fsync``-ed, then moved onto its name with ``os.replace``:
a reader sees the old file or the new one, never a torn one, and a crash leaves at most a
hidden ``.NAME.*.tmp`` file behind. The folder is created when missing. Files get the
usual ``0o644`` permissions (``mkstemp`` would make them private), so run folders and
projects can be shared.

Errors are ``OSError``; modules with their own error type (``AnnotationError``,
``DataError``, ``CheckpointError``) wrap it with the file's name.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

FILE_MODE = 0o644


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable too (best effort: not every system can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[Path], None], suffix: str = ".tmp") -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then move it into place.

    Args:
        path: the final file.
        write: writes the whole content to the path it is given (it may reopen it).
        suffix: the temporary file's suffix, for writers that choose a format by it
            (``".png"``, ``".mp4"``).

    Returns:
        ``path`` as a ``Path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, FILE_MODE)     # after: some writers (safetensors) replace the file
        with open(tmp, "rb") as handle:   # a hard link may point at a read-only file
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | Path, payload: Any, indent: int | None = 1) -> Path:
    """Write ``payload`` as JSON (UTF-8, a final newline) to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(payload, indent=indent, ensure_ascii=False) + "\n")


def atomic_savez(path: str | Path, **arrays: Any) -> Path:
    """``np.savez_compressed(path, **arrays)`` atomically (``path`` keeps its own name)."""
    import numpy as np

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())
