"""A clip whose EAF cannot be read: never shown as an empty clip, never lost.

When the strict read (``load_eaf``) fails, :func:`open_unreadable` first copies the file,
untouched, beside the clip (``meldae.annotations.eaf_salvage.keep_unreadable``: a name that
backup rotation never reaches), then asks the annotator to choose between

- **Salvage what parses**: every annotation whose times resolve, with the list of skipped
  elements shown in the question; the salvaged content is an unsaved edit, so saving it is
  the annotator's decision;
- **Start empty**.

The returned :class:`UnreadableOutcome` carries the banner text the window shows for as
long as the clip is open. When the copy cannot be written the session is told to refuse
saving over the damaged file (``protect``), and the banner says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from meldae.annotations import AnnotationError, ClipAnnotations

log = logging.getLogger(__name__)

MAX_LISTED = 30   # skipped elements listed in the question (the log has them all)


@dataclass(frozen=True)
class UnreadableOutcome:
    """What the clip opens with after its EAF could not be read.

    Attributes:
        annotations: the content to load (salvaged, or empty).
        salvaged: the user chose to salvage (the content is then an unsaved edit).
        banner: the sentence the window shows while the clip is open.
        copy: where the damaged file was kept (None: it could not be copied).
    """

    annotations: ClipAnnotations
    salvaged: bool
    banner: str
    copy: Path | None


def ask_salvage_or_empty(parent: QWidget | None, path: Path, error: str,
                         skipped: list[str] | None, n_kept: int) -> str:
    """Ask "salvage" or "empty" (monkeypatched in tests); ``skipped`` None: nothing can be
    salvaged, only "empty" is offered."""
    box = QMessageBox(QMessageBox.Icon.Warning, "The clip's annotations cannot be read",
                      f"{path.name} cannot be read:\n{error}\n\nThe file is kept unchanged "
                      "beside the clip.", parent=parent)
    salvage = None
    if skipped is not None:
        listed = skipped[:MAX_LISTED] + ([f"… and {len(skipped) - MAX_LISTED} more"]
                                         if len(skipped) > MAX_LISTED else [])
        box.setInformativeText(f"{n_kept} annotation(s) can be salvaged; "
                               f"{len(skipped)} element(s) would be skipped.")
        box.setDetailedText("Skipped:\n" + "\n".join(f"• {line}" for line in listed))
        salvage = box.addButton("Salvage what parses", QMessageBox.ButtonRole.AcceptRole)
    else:
        box.setInformativeText("Nothing in it can be salvaged.")
    empty = box.addButton("Start empty", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(salvage or empty)
    box.exec()
    return "salvage" if salvage is not None and box.clickedButton() is salvage else "empty"


def open_unreadable(path: Path, fps, error: AnnotationError,
                    parent: QWidget | None) -> UnreadableOutcome:
    """Keep the damaged ``path``, ask the user, and say what the clip opens with."""
    from meldae.annotations.eaf_salvage import keep_unreadable, salvage_eaf

    try:
        copy = keep_unreadable(path)
    except OSError as exc:
        log.error("%s: could not keep a copy (%s)", path, exc)
        copy = None
    try:
        report = salvage_eaf(path, fps)
    except AnnotationError as exc:
        log.warning("%s", exc)
        report = None
    choice = ask_salvage_or_empty(parent, path, str(error),
                                  None if report is None else report.skipped,
                                  0 if report is None else report.n_kept)
    kept = (f"the original is kept as {copy.name}" if copy is not None
            else "it could not be copied aside, so saving over it is refused (use Export)")
    if choice == "salvage" and report is not None:
        skipped = len(report.skipped)
        return UnreadableOutcome(
            report.annotations, True,
            f"⚠ {path.name} could not be read: {report.n_kept} annotation(s) salvaged, "
            f"{skipped} element(s) skipped; {kept}. Save to replace it with what you see.",
            copy)
    return UnreadableOutcome(
        ClipAnnotations(segments=[], speaking=[]), False,
        f"⚠ {path.name} could not be read; this clip started empty — {kept}.", copy)
