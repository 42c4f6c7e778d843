"""A project: a folder of clips (``meldae.data.discover_clips``) plus what the app remembers.

The project remembers the model checkpoint last chosen for it (``model``); per clip it keeps
a :class:`ClipState` (review progress, last playhead position,
cached scores path, when it was last saved, confirmed segment count, frame rate and frame
count once known) in ``<folder>/.meldae/project.json``, written atomically on every
``update``. Opening a folder only lists it: no video is opened and no EAF parsed, so a folder
of thousands of clips opens at once; the segment count shown in the clip list comes from the
project file (the session updates it on save). A corrupt ``project.json`` is kept as
``project.json.corrupt-<time>``, a warning is logged and stored in ``warnings``, and the
project starts afresh. (``app`` shows it in a Qt table model of the clip list.) Call
``update(name, last_frame=...)`` when a clip closes, not on every frame: each update
rewrites the file.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

from meldae.annotations import ReviewState
from meldae.atomic import atomic_write_text
from meldae.data import ClipInfo, discover_clips

log = logging.getLogger(__name__)

AUTOSAVE_SUFFIX = ".meldae-autosave.json"


class ClipReview(str, enum.Enum):
    """Review progress of a whole clip (per-segment review uses ``ReviewState``)."""

    UNREVIEWED = "unreviewed"
    IN_PROGRESS = "in_progress"
    DONE = "done"


def clip_review_from_state(state: ReviewState) -> ClipReview:
    """Map the clip review stored in an EAF-level ``ClipAnnotations`` to a ``ClipReview``."""
    return ClipReview.DONE if state == ReviewState.ACCEPTED else ClipReview.UNREVIEWED


def clip_review_to_state(review: ClipReview) -> ReviewState:
    """``DONE`` is written as ``ReviewState.ACCEPTED``; anything else as unreviewed."""
    return ReviewState.ACCEPTED if review == ClipReview.DONE else ReviewState.UNREVIEWED

PROJECT_FORMAT = "meldae-project"
PROJECT_VERSION = 1
STATE_DIR = ".meldae"
STATE_FILE = "project.json"


@dataclasses.dataclass(frozen=True)
class ClipState:
    """What the app remembers about one clip."""

    review: ClipReview = ClipReview.UNREVIEWED
    last_frame: int = 0                 # playhead when the clip was last closed
    scores_path: str | None = None      # cached model output (.npz / .scores.csv)
    modified_at: str | None = None      # ISO time of the last save
    segments: int | None = None         # confirmed ME segments at the last save (None: unknown)
    fps: str | None = None              # "num/den", once the video was opened
    n_frames: int | None = None         # frames, once the video was opened

    def __post_init__(self) -> None:
        object.__setattr__(self, "review", ClipReview(self.review))
        object.__setattr__(self, "last_frame", int(self.last_frame))

    def to_json(self) -> dict:
        """The non-default fields as a JSON-ready dict."""
        default = ClipState()
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value != getattr(default, f.name):
                out[f.name] = value.value if isinstance(value, ClipReview) else value
        return out

    @classmethod
    def from_json(cls, item: dict) -> ClipState:
        """Read back ``to_json`` output; unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in item.items() if k in names})


class Project:
    """A clip folder and its ``.meldae/project.json``.

    Args:
        folder: the clip folder.

    Raises:
        meldae.data.DataError: the folder is missing or its clips cannot be listed.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).resolve()
        self.clips: list[ClipInfo] = discover_clips(self.folder)
        self._index = {clip.name: i for i, clip in enumerate(self.clips)}
        self.state_dir = self.folder / STATE_DIR
        self.state_file = self.state_dir / STATE_FILE
        self.warnings: list[str] = []
        self.model: str | None = None      # the checkpoint last chosen for this project
        self._states: dict[str, ClipState] = self._read_states()
        self._listeners: list[Callable[[str], None]] = []

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def names(self) -> list[str]:
        """Clip names, sorted."""
        return [clip.name for clip in self.clips]

    @property
    def autosave_dir(self) -> Path:
        """``<folder>/.meldae/autosave`` (created on first use) for autosaves kept out of the clip folder."""
        path = self.state_dir / "autosave"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def autosave_path(self, name: str) -> Path:
        """Where clip ``name`` autosaves when kept out of the clip folder.

        Pass it as ``ClipSession(..., autosave_path=project.autosave_path(name))``.
        """
        return self.autosave_dir / f"{self.clip(name).video_path.name}{AUTOSAVE_SUFFIX}"

    def clip(self, name: str) -> ClipInfo:
        """The clip called ``name`` (``KeyError`` when unknown)."""
        return self.clips[self.row(name)]

    def row(self, name: str) -> int:
        """The clip's position in ``clips`` (``KeyError`` when unknown)."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"{self.folder}: no clip named {name!r}") from None

    def state(self, name: str) -> ClipState:
        """What the app remembers about clip ``name`` (defaults when nothing yet)."""
        self.row(name)
        return self._states.get(name, ClipState())

    def update(self, name: str, **changes: object) -> ClipState:
        """Change some of clip ``name``'s state fields and write the project file.

        Raises:
            KeyError: unknown clip.
            TypeError: unknown field.
        """
        new = dataclasses.replace(self.state(name), **changes)
        if new == self.state(name):
            return new
        self._states[name] = new
        self._write()
        for listener in list(self._listeners):
            listener(name)
        return new

    def add_listener(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(name)`` after every ``update`` that changed something."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[str], None]) -> None:
        """Stop calling ``callback``."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    # -------------------------------------------------------------------- file
    def _read_states(self) -> dict[str, ClipState]:
        if not self.state_file.is_file():
            return {}
        try:
            payload = json.loads(self.state_file.read_text(encoding="utf-8"))
            if payload.get("format") != PROJECT_FORMAT:
                raise ValueError(f"format is {payload.get('format')!r}, not {PROJECT_FORMAT!r}")
            states = {str(name): ClipState.from_json(item) for name, item in payload["clips"].items()}
            model = payload.get("model")
            self.model = str(model) if isinstance(model, str) and model else None
            return states
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            stamp = _dt.datetime.now().strftime("%Y%m%dT%H%M%S")
            backup = self.state_file.with_name(f"{STATE_FILE}.corrupt-{stamp}")
            message = f"{self.state_file}: unreadable ({exc}); kept as {backup.name}, starting afresh"
            try:
                os.replace(self.state_file, backup)
            except OSError as move_exc:
                message += f" (could not keep a backup: {move_exc})"
            log.warning(message)
            self.warnings.append(message)
            return {}

    def set_model(self, checkpoint: str | Path | None) -> None:
        """Remember the checkpoint the project is scored with (None: the demo model)."""
        model = None if checkpoint is None else str(checkpoint)
        if model != self.model:
            self.model = model
            self._write()

    def _write(self) -> None:
        payload = {
            "format": PROJECT_FORMAT, "version": PROJECT_VERSION,
            "clips": {name: state.to_json() for name, state in sorted(self._states.items())
                      if state.to_json()},
        }
        if self.model:
            payload["model"] = self.model
        try:
            self.state_dir.mkdir(exist_ok=True)
            atomic_write_text(self.state_file, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
        except OSError as exc:
            message = f"{self.state_file}: cannot write ({exc.strerror or exc}); state kept in memory"
            log.warning(message)
            self.warnings.append(message)
