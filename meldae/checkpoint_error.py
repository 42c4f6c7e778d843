"""``CheckpointError``, in a module of its own so that the model code (backbone weights) can
raise it without importing :mod:`meldae.checkpoint`, which imports the model."""


class CheckpointError(Exception):
    """A checkpoint is missing, not a MELDAE checkpoint, or does not fit its config.

    ``str(error)`` is ``"<file>: <reason>"``.
    """
