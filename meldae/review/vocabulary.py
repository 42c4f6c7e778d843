"""The controlled vocabulary of ME labels, as an EAF stores it.

ELAN attaches a controlled vocabulary (CV) to a tier through its linguistic type; the
annotator then picks values from a list instead of typing them. MELDAE Studio keeps the ME
tiers' vocabulary in the clip's EAF (``CONTROLLED_VOCABULARY CV_ID="ME labels"``), so ELAN
shows the same list; :mod:`meldae.annotations.eaf_vocabulary` reads and writes it.

Labels outside the vocabulary stay valid (a file edited elsewhere may hold them); the app
marks them and offers to add them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CV_ID = "ME labels"

# Ready-made lists: the emotion classes of CASME II / CAS(ME)^2 / SAMM, and the facial
# action units that ME datasets code most (FACS numbering).
PRESETS: dict[str, tuple[str, ...]] = {
    "Emotions": ("happiness", "surprise", "disgust", "repression", "fear", "sadness",
                 "anger", "contempt", "others"),
    "Action units": ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU12",
                     "AU14", "AU15", "AU17", "AU20", "AU23", "AU24", "AU25", "AU43"),
}


@dataclass(frozen=True)
class Vocabulary:
    """An ordered list of distinct, non-empty label values.

    Args:
        entries: the values, in the order the annotator sees them.
        description: a sentence ELAN shows with the vocabulary.
    """

    entries: tuple[str, ...] = ()
    description: str = "Micro-expression labels"

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", _clean(self.entries))

    @classmethod
    def from_text(cls, text: str, description: str = "Micro-expression labels") -> Vocabulary:
        """One value per line (or comma separated); blanks and repeats are dropped."""
        parts = [p for line in text.splitlines() for p in line.split(",")]
        return cls(tuple(parts), description)

    def to_text(self) -> str:
        """One value per line (the inverse of ``from_text``)."""
        return "\n".join(self.entries)

    def __contains__(self, label: object) -> bool:
        return label in self.entries

    def __bool__(self) -> bool:
        return bool(self.entries)

    def with_added(self, labels: Iterable[str]) -> Vocabulary:
        """A vocabulary with ``labels`` appended (those already in it are skipped)."""
        return Vocabulary(self.entries + tuple(labels), self.description)

    def unknown(self, labels: Iterable[str]) -> list[str]:
        """The non-empty ``labels`` that are not in the vocabulary (sorted, distinct)."""
        return sorted({str(label).strip() for label in labels
                       if str(label).strip() and str(label).strip() not in self.entries})


def _clean(entries: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for entry in entries:
        value = str(entry).strip()
        if value:
            seen.setdefault(value, None)
    return tuple(seen)
