"""Typed training progress events: the JSON lines of ``meldae train --json-progress``.

One frozen dataclass per event kind, shared by the writer (:mod:`meldae.train.progress`)
and every reader (the app's Training tab): ``to_json`` gives the line's object,
``event_from_json`` / ``parse_event_line`` read it back. Fields a line lacks take their
defaults and keys a class does not know are kept in ``extra`` (written back as they came),
so old and new versions of the two sides keep working together (docs/architecture.md,
"progress events").
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union


@dataclass(frozen=True, kw_only=True)
class _Event:
    KIND: ClassVar[str] = ""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this event (``{"event": kind, ...fields, ...extra}``)."""
        out: dict[str, Any] = {"event": self.KIND}
        for f in dataclasses.fields(self):
            if f.name != "extra":
                value = getattr(self, f.name)
                out[f.name] = dict(value) if isinstance(value, Mapping) else value
        out.update({k: v for k, v in self.extra.items() if k not in out})
        return out


@dataclass(frozen=True, kw_only=True)
class StartEvent(_Event):
    """A run (or a resumed run) started."""

    KIND: ClassVar[str] = "start"
    run_dir: str = ""
    device: str = ""
    epochs: int = 0                 # epochs of the whole run
    steps_per_epoch: int = 0
    resumed_from_epoch: int = 0
    world_size: int = 1


@dataclass(frozen=True, kw_only=True)
class StepEvent(_Event):
    """One optimiser step."""

    KIND: ClassVar[str] = "step"
    epoch: int = 0                  # 1-based
    step: int = 0                   # 1-based within the epoch
    global_step: int = 0
    loss: float | None = None
    loss_me: float | None = None
    loss_state: float | None = None
    loss_loc: float | None = None
    lr: float | None = None
    elapsed_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class EpochEvent(_Event):
    """An epoch ended and was validated."""

    KIND: ClassVar[str] = "epoch"
    epoch: int = 0
    train_loss: float | None = None
    val: Mapping[str, Any] = field(default_factory=dict)   # f1, f1_dr, ..., post-processing
    elapsed_s: float | None = None
    eta_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class CheckpointEvent(_Event):
    """A checkpoint was written (``kind``: ``"last"`` or ``"best"``)."""

    KIND: ClassVar[str] = "checkpoint"
    kind: str = ""
    path: str = ""
    epoch: int = 0
    f1_dr: float | None = None      # the best checkpoint's validation F1_DR


@dataclass(frozen=True, kw_only=True)
class DoneEvent(_Event):
    """The run ended (``stopped``: by SIGTERM/SIGINT, after writing ``last``)."""

    KIND: ClassVar[str] = "done"
    best_checkpoint: str | None = None
    best_epoch: int = 0
    elapsed_s: float | None = None
    stopped: bool = False


@dataclass(frozen=True, kw_only=True)
class ErrorEvent(_Event):
    """The run failed; ``message`` says why in words."""

    KIND: ClassVar[str] = "error"
    message: str = ""


TrainingEvent = Union[StartEvent, StepEvent, EpochEvent, CheckpointEvent, DoneEvent, ErrorEvent]
EVENT_TYPES: dict[str, type] = {cls.KIND: cls for cls in
                                (StartEvent, StepEvent, EpochEvent, CheckpointEvent, DoneEvent,
                                 ErrorEvent)}


def event_from_json(obj: Mapping[str, Any]) -> TrainingEvent | None:
    """The typed event of a JSON object, or None when it is not a known event."""
    if not isinstance(obj, Mapping):
        return None
    cls = EVENT_TYPES.get(obj.get("event"))  # type: ignore[arg-type]
    if cls is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
    known = {k: v for k, v in obj.items() if k in names}
    extra = {k: v for k, v in obj.items() if k not in names and k != "event"}
    if isinstance(known.get("val"), Mapping) or "val" not in known:
        return cls(**known, extra=extra)
    return cls(**{**known, "val": {}}, extra=extra)


def parse_event_line(line: str) -> TrainingEvent | None:
    """The progress event on one line of the trainer's stdout, or None (a log line, say)."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return None
    return event_from_json(obj) if isinstance(obj, dict) else None


class LineBuffer:
    """Splits a byte stream into text lines, keeping an unfinished last line for later."""

    def __init__(self) -> None:
        self._partial = b""

    def feed(self, data: bytes) -> list[str]:
        """Add bytes; returns the lines they complete (without line endings)."""
        chunks = (self._partial + bytes(data)).split(b"\n")
        self._partial = chunks.pop()
        return [c.rstrip(b"\r").decode("utf-8", errors="replace") for c in chunks]

    def flush(self) -> list[str]:
        """The unfinished line, if any (at the end of the stream)."""
        rest, self._partial = self._partial, b""
        text = rest.rstrip(b"\r").decode("utf-8", errors="replace")
        return [text] if text else []
