"""The video player: frame-exact decoding off the GUI thread, the video view, playback."""
