"""Reading the public benchmarks' annotation sheets (xlsx) into uniform rows.

Layouts (DESIGN §5), as released and as the public MEGC parsers (SOFTNet, MTSN and the
MEGC 2021 baselines) read them:

- ``casme2``: ``CAS(ME)^2code_final.xlsx``. Sheet ``CASFEcode_final`` (else the first
  sheet), no header row; columns participant, expression name (``anger1_1``), onset, apex,
  offset, AUs, emotion, type, self-report. Sheet ``naming rule1`` maps the participant
  (third column) to the subject folder (``15, s15, 1``), sheet ``naming rule2`` the video
  name to its code (``0401, anger1``); the media of a row is ``s15/15_0401*`` (a video
  ``rawvideo/s15/15_0401girlcrashing.avi`` or an image folder ``rawpic/s15/15_0401...``).
  ``disgust1`` is missing from some releases' naming rule2; its code is ``0101`` (as the
  public parsers add it). Without the naming sheets the filename column names the media.
  Some offsets are 0 (44 macro-expressions): the offset is then the apex (the MEGC
  baselines' rule; the expression is kept as onset..apex); with apex 0 too the row is
  skipped with a warning.
- ``samm``: ``SAMM_LongVideos_V*_Release.xlsx``, sheet ``FACS_Movement_Only`` (else the
  first sheet); notes above the header row (row 10 as released; found by its names in the
  first 30 rows): Subject, Filename, Inducement Code, Onset, Apex, Offset, Duration, Type,
  Action Units, Notes. No emotion column. Frame numbers may be fractional and are rounded
  to the nearest frame; apex -1 means none; onset 0 means "from the apex" (as the MEGC
  parsers read it). Subjects are written with three digits (``6`` -> ``006``), the media is
  the image folder named by the filename's first two parts (``006_1_2`` -> ``006_1``).
- ``mmew``: MMEW, header row: Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame,
  Action Units, Estimated Emotion. Every MMEW sample is a micro-expression.

Frame numbers are kept as the sheet gives them (1-based image numbers in all three); the
converter maps them to 0-based frame indices.
"""

from __future__ import annotations

import logging
import math
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
    # CAS(ME)^2 with its naming sheets: (subject folder, media name prefix), e.g.
    # ("s15", "15_0401"); None: find the media by ``filename``.
    media: tuple[str, str] | None = None


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
    if number != number or number < 0:          # NaN or negative
        raise DataError(f"{where}: {what} {value!r} is not a frame number")
    return int(math.floor(number + 0.5))        # fractional frame numbers (SAMM): nearest


