"""How visible is an injected micro-expression? The frame AUC of an oracle detector.

``bench/learns_real.py`` asks a model to rank ME frames above the others (S_loc frame AUC)
on a face it never saw. This script measures how far that is possible at all, with a
detector that knows what no model can know: every clip is rendered twice from the same plan
and the same source frames (``meldae synth --source``), once with its MEs and once without,
so the exact image change of each ME at its apex is known. The oracle scores frame t by

    s(t) = max over the clip's MEs e of  <I(t) - (I(t-8) + I(t+8)) / 2, P_e> / (|P_e| sd_e)

where P_e = I_with(apex_e) - I_without(apex_e) is ME e's own signed change (a matched
filter; the band-pass reference is the one of the model's region flow), sd_e the spread of
that projection over the clip, then takes the maximum over ±``--window`` frames (an ME's
onset and offset frames barely move, yet are labelled ME). It works on the clean 320-px
frames: no video codec, no face tracking, no resizing to the model's crop.

The space-time oracle (``matched_spacetime``) also knows each ME's time course: it
correlates the projection above with the ME's own band-passed profile along P_e over its
onset..offset, and a frame takes the best correlation of the placements that cover it. Its
proposals (``f1_spacetime_best``) are the correlation peaks, each exactly as long as its ME,
after non-maximum suppression, scored with the benchmark's F1 (IoU >= 0.5) at the best
threshold for these very clips.

Reported per source video and ME amplitude (``--scales``): the oracles' frame AUCs
(``matched``, ``matched_window``, ``matched_spacetime``) and F1, the frame AUC of a
region-energy oracle (mean |band-pass change| over the pixels each ME moves) and of the
whole-frame energy, pooled over the clips. No model may know what these oracles know, so
they bound what the benchmark's frame AUC and F1 can show at an amplitude.

    .venv/bin/python bench/me_visibility.py --clips 6 --json /tmp/me-visibility.json

The figures are in docs/benchmarks.md ("Real faces").
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

VIDEOS = REPO.parent / "shared" / "data" / "video"
SOURCES = ("WolfgangLanger_Pexels.mp4", "single_face.mp4")
ME_CHANNELS = ("brow_", "squint_", "lip_pull_")
BAND = 8            # the band-pass reference: the mean of frames t-8 and t+8


def _grey(frames) -> np.ndarray:
    return np.asarray([f.astype(np.float32).mean(-1) for f in frames])  # (n, H, W)


def _band(x: np.ndarray) -> np.ndarray:
    """x(t) minus the mean of x(t-8) and x(t+8), indices clamped: (n, H, W)."""
    n = len(x)
    t = np.arange(n)
    return x - 0.5 * (x[np.clip(t - BAND, 0, n - 1)] + x[np.clip(t + BAND, 0, n - 1)])


def render_pair(source, plan, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The clip's grey frames with and without its MEs (same source frames and crop)."""
    quiet = copy.deepcopy(plan)
    for name in quiet.channels:
        if name.startswith(ME_CHANNELS):
            quiet.channels[name] = np.zeros_like(quiet.channels[name])
    with_me = _grey(source.frames(plan, np.random.default_rng(seed)))
    without = _grey(source.frames(quiet, np.random.default_rng(seed)))
    return with_me, without


def _spread(y: np.ndarray, length: int) -> np.ndarray:
    """s(t) = max of y(tau) over the starts tau whose ``length`` frames cover t.

    ``y`` holds one value per start (a "valid" correlation): the result is ``length - 1``
    frames longer."""
    n = len(y) + length - 1
    padded = np.concatenate([np.full(length - 1, -np.inf), y, np.full(length - 1, -np.inf)])
    return np.max([padded[length - 1 - k: length - 1 - k + n] for k in range(length)], 0)


