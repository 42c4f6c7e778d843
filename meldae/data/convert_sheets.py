"""Reading the public benchmarks' annotation sheets (xlsx) into uniform rows.

Layouts (DESIGN §5):

- ``casme2``: CAS(ME)^2, no header row; columns subject, filename, onset, apex, offset,
  AUs, emotion, type, self-report. Some offsets are 0: the offset is then taken to be the
  apex (the expression is kept as onset..apex); when apex is 0 too the row is skipped with
  a warning.
- ``samm``: SAMM long videos, header row (row 10 in the published sheet; found by its
  names in the first 30 rows): Subject, Filename, Inducement Code, Onset, Apex, Offset,
  Duration, Type, Action Units, Notes. No emotion column.
- ``mmew``: MMEW, header row: Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame,
  Action Units, Estimated Emotion. Every MMEW sample is a micro-expression.

Frame numbers are kept as the sheet gives them (1-based image numbers in all three); the
converter maps them to 0-based frame indices.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from meldae.data.clipfolder import DataError

log = logging.getLogger(__name__)

KINDS = ("casme2", "samm", "mmew")
DEFAULT_FPS = {"casme2": 30, "samm": 200, "mmew": 90}


@dataclass(frozen=True)
class SheetRow:
    """One expression as the sheet gives it (frame numbers as in the sheet)."""

    line: int            # spreadsheet row number, for messages
    subject: str
    filename: str
    onset: int
    apex: int | None
    offset: int
    expression_type: str  # "micro", "macro" or "" (unknown)
    emotion: str


def expression_type(text: object) -> str:
    """``"micro"``, ``"macro"`` or ``""`` from a sheet's type cell (e.g. ``Micro - 1/2``)."""
    low = str(text or "").strip().lower()
    if "micro" in low:
        return "micro"
    if "macro" in low:
        return "macro"
    return ""


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _frame(value: object, what: str, where: str) -> int:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DataError(f"{where}: {what} {value!r} is not a frame number") from None
    if not number.is_integer() or number < 0:
        raise DataError(f"{where}: {what} {value!r} is not a frame number")
    return int(number)


def _load_rows(sheet: Path) -> list[tuple[object, ...]]:
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - openpyxl is a dependency
        raise DataError(f"{sheet}: reading xlsx needs openpyxl ({exc})") from None
    try:
        book = openpyxl.load_workbook(sheet, read_only=True, data_only=True)
    except FileNotFoundError:
        raise DataError(f"{sheet}: no such file") from None
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise DataError(f"{sheet}: not a readable xlsx file ({exc})") from None
    try:
        return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _find_header(rows: list[tuple[object, ...]], names: tuple[str, ...], sheet: Path) -> tuple[int, dict[str, int]]:
    wanted = [n.lower() for n in names]
    for i, row in enumerate(rows[:30]):
        cells = [_text(c).lower() for c in row]
        if all(n in cells for n in wanted):
            return i, {n: cells.index(n) for n in wanted}
    raise DataError(f"{sheet}: no header row with columns {', '.join(names)} in the first 30 rows")


def _casme2(rows: list[tuple[object, ...]], sheet: Path) -> list[SheetRow]:
    out = []
    for i, row in enumerate(rows, start=1):
        cells = list(row) + [None] * 9
        if not _text(cells[0]) and not _text(cells[1]):
            continue
        where = f"{sheet}: row {i}"
        onset, apex, offset = (_frame(cells[k], name, where) for k, name in
                               ((2, "onset"), (3, "apex"), (4, "offset")))
        if offset == 0:
            if apex == 0:
                log.warning("%s: offset and apex are 0; row skipped", where)
                continue
            offset = apex
        out.append(SheetRow(i, _text(cells[0]), _text(cells[1]), onset, apex or None, offset,
                            expression_type(cells[7]), _text(cells[6])))
    return out


def _with_header(rows: list[tuple[object, ...]], sheet: Path, names: tuple[str, ...],
                 type_col: str | None, emotion_col: str | None, fixed_type: str = "") -> list[SheetRow]:
    start, col = _find_header(rows, names, sheet)
    subject, filename, onset_c, apex_c, offset_c = names[:5]
    out = []
    for i, row in enumerate(rows[start + 1:], start=start + 2):
        cells = list(row) + [None] * len(names)
        if not _text(cells[col[subject.lower()]]) and not _text(cells[col[filename.lower()]]):
            continue
        where = f"{sheet}: row {i}"
        onset = _frame(cells[col[onset_c.lower()]], "onset", where)
        offset = _frame(cells[col[offset_c.lower()]], "offset", where)
        apex_cell = cells[col[apex_c.lower()]]
        apex = None if _text(apex_cell) in ("", "-1") else _frame(apex_cell, "apex", where)
        kind = expression_type(cells[col[type_col.lower()]]) if type_col else fixed_type
        emotion = _text(cells[col[emotion_col.lower()]]) if emotion_col else ""
        out.append(SheetRow(i, _text(cells[col[subject.lower()]]), _text(cells[col[filename.lower()]]),
                            onset, apex, offset, kind, emotion))
    return out


def read_sheet(kind: str, sheet: str | Path) -> list[SheetRow]:
    """The expressions listed in a benchmark's annotation sheet.

    Raises:
        DataError: unknown kind, unreadable sheet, missing header or a bad frame number.
    """
    sheet = Path(sheet)
    if kind not in KINDS:
        raise DataError(f"{sheet}: unknown dataset kind {kind!r}; use one of {', '.join(KINDS)}")
    rows = _load_rows(sheet)
    if kind == "casme2":
        return _casme2(rows, sheet)
    if kind == "samm":
        names = ("Subject", "Filename", "Onset", "Apex", "Offset", "Type")
        return _with_header(rows, sheet, names, type_col="Type", emotion_col=None)
    names = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Estimated Emotion")
    return _with_header(rows, sheet, names, type_col=None, emotion_col="Estimated Emotion",
                        fixed_type="micro")
