"""Receivers of the marketplace's after-commit events: they enqueue embedding and match work."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_suppressed: contextvars.ContextVar[bool] = contextvars.ContextVar("matching_enqueue_suppressed", default=False)


def enqueue_suppressed() -> bool:
    return _suppressed.get()


@contextlib.contextmanager
def enqueue_suppression() -> Iterator[None]:
    """Enqueue nothing inside the block (the evaluation command embeds and ranks synchronously)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def on_profile_changed(sender, profile_id: int, **kwargs) -> None:
    from . import tasks

    tasks.enqueue(tasks.embed_freelancers, [profile_id], reschedule_matches=True)


def on_gig_changed(sender, gig_id: int, **kwargs) -> None:
    from . import tasks

    tasks.enqueue(tasks.embed_gigs, [gig_id], reschedule_matches=True)
