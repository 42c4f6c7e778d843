"""The clip's audio track: decoding, the waveform envelope (cached), speaking turns (VAD).

Nothing here imports Qt; the long passes are generators (``iter_envelope``, ``iter_vad``)
that the app wraps in workers and the CLI runs to the end.
"""

from meldae.audio.decode import AudioError, AudioInfo, iter_audio, probe_audio, read_audio
from meldae.audio.envelope import (
    Envelope, EnvelopeProgress, envelope_cache_path, iter_envelope, load_envelope,
)
from meldae.audio.turns import (
    SpeechTurns, VadSettings, turns_from_probs, turns_to_frames, turns_to_segments,
)
from meldae.audio.vad import VadProgress, detect_turns, iter_vad

__all__ = [
    "AudioError", "AudioInfo", "Envelope", "EnvelopeProgress", "SpeechTurns", "VadProgress",
    "VadSettings", "detect_turns", "envelope_cache_path", "iter_audio", "iter_envelope",
    "iter_vad", "load_envelope", "probe_audio", "read_audio", "turns_from_probs",
    "turns_to_frames", "turns_to_segments",
]
