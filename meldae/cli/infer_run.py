"""How ``meldae infer`` scores a batch: resume, shard over ranks, decode workers, summary.

With ``--out DIR`` a manifest (``meldae.infer.manifest``) records each finished video with
the model's hash and the output settings; a rerun skips the videos already done (``--redo``
scores them again). Under ``torchrun`` the to-do list is split over the ranks
(``meldae.infer.shard``) and rank 0 writes the one summary (``DIR/infer-summary.json``, and
the lines on stderr). ``--workers N`` decodes in N processes (``meldae.infer.workers``).

One bad file never stops a batch: it is reported on one line (``meldae: error: <file>:
<reason>``), listed in the summary, and the exit status is 1 (2 when every video failed).
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from meldae.cli.infer_batch import Batch, Outcome, naming

log = logging.getLogger(__name__)

def run_videos(args: argparse.Namespace, videos: list[Path], problems: list[str]) -> int:
    """Score ``videos`` as ``meldae infer`` does; returns the exit status (of this rank)."""
    from meldae.infer.shard import detect_env, join_group, leave_group

    env = detect_env()
    batch = Batch(args, env)
    if env.is_distributed and args.out is None:
        batch.say("meldae: error: a torchrun job needs --out DIR (a folder every rank can "
                  "write; on several machines a shared one)", err=True)
        return 2
    from meldae.infer import DeviceError

    join_group(env)
    try:
        return _run(batch, videos, problems)
    except DeviceError as exc:   # e.g. --device cuda on a machine without CUDA
        batch.say(f"meldae: error: {exc}", err=True)
        return 2
    finally:
        leave_group()


def _run(batch: Batch, videos: list[Path], problems: list[str]) -> int:
    from meldae.infer.shard import broadcast_from_main, gather_to_main, plan_shards

    args, env = batch.args, batch.env
    if env.is_main:
        for line in problems:
            print(f"meldae: error: {line}", file=sys.stderr)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if args.out is not None:
        _open_manifest(batch)
    shared = _clashes(videos, args.out)   # the same on every rank; rank 0 reports them
    clashed = {o.video for o in shared}
    candidates = [v for v in videos if str(v) not in clashed]
    done = set(broadcast_from_main(_done_videos(batch, candidates) if env.is_main else None,
                                   env))
    todo = [v for v in candidates if str(v) not in done]
    shared += [Outcome(str(v), "skipped") for v in candidates if str(v) in done]
    if env.is_main:
        for outcome in shared:
            if outcome.error:
                print(f"meldae: error: {outcome.error}", file=sys.stderr)
        if done:
            print(f"meldae: {len(done)} video(s) already done in {args.out} with this model "
                  "and these settings: skipped (--redo scores them again)", file=sys.stderr)
    own = _score_share(batch, plan_shards(todo, env.world_size)[env.rank])
    gathered = gather_to_main(own, env)
    if not env.is_main:
        return 0   # rank 0 reports every rank's failures (a non-zero rank would stop torchrun)
    everything = shared + [o for part in gathered for o in part]
    if batch.manifest is not None:
        batch.manifest.write_summary(_summary_json(batch, everything, started))
    if args.megc_csv is not None:
        _write_megc_csv(args, everything)
    return _summary(videos, everything, problems)


def _write_megc_csv(args: argparse.Namespace, outcomes: list[Outcome]) -> None:
    """One MEGC submission CSV for every video scored now or skipped as already done (read
    back from its ``.npz``, so every rank's and every earlier run's videos are in it)."""
    from meldae.infer.predict import load_prediction
    from meldae.megc import megc_rows, write_megc_csv

    rows = []
    for outcome in outcomes:
        if outcome.status not in ("scored", "skipped"):
            continue
        video = Path(outcome.video)
        pred = load_prediction((args.out or video.parent) / f"{video.stem}.npz")
        rows += megc_rows(video.stem, pred.segments.tolist(), pred.fps)
    write_megc_csv(args.megc_csv, rows)
    print(f"MEGC submission CSV: {args.megc_csv} ({len(rows)} intervals)")


def _clashes(videos: list[Path], out: Path | None) -> list[Outcome]:
    """Inputs whose outputs would overwrite each other in ``--out`` (reported on rank 0)."""
    if out is None:
        return []
    stems = [v.stem for v in videos]
    return [Outcome(str(v), "failed", error=f"{v}: another input has the name {v.stem!r}; "
                    "its outputs would overwrite each other in --out")
            for v in videos if stems.count(v.stem) > 1]


def _open_manifest(batch: Batch) -> None:
    """The manifest of ``--out`` and this run's key (the model's hash and the settings)."""
    from meldae.infer.manifest import Manifest, RunKey, file_hash

    args = batch.args
    settings = {"threshold": args.threshold, "min_length": args.min_length,
                "merge_gap": args.merge_gap, "stride": args.stride, "engine": args.engine,
                "audio_vad": bool(args.audio_vad),
                "speaking_gap": args.speaking_gap if args.audio_vad else None}
    batch.key = RunKey(file_hash(model_files(args.checkpoint)), settings)
    batch.manifest = Manifest(args.out)


def model_files(checkpoint: Path | None) -> list[Path]:
    """The files whose bytes identify the model (the demo model when None).

    Raises:
        meldae.checkpoint.CheckpointError: a file is missing.
    """
    from meldae.checkpoint import CheckpointError, checkpoint_paths
    from meldae.paths import demo_checkpoint

    path = demo_checkpoint() if checkpoint is None else Path(checkpoint)
    files = [path] if path.suffix == ".onnx" else list(checkpoint_paths(path))
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise CheckpointError(f"{missing[0]}: no such model file")
    return files


def _done_videos(batch: Batch, videos: list[Path]) -> list[str]:
    if batch.manifest is None or batch.args.redo:
        return []
    return [str(v) for v in videos if batch.manifest.is_done(v, batch.key)]


def _score_share(batch: Batch, videos: list[Path]) -> list[Outcome]:
    """Probe, then score this rank's videos; one outcome each."""
    from meldae.cli import user_errors
    from meldae.infer.engine import probe_video

    outcomes, readable = [], []
    for video in videos:
        try:
            probe_video(video)   # cheap checks first: no model for bad files
            readable.append(video)
        except user_errors() as exc:
            outcomes.append(_failed(batch, video, exc))
    if readable:
        _load(batch)
        from meldae.cli.infer_score import score_sequential, score_with_workers

        score = score_with_workers if batch.args.workers > 0 else score_sequential
        outcomes += score(batch, readable)
    return outcomes


