"""The Training tab: clips, hyper-parameters, the trainer process and its live curves."""
