"""Reviewing a clip: the controller that opens clips, the session (autosave, save), file
actions, the model choice, scoring and the attention panel.
"""
