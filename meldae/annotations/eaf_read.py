"""Reading time-aligned annotations from any EAF file (ELAN 2.x and 3.0) with xml.etree.

Times come back in milliseconds. Time slots without a value (ELAN's unaligned slots in
time-subdivision tiers) are placed the way ELAN shows them: evenly between the nearest
aligned slots of the chain of annotations that shares them. Reference annotations
(symbolic tiers) take the interval of the annotation they refer to; several children of
one parent split its interval evenly, in document order.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from meldae.annotations.model import AnnotationError


@dataclass(frozen=True)
class RawAnnotation:
    """One annotation of a tier: id, interval ``[start_ms, end_ms]`` and value."""

    annotation_id: str
    start_ms: int
    end_ms: int
    value: str


@dataclass(frozen=True)
class _Alignable:
    annotation_id: str
    ref1: str
    ref2: str
    value: str


class EafDocument:
    """A parsed EAF file that resolves the intervals of its tiers on demand."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            root = ET.parse(self.path).getroot()
        except ET.ParseError as exc:
            raise AnnotationError(f"{self.path}: not well-formed XML ({exc})") from None
        except OSError as exc:
            raise AnnotationError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        if root.tag != "ANNOTATION_DOCUMENT":
            raise AnnotationError(f"{self.path}: root element is <{root.tag}>, not an EAF file")
        self.root = root
        self.slots = self._read_time_order()
        self.tiers: dict[str, ET.Element] = {}
        for tier in root.iter("TIER"):
            tier_id = tier.get("TIER_ID")
            if not tier_id:
                raise AnnotationError(f"{self.path}: <TIER> without TIER_ID")
            self.tiers[tier_id] = tier
        self._cache: dict[str, list[RawAnnotation]] = {}

    def _error(self, where: str, reason: str) -> AnnotationError:
        return AnnotationError(f"{self.path}: {where}: {reason}")

    def _read_time_order(self) -> dict[str, int | None]:
        order = self.root.find("TIME_ORDER")
        if order is None:
            raise AnnotationError(f"{self.path}: no TIME_ORDER element")
        slots: dict[str, int | None] = {}
        for slot in order.iter("TIME_SLOT"):
            slot_id = slot.get("TIME_SLOT_ID")
            if not slot_id:
                raise self._error("TIME_SLOT", "missing TIME_SLOT_ID")
            if slot_id in slots:
                raise self._error(f"time slot {slot_id}", "duplicate TIME_SLOT_ID")
            text = slot.get("TIME_VALUE")
            if text is None:
                slots[slot_id] = None
                continue
            try:
                value = int(text)
            except ValueError:
                raise self._error(f"time slot {slot_id}", f"TIME_VALUE {text!r} is not an integer") from None
            if value < 0:
                raise self._error(f"time slot {slot_id}", f"negative time {value} ms")
            slots[slot_id] = value
        return slots

    def tier_ids(self) -> list[str]:
        """Names of all tiers in document order."""
        return list(self.tiers)

    def annotations(self, tier_id: str) -> list[RawAnnotation]:
        """The annotations of ``tier_id`` with resolved times, sorted by start time.

        Raises:
            KeyError: when the tier does not exist.
            AnnotationError: on a missing time slot, an unresolvable or reversed interval.
        """
        if tier_id not in self._cache:
            tier = self.tiers[tier_id]
            if tier.find("ANNOTATION/REF_ANNOTATION") is not None:
                result = self._ref_annotations(tier)
            else:
                result = self._alignable_annotations(tier)
            for ann in result:
                if ann.end_ms < ann.start_ms:
                    raise self._error(
                        f"annotation {ann.annotation_id} (tier {tier_id!r})",
                        f"end {ann.end_ms} ms is before start {ann.start_ms} ms",
                    )
            self._cache[tier_id] = sorted(result, key=lambda a: (a.start_ms, a.end_ms))
        return self._cache[tier_id]

    def _alignable_annotations(self, tier: ET.Element) -> list[RawAnnotation]:
        items: list[_Alignable] = []
        for elem in tier.iterfind("ANNOTATION/ALIGNABLE_ANNOTATION"):
            ann_id = elem.get("ANNOTATION_ID") or "?"
            refs = (elem.get("TIME_SLOT_REF1"), elem.get("TIME_SLOT_REF2"))
            for ref in refs:
                if ref is None or ref not in self.slots:
                    raise self._error(
                        f"annotation {ann_id} (tier {tier.get('TIER_ID')!r})",
                        f"refers to missing time slot {ref!r}",
                    )
            items.append(_Alignable(ann_id, refs[0], refs[1], _value(elem)))
        times = self._resolve_unaligned(items, tier.get("TIER_ID", "?"))
        return [RawAnnotation(a.annotation_id, times[a.ref1], times[a.ref2], a.value) for a in items]

    def _resolve_unaligned(self, items: list[_Alignable], tier_id: str) -> dict[str, int]:
        """Times of every slot the tier uses; unaligned ones spread evenly along their chain."""
        times = {ref: self.slots[ref] for a in items for ref in (a.ref1, a.ref2)}
        by_start = {a.ref1: a for a in items}
        for first in items:
            if times[first.ref1] is None or times[first.ref2] is not None:
                continue
            chain = [first]
            while times[chain[-1].ref2] is None:
                nxt = by_start.get(chain[-1].ref2)
                if nxt is None or nxt in chain:
                    raise self._error(
                        f"annotation {chain[-1].annotation_id} (tier {tier_id!r})",
                        f"unaligned time slot {chain[-1].ref2} cannot be resolved",
                    )
                chain.append(nxt)
            t0, t1, n = times[first.ref1], times[chain[-1].ref2], len(chain)
            for k, ann in enumerate(chain[1:], start=1):
                times[ann.ref1] = t0 + ((t1 - t0) * 2 * k + n) // (2 * n)
        for ann in items:
            if times[ann.ref1] is None or times[ann.ref2] is None:
                missing = ann.ref1 if times[ann.ref1] is None else ann.ref2
                raise self._error(
                    f"annotation {ann.annotation_id} (tier {tier_id!r})",
                    f"unaligned time slot {missing} cannot be resolved",
                )
        return times  # type: ignore[return-value]

    def _ref_annotations(self, tier: ET.Element) -> list[RawAnnotation]:
        tier_id = tier.get("TIER_ID", "?")
        parent_id = tier.get("PARENT_REF")
        if parent_id not in self.tiers:
            raise self._error(f"tier {tier_id!r}", f"parent tier {parent_id!r} does not exist")
        parents = {a.annotation_id: a for a in self.annotations(parent_id)}
        children: dict[str, list[tuple[str, str]]] = {}
        for elem in tier.iterfind("ANNOTATION/REF_ANNOTATION"):
            ann_id = elem.get("ANNOTATION_ID") or "?"
            ref = elem.get("ANNOTATION_REF")
            if ref not in parents:
                raise self._error(
                    f"annotation {ann_id} (tier {tier_id!r})",
                    f"refers to missing annotation {ref!r}",
                )
            children.setdefault(ref, []).append((ann_id, _value(elem)))
        result: list[RawAnnotation] = []
        for ref, kids in children.items():
            parent, n = parents[ref], len(kids)
            span = parent.end_ms - parent.start_ms
            for k, (ann_id, value) in enumerate(kids):
                start = parent.start_ms + (span * 2 * k + n) // (2 * n)
                end = parent.start_ms + (span * 2 * (k + 1) + n) // (2 * n)
                result.append(RawAnnotation(ann_id, start, end, value))
        return result


def _value(elem: ET.Element) -> str:
    value = elem.find("ANNOTATION_VALUE")
    return (value.text or "").strip() if value is not None else ""
