"""Run plumbing the entry points share: callbacks, checkpoint reading, config checks and
instantiation, building a stored config from an exact registry of our classes, loggers, the
command line's one-line errors, the run record (run.json), the sweep objective and the
configs' resolvers.

May import: the leaves (errors, ranges, weights).
"""
