"""Long-running processes (web workers, Celery workers) keep what they load at start out of the
garbage collector's full passes.

A process that has loaded Django, DRF and the matching model holds a few hundred thousand
long-lived objects. CPython's full (oldest-generation) collection walks all of them whenever
enough new objects have piled up: measured in a ranking process at 100k profiles, 50-62 ms
every ~100 rankings, stalling every thread of the process (docs/benchmarks.md). Freezing them
(``gc.freeze``) moves them to a permanent generation that collections skip; what is allocated
afterwards is collected as before.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("matchwork.process")


def freeze_long_lived_objects(after: str) -> int:
    """Collect once, then freeze every object this process holds; returns how many are frozen.

    Call it when the process has loaded what it keeps for its lifetime (``after`` names that
    moment, for the log): at start-up, and after the model's first load, which may happen inside
    a request. Objects frozen are never collected, so what that request holds at that moment
    stays in memory too (once per process).
    """
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("long-lived objects frozen", extra={"after": after, "objects": frozen})
    return frozen
