"""Annotator names and where each annotator's file of a clip lives.

Two annotators' files of one clip live side by side as ``<clip>.<annotator>.eaf`` (with
their ``<clip>.<annotator>.meldae.json`` sidecars) next to the video, or in one folder per
annotator, each holding ``<clip>.eaf``. The plain ``<clip>.eaf`` is the clip's reference
file (the adjudicated one once two annotators have been compared). A clip folder's
discovery (``meldae.data.discover_clips``) ignores the annotator files: their stems name
no video.
"""

from __future__ import annotations

import re
from pathlib import Path

ANNOTATOR_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class AnnotatorError(ValueError):
    """An annotator name that cannot be used in file names and ELAN tiers."""


def check_annotator(name: str) -> str:
    """``name`` stripped, when it can be part of a file name (letters, digits, ``_``, ``-``).

    Raises:
        AnnotatorError: empty, too long, or with other characters (dots, spaces, slashes).
    """
    name = str(name).strip()
    if not ANNOTATOR_PATTERN.match(name):
        raise AnnotatorError(
            f"annotator name {name!r}: use 1-64 letters, digits, '_' or '-' "
            "(it becomes part of file names such as clip.NAME.eaf)")
    return name


def annotator_eaf_path(clip_eaf: str | Path, annotator: str) -> Path:
    """``folder/clip.eaf`` -> ``folder/clip.<annotator>.eaf``."""
    clip_eaf = Path(clip_eaf)
    return clip_eaf.with_name(f"{clip_eaf.stem}.{check_annotator(annotator)}.eaf")


def annotation_files(folder: str | Path, annotator: str | None = None,
                     clip_names: list[str] | None = None) -> dict[str, Path]:
    """The EAF of each clip in ``folder``: clip name -> file.

    Args:
        folder: a clip folder or a per-annotator folder.
        annotator: ``None`` for ``<clip>.eaf`` files; a name for ``<clip>.<annotator>.eaf``.
        clip_names: when given, only these clips (the videos of a clip folder); otherwise
            every matching file (without ``annotator``, files named like another
            annotator's ``<clip>.<name>.eaf`` of a listed clip are skipped).

    Raises:
        NotADirectoryError: ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}: not a folder")
    suffix = ".eaf" if annotator is None else f".{check_annotator(annotator)}.eaf"
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or not path.name.endswith(suffix) or path.name.startswith("."):
            continue
        name = path.name[: -len(suffix)]
        if name:
            found[name] = path
    if clip_names is not None:
        return {name: found[name] for name in clip_names if name in found}
    if annotator is None:
        # ``a.bob.eaf`` is bob's file of clip ``a`` when ``a.eaf`` or clip ``a`` is there too
        found = {n: p for n, p in found.items() if "." not in n or n.rsplit(".", 1)[0] not in found}
    return found


def annotators_in(folder: str | Path, clip_names: list[str]) -> list[str]:
    """The annotators with a ``<clip>.<annotator>.eaf`` of one of ``clip_names`` in ``folder``."""
    names = set()
    clips = set(clip_names)
    for path in Path(folder).glob("*.*.eaf"):
        stem = path.name[: -len(".eaf")]
        clip, _, who = stem.rpartition(".")
        if clip in clips and ANNOTATOR_PATTERN.match(who):
            names.add(who)
    return sorted(names)