def oracle_scores(with_me: np.ndarray, without: np.ndarray, events: list[tuple[int, int, int]],
                  window: int) -> dict[str, np.ndarray]:
    """Per-frame scores of the oracle detectors for one clip; events are (onset, apex, offset)."""
    from scipy.ndimage import maximum_filter1d

    n = len(with_me)
    band = _band(with_me).reshape(n, -1)                          # (n, H*W)
    injected = band - _band(without).reshape(n, -1)                # the MEs' own band-passed change
    energy = np.abs(band)
    matched, spacetime, region, candidates = [], [], [], []
    for onset, apex, offset in events:
        pattern = (with_me[apex] - without[apex]).reshape(-1)    # (H*W,)
        norm = float(np.linalg.norm(pattern))
        if norm == 0:
            continue
        proj = band @ (pattern / norm)                           # (n,)
        matched.append(proj / (proj.std() + 1e-6))
        # in time too: correlate with the ME's own profile along its pattern
        profile = injected[onset:offset + 1] @ (pattern / norm)  # (length,)
        corr = np.correlate(proj, profile / (np.linalg.norm(profile) + 1e-6), "valid")
        z = corr / (corr.std() + 1e-6)
        spacetime.append(_spread(z, len(profile)))
        candidates += [(float(z[k]), k, k + len(profile) - 1) for k in range(len(z))
                       if z[k] == z[max(0, k - len(profile) // 2): k + len(profile) // 2 + 1].max()]
        moved = np.abs(pattern) > 2
        if moved.any():
            e = energy[:, moved].mean(1)
            region.append(e / (np.median(e) + 1e-6))
    out = {"frame_energy": energy.mean(1)}
    if matched:
        best = np.max(matched, 0)
        out["matched"] = best
        out["matched_window"] = maximum_filter1d(best, 2 * window + 1)
        out["matched_spacetime"] = np.max(spacetime, 0)
        out["region_energy"] = np.max(region, 0)
    return out, _suppress(candidates)


def _suppress(candidates: list[tuple[float, int, int]]) -> list[tuple[float, int, int]]:
    """Greedy non-maximum suppression: the strongest intervals that overlap no stronger one."""
    kept: list[tuple[float, int, int]] = []
    for score, a, b in sorted(candidates, reverse=True):
        if all(b < ka or a > kb for _, ka, kb in kept):
            kept.append((score, a, b))
    return kept


def measure(video: Path, scale: float, clips: int, seed: int, window: int,
            mes_per_10s: float, frames: int, size: int) -> dict:
    """Pooled frame AUCs of the oracles over ``clips`` clips of one source at one amplitude."""
    from meldae.data.synth_source import SourceFace
    from meldae.data.synth_timeline import ContextQuota, plan_clip
    from meldae.metrics import frame_auc

    source = SourceFace(video, size)
    quota = ContextQuota()
    scores: dict[str, list[np.ndarray]] = {}
    labels, gts, proposals, n_mes = [], [], [], 0
    for clip in range(clips):
        rng = np.random.default_rng([seed, clip])
        plan = plan_clip(rng, frames, Fraction(30), size, quota, mes_per_10s, scale)
        if not plan.mes:
            continue
        with_me, without = render_pair(source, plan, seed * 1000 + clip)
        label = np.zeros(frames)
        for e in plan.mes:
            label[e.onset:e.offset + 1] = 1
        per_frame, found = oracle_scores(with_me, without,
                                         [(e.onset, e.apex, e.offset) for e in plan.mes], window)
        for name, s in per_frame.items():
            scores.setdefault(name, []).append(s)
        proposals.append(found)
        labels.append(label)
        gts.append([(e.onset, e.offset) for e in plan.mes])
        n_mes += len(plan.mes)
    y = np.concatenate(labels)
    return {"clips": len(labels), "mes": n_mes, "me_frame_share": float(y.mean()),
            **{name: float(frame_auc(np.concatenate(v), y)) for name, v in scores.items()},
            "f1_spacetime_best": best_f1(proposals, gts)}


def best_f1(proposals: list[list[tuple[float, int, int]]], gts: list[list[tuple[int, int]]]) -> float:
    """The space-time oracle's spotting F1 (IoU >= 0.5) at its best threshold on these very
    clips (optimistic: the threshold is chosen on the test). Its proposals are the peaks of
    each ME's space-time correlation, each exactly as long as that ME, after non-maximum
    suppression."""
    from meldae.metrics import spotting_prf

    best = 0.0
    for threshold in sorted({score for found in proposals for score, _, _ in found}):
        pairs = [([(a, b) for score, a, b in found if score >= threshold], g)
                 for found, g in zip(proposals, gts)]
        best = max(best, spotting_prf(pairs)[2])
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=Path, default=VIDEOS)
    p.add_argument("--clips", type=int, default=6, help="clips per source and amplitude")
    p.add_argument("--scales", type=float, nargs="+", default=[1.0, 3.0])
    p.add_argument("--window", type=int, default=4, help="temporal max filter: ± frames")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--mes-per-10s", type=float, default=6.0)
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--size", type=int, default=320)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    missing = [s for s in SOURCES if not (args.videos / s).is_file()]
    if missing:
        print(f"me_visibility: {', '.join(missing)} not in {args.videos}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rows = []
    for name in SOURCES:
        for scale in args.scales:
            r = measure(args.videos / name, scale, args.clips, args.seed, args.window,
                        args.mes_per_10s, args.frames, args.size)
            rows.append({"source": name, "me_scale": scale, **r})
            print(f"{name:28s} {scale:>4g}x  MEs {r['mes']:3d}  matched {r['matched']:.3f}  "
                  f"matched ±{args.window} {r['matched_window']:.3f}  space-time "
                  f"{r['matched_spacetime']:.3f} (best F1 {r['f1_spacetime_best']:.3f})  region energy "
                  f"{r['region_energy']:.3f}  frame energy {r['frame_energy']:.3f}", flush=True)
    doc = {"rows": rows, "window": args.window, "clips": args.clips, "seed": args.seed,
           "total_s": time.perf_counter() - t0}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
