"""The clip's sound in the app: playback in step with the video, the waveform lane, and the
speaking turns the audio gives (``meldae.audio`` does the work; this package wraps it)."""
