"""How visible are the injected micro-expressions in real face crops? A model-free probe.

``bench/learns_real.py`` asks MELDAE to find MEs injected (``meldae synth --source``) into
real footage of a speaking person. This probe measures, without any deep model, how far the
injected motion stands out of the person's own motion in the very face crops the model sees
(``meldae.faces.load_face_crops`` at the lite preset's 160 px):

* **matched filter** (an upper bound for a linear detector that knows what to look for): for
  each ME kind (brow raise, brow lowering, squint, lip-corner pull) the template is the mean
  temporal band-pass image ``g[apex] - (g[apex-K] + g[apex+K]) / 2`` over the *training*
  split's MEs of that kind, at their known apex frames. A frame's score is the best
  normalised correlation of its own band-pass image with any template, over the template's
  strongest pixels (``--top`` per cent). Frame-level ROC AUC against the ME frames.
* **band energy**: the mean |band-pass| over the crop (motion of any kind).
* **mouth difference** (the speaking reference of the real-footage issue): mean |g[t] -
  g[t-1]| over the lower third of the crop, AUC against the speaking frames.

An AUC near 0.5 for the matched filter *on the training split itself* means the injected
MEs are below the person's own facial motion frame by frame: no detector can reach a high
frame AUC at that amplitude, and ``--me-scale`` shows where that changes.

    .venv/bin/python bench/real_me_probe.py --out /tmp/learns-real            # 1x (benchmark)
    .venv/bin/python bench/real_me_probe.py --out /tmp/learns-real-x3 --me-scale 3

The data folder is ``bench/learns_real.py``'s (made here when missing, same settings).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def clip_arrays(clip, crop_size: int, band: int) -> dict:
    """Grey band-pass images, ME and speaking frame masks, and the mouth difference."""
    import cv2

    from meldae.annotations import load_eaf
    from meldae.data.windows import clip_labels
    from meldae.faces import FaceSettings, load_face_crops

    crops = load_face_crops(clip.video_path, FaceSettings(crop_size=crop_size))
    grey = np.asarray(crops.crops, np.float32).mean(-1)                      # (N, S, S)
    grey = np.stack([cv2.GaussianBlur(g, (0, 0), 1.5) for g in grey])
    n = len(grey)
    t = np.arange(n)
    bandpass = grey - 0.5 * (grey[np.clip(t - band, 0, n - 1)] + grey[np.clip(t + band, 0, n - 1)])
    labels = clip_labels(load_eaf(clip.eaf_path, crops.fps), n)
    mouth = np.abs(np.diff(grey[:, 2 * crop_size // 3:], axis=0, prepend=grey[:1, 2 * crop_size // 3:]))
    return {"band": bandpass.reshape(n, -1), "me": np.asarray(labels.me) > 0.5,
            "speaking": np.asarray(labels.speaking) > 0.5, "mouth": mouth.mean(axis=(1, 2)),
            "found": np.asarray(crops.face_found, bool)}


def templates(arrays: dict, plans: dict, splits: dict, top: float) -> dict:
    """Per ME kind: (pixel mask, unit template) from the training split's apex frames."""
    by_kind: dict[str, list[np.ndarray]] = {}
    for name, a in arrays.items():
        if splits[name] != "train":
            continue
        for me in plans[name]["mes"]:
            by_kind.setdefault(me["kind"], []).append(a["band"][me["apex"]])
    out = {}
    for kind, images in by_kind.items():
        mean = np.mean(images, axis=0)
        mask = np.abs(mean) >= np.percentile(np.abs(mean), 100 - top)
        w = mean[mask]
        out[kind] = (mask, w / (np.linalg.norm(w) + 1e-9), len(images))
    return out


def matched_score(band: np.ndarray, tmpl: dict) -> np.ndarray:
    """(N,) best normalised correlation of each frame's band-pass image with a template."""
    scores = []
    for mask, w, _ in tmpl.values():
        x = band[:, mask]
        scores.append((x @ w) / (np.linalg.norm(x, axis=1) + 1e-9))
    return np.max(scores, axis=0)


def probe(data: Path, crop_size: int, band: int, top: float) -> dict:
    """The three AUCs per split (train / val / test) of a learns_real data folder."""
    from meldae.data.clipfolder import discover_clips
    from meldae.metrics import frame_auc

    clips = discover_clips(data)
    plans = {c["name"]: c for f in sorted(data.glob("synth*.json"))
             for c in json.loads(f.read_text(encoding="utf-8"))["clips"]}
    splits = {c.name: c.split for c in clips}
    arrays = {c.name: clip_arrays(c, crop_size, band) for c in clips}
    tmpl = templates(arrays, plans, splits, top)
    result = {"templates": {k: v[2] for k, v in tmpl.items()}, "splits": {}}
    for split in ("train", "val", "test"):
        names = [n for n, s in splits.items() if s == split]
        if not names:
            continue
        cat = {key: np.concatenate([fn(arrays[n]) for n in names]) for key, fn in (
            ("found", lambda a: a["found"]), ("me", lambda a: a["me"]),
            ("speaking", lambda a: a["speaking"]), ("mouth", lambda a: a["mouth"]),
            ("matched", lambda a: matched_score(a["band"], tmpl)),
            ("energy", lambda a: np.abs(a["band"]).mean(axis=1)))}
        f = cat["found"]
        result["splits"][split] = {
            "clips": len(names), "me_frames": int(cat["me"][f].sum()),
            "me_auc_matched_filter": frame_auc(cat["matched"][f], cat["me"][f]),
            "me_auc_band_energy": frame_auc(cat["energy"][f], cat["me"][f]),
            "speaking_auc_mouth_difference": frame_auc(cat["mouth"][f], cat["speaking"][f])}
    return result


def main(argv: list[str] | None = None) -> int:
    """Make (or reuse) the learns_real data at the asked amplitude and print the probe."""
    import learns_real

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("/tmp/meldae-learns-real"),
                   help="learns_real.py's --out (its data/ is reused or made)")
    p.add_argument("--me-scale", type=float, default=1.0)
    p.add_argument("--crop-size", type=int, default=160, help="the lite preset's crop")
    p.add_argument("--band", type=int, default=5, help="K of the temporal band-pass, frames")
    p.add_argument("--top", type=float, default=0.5, help="template pixels kept, per cent")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    if not (learns_real.VIDEOS / learns_real.TRAIN_SOURCE).is_file():
        print(f"real_me_probe: the shared videos are not in {learns_real.VIDEOS}", file=sys.stderr)
        return 2
    data = learns_real.make_data(args.out, learns_real.VIDEOS, 32, 6, 300, 3, 3, 6.0,
                                 me_scale=args.me_scale)
    doc = {"data": str(data), "me_scale": args.me_scale, "crop_size": args.crop_size,
           "band": args.band, "top_percent": args.top, **probe(data, args.crop_size, args.band, args.top)}
    print("| split | ME frames | ME AUC, matched filter | ME AUC, band energy | speaking AUC, mouth diff |")
    print("|---|---|---|---|---|")
    for split, r in doc["splits"].items():
        print(f"| {split} | {r['me_frames']} | {r['me_auc_matched_filter']:.3f} | "
              f"{r['me_auc_band_energy']:.3f} | {r['speaking_auc_mouth_difference']:.3f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
