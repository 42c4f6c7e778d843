"""Frame-exact video reading with PyAV.

``VideoReader(path)[i]`` is the i-th frame that sequential decoding produces, for every i,
including files with B-frames, variable frame rates and edit lists that discard frames.

How: on open, the packets are demuxed without decoding (fast) and the presentation
timestamps (pts) of the frames that will really be shown are sorted into a frame index; the
keyframes give the points to seek from. Reading frame i seeks to the last keyframe whose pts
is not after frame i's pts (by that pts first: seeking by the keyframe's dts lands one GOP
early in MP4 files with B-frames) and decodes forward to the exact pts. Reading frame i+1 after
frame i decodes one frame (no seek); the last 12 decoded frames are kept, so stepping back
is free too, and converted RGB frames sit in an LRU cache (``cache_bytes``). Every decoded frame is
checked against the index; when they disagree (a decoder that drops frames the container
lists) the index is rebuilt by decoding the whole file once. Files whose timestamps are
missing or repeated are indexed by decoding, too.

Scrubbing (the app's drag previews) builds on it: ``frame_cache.FrameCache`` keeps decoded
frames around the playhead within a byte budget, ``scrub.ScrubPreviewer`` answers a drag
position at once with a cached frame, a keyframe or a frame of the scrub proxy
(``proxy``: a small short-GOP copy for long-GOP files), and ``VideoReader.read(i,
interrupt=...)`` lets a decode give up when the playhead has moved on.

Thread-safety: a ``VideoReader`` is not thread-safe. Use one reader per thread (opening one
is cheap); ``iter_frames`` opens its own decoder, so one thread may iterate while the same
thread reads random frames from the reader.
"""

from meldae.video.index import VideoError, VideoInfo, probe
from meldae.video.reader import ReadInterrupted, VideoReader

__all__ = ["ReadInterrupted", "VideoError", "VideoInfo", "VideoReader", "probe"]
