"""The match list's rendering of a finished run, kept in the Django cache (Redis).

A finished run never changes; what can change is which of its freelancers may still be shown and
what is shown of them. The key holds the run's shown fingerprint (``selectors.
RUN_SHOWN_FINGERPRINT_SQL``, read with the visibility check, in the same query), so a rendering is
only ever served for exactly the rows it was made from: a hidden, suspended, deactivated or
unapproved freelancer, or an edited display name, rate..., gives a new fingerprint and the next
request renders afresh. Nothing has to invalidate the cache, and no write path can forget to. A
new run is a new key. Entries expire after ``MATCH_LIST_CACHE_SECONDS``; 0 turns the cache off.

The run and each result are kept as rendered JSON (``RawJSON``): a request cuts its page from the
list and writes the pieces out without decoding them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from config.api.rendering import RawJSON, render_json

from .. import selectors
from ..models import MatchRun
from .serializers import MatchResultSerializer, MatchRunSerializer

KEY_VERSION = 2  # bump when the rendering (serializers) or the cached value changes shape


@dataclass(frozen=True)
class RenderedRun:
    run: RawJSON
    results: list[RawJSON]  # every result still shown, in rank order


def _key(run: MatchRun, fingerprint: str | None) -> str:
    # finished_at too: a database restored or recreated under a cache that survived it reuses run ids.
    finished = run.finished_at.timestamp() if run.finished_at else 0
    return f"matchlist:{KEY_VERSION}:{run.pk}:{finished}:{fingerprint or '-'}"


def rendered_run(run: MatchRun) -> RenderedRun:
    """The finished ``run`` and its results as the match list renders them. ``run`` must come from
    ``selectors.gig_runs_visible_to`` (it carries the fingerprint)."""
    seconds = settings.MATCH_LIST_CACHE_SECONDS
    if seconds > 0:
        cached = cache.get(_key(run, run.shown_fingerprint))
        if cached is not None:
            return RenderedRun(run=RawJSON(cached[0]), results=[RawJSON(r) for r in cached[1]])
    rows, fingerprint = selectors.run_results_read(run)
    rendered = RenderedRun(
        run=render_json(MatchRunSerializer(run).data),
        results=[render_json(r) for r in MatchResultSerializer(rows, many=True).data],
    )
    if seconds > 0:
        # Under the fingerprint read with these rows, not the one the request came with: a change
        # between the two queries must not be stored under the older state's key. Plain bytes:
        # nothing of this module's classes goes into the cache.
        cache.set(_key(run, fingerprint), (bytes(rendered.run), [bytes(r) for r in rendered.results]), seconds)
    return rendered
