"""Scoring one rank's videos for ``meldae infer``: in turn, or fed by decode workers.

Each scored video's outputs are written (atomically, ``save_prediction``), then recorded in
the manifest when there is one, then reported on one line.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from meldae.cli.infer_batch import AUDIO_TIER, Batch, Outcome, naming

log = logging.getLogger(__name__)


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


def _predict(video: Path, batch: Batch):
    """Score one video in this process (decoding in a thread), with a progress bar."""
    from meldae.infer import predict_video
    from meldae.infer.engine import probe_video

    args = batch.args
    bar, update = _progress_bar(video.name, probe_video(video)[0], args.no_progress)
    try:
        return predict_video(video, batch.model, args.device, args.stride,
                             checkpoint_info=batch.info, threshold=args.threshold,
                             min_length=args.min_length, merge_gap=args.merge_gap,
                             batch_size=args.batch_size, progress=update)
    finally:
        bar.close()


def _save(video: Path, pred, batch: Batch) -> Outcome:
    """Write a prediction's outputs, record it in the manifest, print its line."""
    from meldae.infer import save_prediction

    args = batch.args
    out_dir = args.out if args.out is not None else video.parent
    extra, audio_note = _audio_tier(video, args, pred) if args.audio_vad else ([], "")
    npz_path, eaf_path = save_prediction(pred, out_dir, video.stem, media_path=video.resolve(),
                                         extra_tiers=extra)
    if batch.manifest is not None:
        batch.manifest.record(video, batch.key, pred.n_frames, len(pred.segments),
                              batch.env.rank)
    faces = int(pred.face_found.sum())
    note = ("" if faces else " (no face found: all scores 0)") + audio_note
    batch.say(f"{video}: {pred.n_frames} frames, face in {faces}, {len(pred.segments)} "
              f"segments at threshold {pred.post.threshold:g}{note} -> {npz_path}, {eaf_path}")
    return Outcome(str(video), "scored", batch.env.rank, pred.n_frames, len(pred.segments))


def _audio_tier(video: Path, args, pred) -> tuple[list, str]:
    """The ``Speaking (audio)`` tier of ``video`` (none without an audio track) and a note."""
    from meldae.audio import VadSettings, detect_turns, probe_audio

    if probe_audio(video) is None:
        return [], f", no audio track (no '{AUDIO_TIER}' tier)"
    turns = detect_turns(video, VadSettings(gap_s=args.speaking_gap))
    segments = turns.segments(pred.fps, pred.n_frames)
    return [(AUDIO_TIER, segments)], f", {len(segments)} speaking turn(s) from the audio"


def _guarded(batch: Batch, video: Path, work) -> Outcome:
    """``work()`` for one video; a failure becomes a reported ``failed`` outcome."""
    from meldae.cli import user_errors

    try:
        return work()
    except (*user_errors(), ValueError) as exc:
        message = naming(exc, video)
    except Exception as exc:  # one bad file must not stop the batch
        log.debug("unexpected failure on %s", video, exc_info=True)
        message = (f"{video}: unexpected {type(exc).__name__}: {exc} "
                   "(run with -v for details)")
    batch.say(f"meldae: error: {message}", err=True)
    return Outcome(str(video), "failed", batch.env.rank, error=message)


def score_sequential(batch: Batch, videos: list[Path]) -> list[Outcome]:
    """Score the videos one after the other (decoding in a thread of this process)."""
    return [_guarded(batch, v, lambda v=v: _save(v, _predict(v, batch), batch))
            for v in videos]


def score_with_workers(batch: Batch, videos: list[Path]) -> list[Outcome]:
    """Score the videos with ``--workers`` decode processes feeding the model here."""
    from meldae.infer import VideoPrediction, checkpoint_postprocessing
    from meldae.infer.default_model import validation_stride
    from meldae.infer.workers import iter_folder_scores

    args = batch.args
    post = checkpoint_postprocessing(batch.info, args.threshold, args.min_length,
                                     args.merge_gap)
    stride = args.stride if args.stride is not None else validation_stride(batch.info)
    outcomes = []
    for result in iter_folder_scores(videos, batch.model, args.device, workers=args.workers,
                                     stride=stride, batch_size=args.batch_size):
        if result.scores is None:
            outcomes.append(_guarded(batch, result.video, lambda r=result: _raise(r)))
            continue
        result.scores.info = dict(batch.info or {})
        pred = VideoPrediction(result.scores, post)
        outcomes.append(_guarded(batch, result.video,
                                 lambda r=result, p=pred: _save(r.video, p, batch)))
    return outcomes


def _raise(result) -> Outcome:
    raise ValueError(result.error)
