"""The match list's rendering of a finished run, kept in the Django cache (Redis).

A finished run never changes; what can change is which of its freelancers may still be shown and
what is shown of them. The key holds ``run_results_fingerprint`` (read with the visibility check,
in the same query), so a rendering is only ever served for exactly the rows it was made from: a
hidden, suspended, deactivated or unapproved freelancer, or an edited display name, rate..., gives
a new fingerprint and the next request renders afresh. Nothing has to invalidate the cache, and
no write path can forget to. A new run is a new key. Entries expire after
``MATCH_LIST_CACHE_SECONDS``; 0 turns the cache off.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from .. import selectors
from ..models import MatchRun
from .serializers import MatchResultSerializer, MatchRunSerializer

KEY_VERSION = 1  # bump when the rendering (serializers) changes shape


def _key(run: MatchRun, fingerprint: str | None) -> str:
    # finished_at too: a database restored or recreated under a cache that survived it reuses run ids.
    finished = run.finished_at.timestamp() if run.finished_at else 0
    return f"matchlist:{KEY_VERSION}:{run.pk}:{finished}:{fingerprint or '-'}"


def rendered_run(run: MatchRun) -> dict:
    """``{"run": ..., "results": [...]}``: the finished ``run`` and every result still shown, as the
    match list renders them. ``run`` must come from ``selectors.gig_runs_visible_to`` (it carries
    the fingerprint)."""
    seconds = settings.MATCH_LIST_CACHE_SECONDS
    if seconds > 0:
        cached = cache.get(_key(run, run.shown_fingerprint))
        if cached is not None:
            return cached
    rows, fingerprint = selectors.run_results_read(run)
    rendered = {
        "run": dict(MatchRunSerializer(run).data),
        "results": [dict(r) for r in MatchResultSerializer(rows, many=True).data],
    }
    if seconds > 0:
        # Under the fingerprint read with these rows, not the one the request came with: a change
        # between the two queries must not be stored under the older state's key.
        cache.set(_key(run, fingerprint), rendered, seconds)
    return rendered
