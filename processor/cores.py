"""Whether this process has a core to spare for work beside its own main thread.

Two steps of a run use the second core when one is free: the reader parses a big sheet
in two halves at once, and the writer renders the new sheets in a child process while it
rewrites the ledger's rows. On a busy machine both only take turns with the main thread
and cost more than they save, so they ask here first.
"""

from __future__ import annotations

import os
import sys


def spare_core() -> bool:
    """Whether a core is likely free: this process may run on two or more, it is not a
    pool worker (a batch run's workers share the cores), and the load of the last minute
    leaves one free. Measured at 100k rows with one core taken by another program,
    writing took 0.15-0.25 s longer with a child than without."""
    pool = sys.modules.get("multiprocessing")
    if pool is not None and pool.parent_process() is not None:
        return False
    try:
        usable = len(os.sched_getaffinity(0))
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on this platform (Windows, macOS)
        return False
    return usable >= 2 and load <= usable - 1
