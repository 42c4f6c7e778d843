"""The recently opened projects (clip folders and single videos), newest first.

Stored as a small JSON list in ``meldae.paths.config_dir()/recent.json``, written
atomically. An unreadable file is logged and treated as empty (it is rewritten on the next
``add``); paths that no longer exist are left out of ``paths()`` but kept in the file, so a
disconnected drive does not erase the list.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from meldae.atomic import atomic_write_json

log = logging.getLogger(__name__)

MAX_RECENT = 10


class RecentPaths:
    """A most-recently-used list of paths.

    Args:
        path: the JSON file (default: ``config_dir()/recent.json``).
        limit: how many paths to keep.
    """

    def __init__(self, path: str | Path | None = None, limit: int = MAX_RECENT) -> None:
        if path is None:
            from meldae.paths import config_dir

            path = config_dir() / "recent.json"
        self.path = Path(path)
        self.limit = int(limit)

    def _read(self) -> list[str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("%s: recent list unreadable (%s); starting a new one", self.path, exc)
            return []
        if not isinstance(data, dict) or not isinstance(data.get("recent"), list):
            log.warning("%s: not a recent list; starting a new one", self.path)
            return []
        return [str(p) for p in data["recent"] if isinstance(p, str) and p]

    def all(self) -> list[Path]:
        """Every remembered path, newest first (also those that have gone)."""
        return [Path(p) for p in self._read()]

    def paths(self) -> list[Path]:
        """The remembered paths that still exist, newest first."""
        return [p for p in self.all() if p.exists()]

    def last(self) -> Path | None:
        """The most recently opened path that still exists, or None."""
        existing = self.paths()
        return existing[0] if existing else None

    def add(self, path: str | Path) -> None:
        """Put ``path`` (made absolute) first. A write failure is logged, never raised:
        the recent list must not stop a project from opening."""
        new = str(Path(path).expanduser().resolve())
        entries = [new] + [p for p in self._read() if p != new]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.path, {"recent": entries[: self.limit]})
        except OSError as exc:
            log.warning("%s: could not remember %s (%s)", self.path, new, exc)

    def clear(self) -> None:
        """Forget every path."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("%s: could not clear (%s)", self.path, exc)
