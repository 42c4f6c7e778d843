"""Subject-independent splits: no subject ever appears in two splits (or two folds).

``subject_split`` honours the splits fixed in ``splits.csv`` (``ClipInfo.split``); the
subjects left over are shuffled with the seed and dealt out by subject count:
``round(test_fraction * n)`` subjects to test, ``round(val_fraction * n)`` to val (at least
one each when the fraction is positive and at least one subject would remain for
training), the rest to train.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from meldae.data.clipfolder import SPLITS, ClipInfo, DataError


@dataclass(frozen=True)
class SplitSet:
    """Clips of each split (each list sorted by clip name)."""

    train: list[ClipInfo]
    val: list[ClipInfo]
    test: list[ClipInfo]

    def subjects(self, split: str) -> set[str]:
        """The subjects of ``split`` (``"train"``, ``"val"`` or ``"test"``)."""
        return {clip.subject for clip in getattr(self, split)}


def _by_subject(clips: Sequence[ClipInfo]) -> dict[str, list[ClipInfo]]:
    groups: dict[str, list[ClipInfo]] = {}
    for clip in clips:
        groups.setdefault(clip.subject, []).append(clip)
    return groups


def _fixed_split(subject: str, clips: list[ClipInfo]) -> str | None:
    """The split splits.csv gives this subject (its other clips follow); None when free."""
    fixed = {c.split for c in clips if c.split}
    if len(fixed) > 1:
        raise DataError(f"splits.csv puts subject {subject!r} in several splits: {sorted(fixed)}")
    return next(iter(fixed), None)


def _count(fraction: float, n: int, reserve: int) -> int:
    if not 0.0 <= fraction < 1.0:
        raise DataError(f"split fraction must be in [0, 1), got {fraction}")
    k = int(round(fraction * n))
    if fraction > 0 and k == 0 and n - reserve >= 2:
        k = 1
    return max(0, min(k, n - reserve - 1)) if n - reserve >= 1 else 0


def subject_split(clips: Sequence[ClipInfo], val_fraction: float = 0.1,
                  test_fraction: float = 0.2, seed: int = 0) -> SplitSet:
    """Split clips into train/val/test by subject.

    Args:
        clips: the clips (e.g. from ``discover_clips``).
        val_fraction: share of the free subjects that go to validation.
        test_fraction: share of the free subjects that go to test.
        seed: shuffling seed (same seed and clips -> same split).

    Raises:
        DataError: a subject fixed to several splits, or a fraction outside [0, 1).
    """
    if val_fraction + test_fraction >= 1.0:
        raise DataError(f"val_fraction + test_fraction must be < 1, got {val_fraction + test_fraction}")
    out: dict[str, list[ClipInfo]] = {name: [] for name in SPLITS}
    free: list[str] = []
    groups = _by_subject(clips)
    for subject in sorted(groups):
        fixed = _fixed_split(subject, groups[subject])
        if fixed:
            out[fixed].extend(groups[subject])
        else:
            free.append(subject)
    order = [free[i] for i in np.random.default_rng(seed).permutation(len(free))]
    n_test = _count(test_fraction, len(order), 0)
    n_val = _count(val_fraction, len(order), n_test)
    for i, subject in enumerate(order):
        split = "test" if i < n_test else "val" if i < n_test + n_val else "train"
        out[split].extend(groups[subject])
    return SplitSet(**{k: sorted(v, key=lambda c: c.name) for k, v in out.items()})


def kfold_splits(clips: Sequence[ClipInfo], k: int, seed: int = 0) -> list[tuple[list[ClipInfo], list[ClipInfo]]]:
    """Leave-subjects-out k-fold: ``k`` pairs ``(train_clips, test_clips)``.

    Subjects are shuffled with the seed and dealt round-robin, largest first, so the folds'
    clip counts are balanced; every subject is tested in exactly one fold. ``k`` equal to
    the number of subjects gives leave-one-subject-out (LOSO), the MEGC protocol.

    Raises:
        DataError: ``k < 2`` or more folds than subjects.
    """
    groups = _by_subject(clips)
    if k < 2 or k > len(groups):
        raise DataError(f"k-fold needs 2 <= k <= number of subjects ({len(groups)}), got k={k}")
    subjects = sorted(groups)
    shuffled = [subjects[i] for i in np.random.default_rng(seed).permutation(len(subjects))]
    shuffled.sort(key=lambda s: -len(groups[s]))  # stable: ties keep the shuffled order
    folds: list[list[str]] = [[] for _ in range(k)]
    sizes = [0] * k
    for subject in shuffled:
        target = min(range(k), key=lambda f: (sizes[f], f))
        folds[target].append(subject)
        sizes[target] += len(groups[subject])
    result = []
    for fold in folds:
        held = set(fold)
        test = sorted((c for s in fold for c in groups[s]), key=lambda c: c.name)
        train = sorted((c for s in subjects if s not in held for c in groups[s]), key=lambda c: c.name)
        result.append((train, test))
    return result
