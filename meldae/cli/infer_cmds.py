"""``meldae infer``: score videos (files or folders of them) and write .npz, .eaf and .csv.

One bad file never stops a batch: it is reported on one line (``meldae: error: <file>:
<reason>``), listed in the summary, and the exit status is 1 (2 when every video failed).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

AUDIO_TIER = "Speaking (audio)"
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg",
                            ".wmv", ".flv", ".mts", ".ts", ".3gp"})


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``infer`` subcommand."""
    p = subparsers.add_parser(
        "infer", help="score videos with a MELDAE model (writes .npz, .eaf, .scores.csv)",
        description="Score each video in overlapping windows (streaming, bounded memory) and "
                    "write <name>.npz (per-frame scores, faces, attention, segments), "
                    "<name>.eaf (predicted ME and speaking tiers) and <name>.scores.csv. "
                    "Without --checkpoint the bundled demo model (resources/demo/README.md) "
                    "is used.")
    p.add_argument("inputs", nargs="+", type=Path, metavar="VIDEO_OR_FOLDER",
                   help="video files, or folders whose videos are all scored")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="a MELDAE checkpoint (NAME.safetensors with NAME.json beside it)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: beside each video; manual annotations in an "
                        "existing <name>.eaf are kept)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--threshold", type=float, default=None,
                   help="score threshold (default: the checkpoint's validated one, else 0.5)")
    p.add_argument("--min-length", type=int, default=None, help="shortest segment, in frames")
    p.add_argument("--merge-gap", type=int, default=None,
                   help="merge segments separated by at most this many frames")
    p.add_argument("--stride", type=int, default=None,
                   help="frames between window starts (default: half a window)")
    p.add_argument("--batch-size", type=int, default=None, help="windows per forward pass")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice; on a busy or 2-core "
                        "machine one fewer than the cores leaves a core for decoding)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--audio-vad", action="store_true",
                   help="also find speaking turns in the audio track (silero-vad) and write "
                        f"them as the tier '{AUDIO_TIER}' (model predictions)")
    p.add_argument("--speaking-gap", type=float, default=0.5, metavar="SECONDS",
                   help="--audio-vad: pauses shorter than this stay inside a turn (default 0.5)")
    p.add_argument("--megc-csv", type=Path, default=None, metavar="CSV",
                   help="also write every video's segments as one MEGC submission CSV "
                        "(vid,pred_onset,pred_offset,type; vid = file name without extension, "
                        "frames from 1)")
    p.set_defaults(func=run_infer)
    _add_export_demo(subparsers)


def _add_export_demo(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export-demo", help="store a trained checkpoint as the bundled demo model (fp16)",
        description="Write CHECKPOINT as a demo checkpoint pair (fp16 weights; meta with "
                    "demo=true and a note saying what it was trained on).")
    p.add_argument("checkpoint", type=Path, help="the trained checkpoint (NAME.safetensors)")
    p.add_argument("--out", type=Path, default=None,
                   help="NAME of the pair to write (default: the bundled demo model)")
    p.add_argument("--trained-on", default="", help="how the training data was made")
    p.add_argument("--note", default=None,
                   help="one line shown to users wherever the demo scores (what it saw)")
    p.add_argument("--heldout-report", type=Path, default=None,
                   help="a `meldae evaluate --json` report on held-out data, kept in the meta")
    p.set_defaults(func=run_export_demo)


