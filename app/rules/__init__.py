"""The pure rules engine: règlements as data, typed facts, evaluation and French explanations.

Nothing here performs I/O or reads the clock; `rules` imports nothing from `services` or `routers`.
"""
