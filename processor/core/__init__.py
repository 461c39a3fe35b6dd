"""The pure core: read grid -> ledger -> stages -> plan -> sheet models and letter contexts.

Nothing in this package opens a file, reads the clock or talks to Excel; ``as_of`` is
always a parameter and problems in user data come back as :class:`Issue` values.
"""
