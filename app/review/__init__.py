"""Reviewing a clip: the controller that opens clips, the session (autosave, save), file
actions, the model choice, scoring, the model's proposals (``ProposalController``) and the
attention panel.
"""
