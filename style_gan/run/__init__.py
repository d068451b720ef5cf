"""Run plumbing the entry points share: callbacks, checkpoint reading, config checks and
instantiation, loggers and the command line's one-line errors.

May import: the leaves (errors, ranges, weights).
"""