def _load_book(sheet: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every worksheet's rows by sheet name (in the workbook's order)."""
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
        return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)]
                for ws in book.worksheets}
    finally:
        book.close()


def _pick(book: dict[str, list[tuple[object, ...]]], name: str) -> list[tuple[object, ...]]:
    """The sheet called ``name`` (case-insensitive), else the first sheet."""
    for title, rows in book.items():
        if title.strip().lower() == name.lower():
            return rows
    return next(iter(book.values()), [])


def _find_header(rows: list[tuple[object, ...]], names: tuple[str, ...], sheet: Path) -> tuple[int, dict[str, int]]:
    wanted = [n.lower() for n in names]
    for i, row in enumerate(rows[:30]):
        cells = [_text(c).lower() for c in row]
        if all(n in cells for n in wanted):
            return i, {n: cells.index(n) for n in wanted}
    raise DataError(f"{sheet}: no header row with columns {', '.join(names)} in the first 30 rows")


#: Codes some CAS(ME)^2 releases leave out of ``naming rule2`` (the public parsers add them).
CASME2_MISSING_CODES = {"disgust1": "0101"}


def _casme2_naming(book: dict[str, list[tuple[object, ...]]]) -> tuple[dict[str, str], dict[str, str]] | None:
    """(participant -> subject folder number, video name -> code) from the naming sheets."""
    rule1 = next((r for t, r in book.items() if t.strip().lower() == "naming rule1"), None)
    rule2 = next((r for t, r in book.items() if t.strip().lower() == "naming rule2"), None)
    if rule1 is None or rule2 is None:
        return None
    folders = {_text(row[2]): _text(row[0]) for row in rule1
               if len(row) >= 3 and _text(row[0]) and _text(row[2])}
    codes = dict(CASME2_MISSING_CODES)
    codes.update({_text(row[1]).lower(): _text(row[0]).zfill(4) for row in rule2
                  if len(row) >= 2 and _text(row[0]) and _text(row[1])})
    return folders, codes


def _casme2_media(participant: str, filename: str, naming, where: str) -> tuple[str, str, str] | None:
    """(subject, folder, prefix) of a row through the naming sheets; None: not resolvable."""
    folders, codes = naming
    folder_number = folders.get(participant)
    code = codes.get(filename.rsplit("_", 1)[0].lower())
    if folder_number is None or code is None:
        missing = (f"participant {participant!r} is not in 'naming rule1'" if folder_number is None
                   else f"{filename.rsplit('_', 1)[0]!r} is not in 'naming rule2'")
        log.warning("%s: %s; row skipped", where, missing)
        return None
    return f"s{folder_number}", f"s{folder_number}", f"{folder_number}_{code}"


def _casme2(book: dict[str, list[tuple[object, ...]]], sheet: Path) -> list[SheetRow]:
    naming = _casme2_naming(book)
    out = []
    for i, row in enumerate(_pick(book, "CASFEcode_final"), start=1):
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
        subject, media = _text(cells[0]), None
        if naming is not None:
            resolved = _casme2_media(subject, _text(cells[1]), naming, where)
            if resolved is None:
                continue
            subject, media = resolved[0], resolved[1:]
        out.append(SheetRow(i, subject, _text(cells[1]), onset, apex or None, offset,
                            expression_type(cells[7]), _text(cells[6]), media))
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
        apex = None if _text(apex_cell) in ("", "-1", "-1.0") else _frame(apex_cell, "apex", where)
        if onset == 0 and apex:                 # SAMM: onset 0 = from the apex
            onset = apex
        kind = expression_type(cells[col[type_col.lower()]]) if type_col else fixed_type
        emotion = _text(cells[col[emotion_col.lower()]]) if emotion_col else ""
        out.append(SheetRow(i, _text(cells[col[subject.lower()]]), _text(cells[col[filename.lower()]]),
                            onset, apex, offset, kind, emotion))
    return out


def _samm_names(row: SheetRow) -> SheetRow:
    """SAMM: three-digit subjects (``6`` -> ``006``), media = the filename's first two
    parts (expression ``006_1_2`` of video ``006_1``)."""
    from dataclasses import replace

    subject = row.subject.zfill(3) if row.subject.isdigit() else row.subject
    parts = row.filename.split("_")
    filename = "_".join(parts[:2]) if len(parts) >= 3 else row.filename
    return replace(row, subject=subject, filename=filename)


def read_sheet(kind: str, sheet: str | Path) -> list[SheetRow]:
    """The expressions listed in a benchmark's annotation sheet.

    Raises:
        DataError: unknown kind, unreadable sheet, missing header or a bad frame number.
    """
    sheet = Path(sheet)
    if kind not in KINDS:
        raise DataError(f"{sheet}: unknown dataset kind {kind!r}; use one of {', '.join(KINDS)}")
    book = _load_book(sheet)
    if kind == "casme2":
        return _casme2(book, sheet)
    rows = next(iter(book.values()), [])
    if kind == "samm":
        names = ("Subject", "Filename", "Onset", "Apex", "Offset", "Type")
        return [_samm_names(row) for row in _with_header(
            _pick(book, "FACS_Movement_Only"), sheet, names, type_col="Type", emotion_col=None)]
    names = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Estimated Emotion")
    return _with_header(rows, sheet, names, type_col=None, emotion_col="Estimated Emotion",
                        fixed_type="micro")
