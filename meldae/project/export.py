"""Batch export of a project's annotations as ELAN files.

``batch_export(project, out_dir, include_predicted)`` writes ``<out_dir>/<clip>.eaf`` (EAF 3.0
plus its ``.meldae.json`` sidecar) for every clip that has an EAF, linked to the original
video. One bad clip never stops the rest: the ``ExportReport`` says, per clip, ``ok``,
``skipped`` (no EAF yet) or ``failed`` with the reason (unreadable EAF, video without a frame
rate, unwritable output). The frame rate comes from the project state when the clip was
opened before, else from the video header (no decoding). Clips with unsaved edits in an
autosave are exported as last saved, with a note. With ``include_predicted`` the predicted
tiers and a cached ``.scores.csv`` (``ClipState.scores_path``) are exported too.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from meldae.annotations import AnnotationError, ClipAnnotations, load_eaf, save_eaf
from meldae.data import ClipInfo, DataError, clip_fps
from meldae.project.autosave import default_autosave_path
from meldae.project.state import Project
from meldae.timebase import as_fps

log = logging.getLogger(__name__)

OK, SKIPPED, FAILED = "ok", "skipped", "failed"


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """The outcome for one clip."""

    name: str
    status: str                 # "ok" | "skipped" | "failed"
    path: Path | None = None    # the EAF written
    reason: str = ""            # why skipped or failed; a note when ok


@dataclasses.dataclass
class ExportReport:
    """Per-clip outcomes of a batch export, in clip order."""

    results: list[ExportResult] = dataclasses.field(default_factory=list)
    cancelled: bool = False     # stopped before every clip was handled

    @property
    def ok(self) -> list[ExportResult]:
        """Exported clips."""
        return [r for r in self.results if r.status == OK]

    @property
    def failed(self) -> list[ExportResult]:
        """Clips that could not be exported."""
        return [r for r in self.results if r.status == FAILED]

    @property
    def skipped(self) -> list[ExportResult]:
        """Clips without annotations."""
        return [r for r in self.results if r.status == SKIPPED]

    def summary(self) -> str:
        """One line for a status bar, then one line per failure."""
        lines = [f"Exported {len(self.ok)} clip(s), {len(self.failed)} failed, "
                 f"{len(self.skipped)} without annotations"
                 + (" (cancelled: the other clips were not exported)" if self.cancelled else "")]
        lines += [f"{r.name}: {r.reason}" for r in self.failed]
        return "\n".join(lines)


def _clip_rate(project: Project, clip: ClipInfo):
    state = project.state(clip.name)
    return as_fps(state.fps) if state.fps else clip_fps(clip)


def _export_one(project: Project, clip: ClipInfo, out_dir: Path, include_predicted: bool) -> ExportResult:
    if clip.eaf_path is None:
        return ExportResult(clip.name, SKIPPED, reason="no .eaf beside the video")
    fps = _clip_rate(project, clip)
    ann = load_eaf(clip.eaf_path, fps)
    if not include_predicted:
        ann = ClipAnnotations(ann.confirmed_segments(), ann.confirmed_speaking(), ann.review)
    target = out_dir / f"{clip.name}.eaf"
    scores_csv = None
    scores_path = project.state(clip.name).scores_path
    if include_predicted and scores_path and Path(scores_path).suffix == ".csv" \
            and Path(scores_path).is_file():
        scores_csv = out_dir / f"{clip.name}.scores.csv"
        shutil.copyfile(scores_path, scores_csv)
    save_eaf(ann, target, fps, media_path=clip.video_path, scores_csv=scores_csv, backups=0)
    note = ""
    autosaves = (default_autosave_path(clip.video_path),
                 project.state_dir / "autosave" / default_autosave_path(clip.video_path).name)
    if any(p.exists() for p in autosaves):
        note = "unsaved edits (autosave) not included: open the clip and save to export them"
    return ExportResult(clip.name, OK, target, note)


def batch_export(
    project: Project,
    out_dir: str | Path,
    include_predicted: bool,
    progress: Callable[[int, int, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ExportReport:
    """Export every clip's annotations to ``out_dir``.

    Args:
        project: the project whose clips are exported.
        out_dir: the output folder (created if missing).
        include_predicted: also export predicted tiers (and cached score CSVs).
        progress: called as ``progress(done, total, clip_name)`` after each clip.
        should_stop: asked before each clip; True stops there (``report.cancelled``; the
            files already written stay, each complete).

    Returns:
        The per-clip report.

    Raises:
        OSError: ``out_dir`` cannot be created.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    total = len(project.clips)
    for done, clip in enumerate(project.clips, start=1):
        if should_stop is not None and should_stop():
            report.cancelled = True
            break
        try:
            result = _export_one(project, clip, out_dir, include_predicted)
        except (AnnotationError, DataError, OSError, ValueError) as exc:
            result = ExportResult(clip.name, FAILED, reason=str(exc))
        except Exception as exc:  # noqa: BLE001 - e.g. VideoError; one clip must not stop the rest
            result = ExportResult(clip.name, FAILED, reason=f"{type(exc).__name__}: {exc}")
        if result.status == FAILED:
            log.warning("export of %s failed: %s", clip.name, result.reason)
        report.results.append(result)
        if progress is not None:
            progress(done, total, clip.name)
    return report
