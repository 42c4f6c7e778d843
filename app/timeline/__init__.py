"""The timeline: scores, thresholds, ME and speaking lanes, drag edits (pyqtgraph)."""
