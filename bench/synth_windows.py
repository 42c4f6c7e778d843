"""Benchmark: synthetic clip generation and WindowDataset item throughput.

Usage: python bench/synth_windows.py [--clips 10] [--frames 300] [--size 320] [--out DIR]

Prints: seconds to write the clips (and per frame), ME apex amplitudes and speech mouth
opening in pixels (from synth.json), the face pipeline's detection rate on the clips, and
windows/s of ``WindowDataset`` with training augmentation (T=32, S=160).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=10)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="meldae-synth-"))

    from meldae.data.synth import synthesize

    started = time.perf_counter()
    clips = synthesize(out, args.clips, seed=0, frames=args.frames, size=args.size)
    elapsed = time.perf_counter() - started
    n = args.clips * args.frames
    print(f"synthesize: {args.clips} clips x {args.frames} frames {args.size}px: "
          f"{elapsed:.1f} s ({1000 * elapsed / n:.1f} ms/frame)")

    meta = json.loads((out / "synth.json").read_text())
    amps = np.array([me["amplitude_px"] for c in meta["clips"] for me in c["mes"]])
    mouth = np.array([c["speech_mouth_max_px"] for c in meta["clips"]])
    speaking = np.mean([me["speaking"] for c in meta["clips"] for me in c["mes"]])
    print(f"MEs: {len(amps)}, apex amplitude {amps.min():.1f}-{amps.max():.1f} px "
          f"(median {np.median(amps):.1f}); {100 * speaking:.0f} % while speaking; "
          f"speech lip gap up to {mouth.mean():.1f} px (+ chin drop ~{0.46 * mouth.mean():.1f} px)")

    from meldae.data.windows import WindowDataset
    from meldae.faces import FaceSettings

    started = time.perf_counter()
    ds = WindowDataset(clips, 32, 16, 160, face_settings=FaceSettings(crop_size=160),
                       cache_dir=out / "cache", train=True)
    prep = time.perf_counter() - started
    found = np.mean([ds.window(c, s)["face_found"].float().mean().item() for c, s in ds.windows])
    print(f"face crops: {prep:.1f} s ({1000 * prep / n:.1f} ms/frame); face found in "
          f"{100 * found:.1f} % of window frames")
    started = time.perf_counter()
    count = 0
    while time.perf_counter() - started < 3.0:
        ds[count % len(ds)]
        count += 1
    rate = count / (time.perf_counter() - started)
    print(f"WindowDataset (train, T=32, S=160): {rate:.0f} windows/s in one process")
    print(f"clips in {out}")


if __name__ == "__main__":
    main()
