"""Independent ranking queries side by side, each on its own database connection.

A ranking's retrievers (HNSW for the gig's views; BM25 and taxonomy overlap) do not depend on one
another: their two statements (facts.py) run at once, and on a server with more than one core a
ranking waits for the slower instead of their sum. The pool's threads keep their own persistent connections (Django
connections are per thread), checked like a request's at the start of every job.

Inside a transaction (an atomic block: a test case, ``ATOMIC_REQUESTS``, a caller's
``transaction.atomic``) other connections cannot see its uncommitted rows, so the calls run one
after another on the caller's connection, as they do when ``MATCHING_PARALLEL_QUERIES`` is 0.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, connections

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None
_pool_connections: list = []  # the pool threads' DatabaseWrapper objects, for shutdown()


def _executor() -> ThreadPoolExecutor | None:
    global _pool, _pool_pid
    workers = int(getattr(settings, "MATCHING_PARALLEL_QUERIES", 0))
    if workers <= 0:
        return None
    with _lock:
        # A forked child (a prefork Celery worker, a gunicorn worker) starts its own pool.
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="matchwork-ranking")
            _pool_pid = os.getpid()
            _pool_connections.clear()
    return _pool


_local = threading.local()


def in_pool() -> bool:
    """Whether this thread is one of the pool's: its connection serves ranking queries only, so
    session settings made for them can stay on it."""
    return getattr(_local, "in_pool", False)


def _job(fn: Callable[..., Any], args: tuple) -> Any:
    _local.in_pool = True
    # As at the start of a request: drop this thread's connection if it broke or outlived
    # CONN_MAX_AGE, so a database restart costs one failed ranking at most.
    close_old_connections()
    wrapper = connections[DEFAULT_DB_ALIAS]
    with _lock:
        if wrapper not in _pool_connections:
            _pool_connections.append(wrapper)
    return fn(*args)


def side_by_side(*calls: tuple[Callable[..., Any], tuple]) -> list[Any]:
    """Run ``fn(*args)`` for each call and return their results in order.

    The first call runs in the caller's thread, the others in the pool, at the same time. The
    first exception raised, in call order, is re-raised after every call has finished.
    """
    # A pool thread never waits on the pool (that could deadlock it when every thread waits).
    pool = _executor() if len(calls) > 1 and not connection.in_atomic_block and not in_pool() else None
    if pool is None:
        return [fn(*args) for fn, args in calls]
    futures = [pool.submit(_job, fn, args) for fn, args in calls[1:]]
    results: list[Any] = []
    error: BaseException | None = None
    try:
        results.append(calls[0][0](*calls[0][1]))
    except BaseException as exc:  # re-raised below, after the pool's calls end
        error = exc
    for future in futures:
        try:
            results.append(future.result())
        except BaseException as exc:  # re-raised below
            error = error or exc
    if error is not None:
        raise error
    return results


def shutdown() -> None:
    """Stop the pool and close its connections (tests that drop their database call this)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
        wrappers = list(_pool_connections)
        _pool_connections.clear()
    if pool is not None:
        pool.shutdown(wait=True)
    for wrapper in wrappers:
        raw = wrapper.connection
        if raw is not None:
            raw.close()