def _load(batch: Batch) -> None:
    """Load the model on this rank's device (torch threads as asked)."""
    from meldae.infer import load_model
    from meldae.infer.shard import rank_device

    args = batch.args
    if args.threads:
        import torch

        torch.set_num_threads(max(1, args.threads))
    device = rank_device(args.device, batch.env)
    batch.model, batch.info = load_model(args.checkpoint, device, engine=args.engine)
    args.device = str(device)


def _failed(batch: Batch, video: Path, exc: BaseException | str) -> Outcome:
    message = naming(exc, video)
    batch.say(f"meldae: error: {message}", err=True)
    return Outcome(str(video), "failed", batch.env.rank, error=message)


def _summary_json(batch: Batch, outcomes: list[Outcome], started: str) -> dict:
    counts = {s: sum(o.status == s for o in outcomes) for s in ("scored", "skipped", "failed")}
    return {"format": "meldae-infer-summary", "version": 1,
            "model_sha256": batch.key.model_sha256, "settings": batch.key.settings,
            "world_size": batch.env.world_size, "started_at": started,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "counts": counts, "videos": [asdict(o) for o in outcomes]}


def _summary(videos: list[Path], outcomes: list[Outcome], problems: list[str]) -> int:
    """Print the batch summary; the exit status: 0, 1 (some failed) or 2 (all failed)."""
    failed = [o.video for o in outcomes if o.status == "failed"]
    skipped = sum(o.status == "skipped" for o in outcomes)
    if len(videos) + len(problems) > 1:
        done = sum(o.status == "scored" for o in outcomes)
        note = f" ({skipped} skipped: already done)" if skipped else ""
        print(f"meldae: {done} of {len(videos)} videos scored{note}", file=sys.stderr)
        if failed:
            print("meldae: failed: " + ", ".join(failed), file=sys.stderr)
    if not failed and not problems:
        return 0
    return 2 if len(failed) == len(videos) else 1