def run_export_demo(args: argparse.Namespace) -> int:
    """Run ``meldae export-demo``; returns the exit status."""
    import json

    from meldae.infer.demo import export_demo
    from meldae.paths import demo_checkpoint

    extra = {}
    if args.heldout_report is not None:
        try:
            extra["heldout"] = json.loads(args.heldout_report.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"meldae: error: {args.heldout_report}: {exc}", file=sys.stderr)
            return 2
    out = args.out if args.out is not None else demo_checkpoint()
    note = {"note": args.note} if args.note else {}
    path = export_demo(args.checkpoint, out, args.trained_on, extra, **note)
    print(f"demo model written: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def collect_videos(inputs: list[Path]) -> tuple[list[Path], list[str]]:
    """The video files named by ``inputs`` (folders expand to their videos, sorted).

    Returns:
        The videos, and one error line per input that names no video.
    """
    videos: list[Path] = []
    problems: list[str] = []
    for item in inputs:
        if item.is_dir():
            found = sorted(p for p in item.iterdir()
                           if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                problems.append(f"{item}: no video files in this folder")
            videos.extend(found)
        elif item.exists():
            videos.append(item)
        else:
            problems.append(f"{item}: no such file or folder")
    return videos, problems


def _progress_bar(name: str, total: int, disabled: bool):
    """A tqdm bar on stderr, and a ``(done, total)`` callback that drives it."""
    from tqdm import tqdm

    bar = tqdm(total=total, unit="frame", desc=name, file=sys.stderr, disable=disabled,
               leave=False, dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    return bar, update


def _score_one(video: Path, args: argparse.Namespace, model: object,
               info: dict) -> tuple[str, list]:
    """Score one video and write its outputs; returns the summary line and its MEGC rows."""
    from meldae.infer import predict_video, save_prediction
    from meldae.infer.engine import probe_video
    from meldae.megc import megc_rows

    bar, update = _progress_bar(video.name, probe_video(video)[0], args.no_progress)
    try:
        pred = predict_video(video, model, args.device, args.stride, checkpoint_info=info,
                             threshold=args.threshold, min_length=args.min_length,
                             merge_gap=args.merge_gap, batch_size=args.batch_size,
                             progress=update)
    finally:
        bar.close()
    out_dir = args.out if args.out is not None else video.parent
    extra, audio_note = _audio_tier(video, args, pred) if args.audio_vad else ([], "")
    npz_path, eaf_path = save_prediction(pred, out_dir, video.stem, media_path=video.resolve(),
                                         extra_tiers=extra)
    faces = int(pred.face_found.sum())
    note = ("" if faces else " (no face found: all scores 0)") + audio_note
    line = (f"{video}: {pred.n_frames} frames, face in {faces}, {len(pred.segments)} segments "
            f"at threshold {pred.post.threshold:g}{note} -> {npz_path}, {eaf_path}")
    return line, megc_rows(video.stem, pred.segments.tolist(), pred.fps)


def _audio_tier(video: Path, args: argparse.Namespace, pred) -> tuple[list, str]:
    """The ``Speaking (audio)`` tier of ``video`` (none without an audio track) and a note."""
    from meldae.audio import VadSettings, detect_turns, probe_audio

    if probe_audio(video) is None:
        return [], f", no audio track (no '{AUDIO_TIER}' tier)"
    turns = detect_turns(video, VadSettings(gap_s=args.speaking_gap))
    segments = turns.segments(pred.fps, pred.n_frames)
    return [(AUDIO_TIER, segments)], f", {len(segments)} speaking turn(s) from the audio"


def run_infer(args: argparse.Namespace) -> int:
    """Run ``meldae infer``; returns the exit status."""
    from meldae.infer import DeviceError, load_model

    if args.out is not None and args.out.exists() and not args.out.is_dir():
        print(f"meldae: error: {args.out}: --out must be a folder", file=sys.stderr)
        return 2
    videos, problems = collect_videos(args.inputs)
    for line in problems:
        print(f"meldae: error: {line}", file=sys.stderr)
    failed = _unreadable(videos, args.out)   # cheap checks first: no model for bad files
    todo = [v for v in videos if v not in failed]
    if todo:
        if args.threads:
            import torch

            torch.set_num_threads(max(1, args.threads))
        try:
            model, info = load_model(args.checkpoint, args.device)
        except DeviceError as exc:
            print(f"meldae: error: {exc}", file=sys.stderr)
            return 2
        rows: list = []
        failed += _score_all(todo, args, model, info, rows)
        if args.megc_csv is not None:
            from meldae.megc import write_megc_csv

            write_megc_csv(args.megc_csv, rows)
            print(f"MEGC submission CSV: {args.megc_csv} ({len(rows)} intervals)")
    return _summary(videos, failed, problems)


def _unreadable(videos: list[Path], out: Path | None) -> list[Path]:
    """Videos that cannot be opened (or whose outputs would clash); each reported on a line."""
    from meldae.cli import user_errors
    from meldae.infer.engine import probe_video

    clashes = _name_clashes(videos) if out is not None else set()
    failed = []
    for video in videos:
        try:
            if video.stem in clashes:
                raise FileExistsError(f"{video}: another input has the name {video.stem!r}; "
                                      "its outputs would overwrite each other in --out")
            probe_video(video)
        except (*user_errors(), FileExistsError) as exc:
            failed.append(video)
            print(f"meldae: error: {_naming(exc, video)}", file=sys.stderr)
    return failed


def _score_all(videos: list[Path], args: argparse.Namespace, model: object,
               info: dict, megc: list) -> list[Path]:
    """Score each video, adding its MEGC rows to ``megc``; returns those that failed (each
    reported on one line)."""
    from meldae.cli import user_errors

    failed = []
    for video in videos:
        try:
            line, rows = _score_one(video, args, model, info)
            megc.extend(rows)
            print(line, flush=True)
        except (*user_errors(), ValueError) as exc:
            failed.append(video)
            print(f"meldae: error: {_naming(exc, video)}", file=sys.stderr)
        except Exception as exc:  # one bad file must not stop the batch
            failed.append(video)
            log.debug("unexpected failure on %s", video, exc_info=True)
            print(f"meldae: error: {video}: unexpected {type(exc).__name__}: {exc} "
                  "(run with -v for details)", file=sys.stderr)
    return failed


def _naming(exc: BaseException, video: Path) -> str:
    """The exception's message, prefixed with the file unless it already names it."""
    text = str(exc)
    return text if str(video) in text or video.name in text else f"{video}: {text}"


def _name_clashes(videos: list[Path]) -> set[str]:
    stems = [v.stem for v in videos]
    return {s for s in stems if stems.count(s) > 1}


def _summary(videos: list[Path], failed: list[Path], problems: list[str]) -> int:
    """Print the batch summary; the exit status: 0, 1 (some failed) or 2 (all failed)."""
    bad = len(failed) + len(problems)
    if len(videos) + len(problems) > 1:
        done = len(videos) - len(failed)
        print(f"meldae: {done} of {len(videos)} videos scored", file=sys.stderr)
        if failed:
            print("meldae: failed: " + ", ".join(str(v) for v in failed), file=sys.stderr)
    if not bad:
        return 0
    return 2 if len(failed) == len(videos) else 1
