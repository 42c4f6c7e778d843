"""Editing annotations: the document (Qt wrapper of meldae's AnnotationSet), undo commands, the
segment and speaking editors and their actions.
"""
