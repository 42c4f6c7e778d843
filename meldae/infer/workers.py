"""Folder inference with several decode processes feeding one model process.

On a machine where decoding and face tracking cost more than the model (every CPU, and a
GPU fed by one decoder), one process cannot keep the model busy. ``iter_folder_scores``
starts ``workers`` decode processes (``meldae.infer.decode_worker``; spawned, torch-free),
each taking the next video of the list, and runs the model in this process. Every video in
flight has its own ``FrameScorer``, fed with the crops of that video as they arrive, so the
windows, batches and blending of a video are exactly those of ``iter_predict``: the scores
are the same whichever way the frames came (the test suite checks it to 1e-6).

Memory is flat in the videos' length: each worker sends through its own pipe and is at
most a few chunks of ``chunk_frames`` crops ahead of the model process, each scorer has a
fixed ring, and at most ``workers`` videos are in flight. The per-frame results of each video (about
200 bytes a frame) are what grows, as in ``predict_video``.

A worker that dies (killed, out of memory) fails the video it was decoding, with a message,
as soon as its pipe reads end-of-file (even in the middle of a message); the others go on. Closing the generator stops and joins every worker.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from meldae.infer.decode_worker import decode_worker_main
from meldae.infer.engine import FrameScorer, default_face_settings, prepare_model
from meldae.scores import ClipScores

if TYPE_CHECKING:  # pragma: no cover
    from meldae.model import MELDAE

log = logging.getLogger(__name__)

_POLL_S = 0.2


@dataclass(frozen=True)
class FolderResult:
    """One video's outcome: its scores, or the message saying why it failed."""

    video: Path
    scores: ClipScores | None
    error: str | None = None


class _InFlight:
    """A video being scored: its scorer and the scores collected so far."""

    def __init__(self, video: Path, scorer: FrameScorer) -> None:
        self.video = video
        self.scorer = scorer
        self.scores: ClipScores | None = None

    def add(self, result) -> None:
        if result is None:
            return
        if self.scores is None:
            self.scores = ClipScores.empty(int(result.total_frames), result.fps, self.video.stem)
        self.scores.add(result)

    def finish(self) -> ClipScores:
        self.add(self.scorer.finish())
        self.scores.finish()
        return self.scores


class _Pool:
    """The worker processes, the task queue and one pipe from each worker."""

    def __init__(self, videos: list[Path], workers: int, face_settings, cache_dir,
                 chunk_frames: int) -> None:
        ctx = mp.get_context("spawn")   # never fork a process that holds torch's threads
        self.tasks = ctx.Queue()
        for i in range(len(videos)):
            self.tasks.put(i)
        for _ in range(workers):
            self.tasks.put(None)
        self.stop = ctx.Event()
        names = [str(v) for v in videos]
        self.procs, self.conns = [], []
        for w in range(workers):
            reader, writer = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=decode_worker_main, name=f"meldae-decode-{w}",
                               args=(w, names, self.tasks, writer, self.stop, face_settings,
                                     None if cache_dir is None else str(cache_dir),
                                     chunk_frames), daemon=True)
            proc.start()
            writer.close()   # the worker holds the only writing end: its death reads as EOF
            self.procs.append(proc)
            self.conns.append(reader)
        self.open = set(range(workers))

    def get(self) -> list[tuple]:
        """The messages ready now (waits a little); ``("gone", worker)`` for a closed pipe."""
        ready = mp_connection.wait([self.conns[w] for w in self.open], timeout=_POLL_S)
        out = []
        for conn in ready:
            worker = self.conns.index(conn)
            try:
                out.append(conn.recv())
            except (EOFError, OSError):
                self.open.discard(worker)
                out.append(("gone", worker))
        return out

    def exitcode(self, worker: int) -> int | None:
        """The worker's exit code once it has ended."""
        self.procs[worker].join(timeout=1.0)
        return self.procs[worker].exitcode

    def close(self, timeout: float = 5.0) -> None:
        """Stop the workers and wait for them (terminate the ones that do not stop)."""
        self.stop.set()
        for conn in self.conns:
            conn.close()   # a worker still sending gets a broken pipe and stops
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            proc.join(timeout=max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                log.warning("decode worker %s did not stop: terminating it", proc.name)
                proc.terminate()
                proc.join(timeout=5.0)
        self.tasks.cancel_join_thread()
        self.tasks.close()


def iter_folder_scores(videos: list[Path], model: MELDAE, device: str = "auto", *,
                       workers: int = 2, stride: int | None = None,
                       batch_size: int | None = None, face_settings: object | None = None,
                       cache_dir: Path | None = None, chunk_frames: int = 16
                       ) -> Iterator[FolderResult]:
    """Score ``videos`` with ``workers`` decode processes and the model in this process.

    Results come in the order videos finish (not the list's order), one per video.

    Args:
        videos: the video files.
        model: the model (moved to ``device``, eval mode), or anything with its interface.
        device: see ``meldae.infer.resolve_device``.
        workers: decode processes (at least 1).
        stride, batch_size, face_settings, cache_dir: see ``iter_predict``.
        chunk_frames: crops per message from a worker.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if not videos:
        return
    model, dev = prepare_model(model, device)
    if face_settings is None:
        face_settings = default_face_settings(model.cfg.img_size)
    crop_size = int(getattr(face_settings, "crop_size", model.cfg.img_size))
    workers = min(workers, len(videos))
    pool = _Pool(list(videos), workers, face_settings, cache_dir, chunk_frames)
    try:
        yield from _consume(pool, list(videos), model, dev, crop_size, stride, batch_size)
    finally:
        pool.close()


def _consume(pool: _Pool, videos: list[Path], model, dev, crop_size: int, stride, batch_size
             ) -> Iterator[FolderResult]:
    """Dispatch the workers' messages to one scorer per video until every video is done."""
    flights: dict[int, _InFlight] = {}
    current: dict[int, int] = {}   # worker -> the video it is sending
    done: set[int] = set()
    while len(done) < len(videos) and pool.open:
        for kind, worker, *rest in pool.get():
            if kind == "gone":   # the pipe closed: after "exit", or the worker died
                index = current.pop(worker, None)
                if index is not None and index not in done:
                    done.add(index)
                    flights.pop(index, None)
                    yield FolderResult(videos[index], None, "the decode worker died (exit "
                                       f"code {pool.exitcode(worker)})")
            elif kind == "start":
                index, total, num, den = rest
                current[worker] = index
                flights[index] = _InFlight(videos[index], FrameScorer(
                    model, dev, crop_size=crop_size, total_frames=total,
                    fps=Fraction(num, den), stride=stride, batch_size=batch_size,
                    name=str(videos[index])))
            elif kind == "frames":
                index, first, crops, faces = rest
                flight = flights[index]
                for k in range(len(crops)):
                    flight.add(flight.scorer.push(first + k, crops[k], bool(faces[k])))
            elif kind in ("end", "error"):
                index = rest[0]
                current.pop(worker, None)
                done.add(index)
                yield _finished(videos[index], flights.pop(index, None), kind, rest)
    for index in sorted(set(range(len(videos))) - done):   # only when every worker died
        yield FolderResult(videos[index], None, "not scored: every decode worker stopped")


def _finished(video: Path, flight: _InFlight | None, kind: str, rest: list) -> FolderResult:
    """The result of a video whose worker said ``end`` or ``error``."""
    if kind == "error":
        return FolderResult(video, None, str(rest[1]))
    from meldae.cli import user_errors

    try:
        return FolderResult(video, flight.finish())
    except (*user_errors(), ValueError) as exc:
        return FolderResult(video, None, str(exc))
