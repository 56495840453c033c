"""Language graphs: a partial HNSW index per language that a minority of the listed profiles speak.

A gig that asks for a language few freelancers speak makes the HNSW iterative scan of the whole
graph walk past every row whose profile does not speak it: at 100k profiles and a language of ~10%
of them, ~1,200 rows per gig view before 60 pass the filters (docs/benchmarks.md). A graph built
over only the listed, available speakers of that language answers the same search in a walk of
ordinary length. The dense retriever searches one (``Eligibility.for_language``) when every
language the gig names has one; the planner picks the partial index because the search's filter
repeats its predicate word for word (``graph_predicate``).

Which languages get one is decided from the data (``plan_language_graphs``): those spoken by more
listed profiles than the exact search takes (fewer are searched exactly anyway) and by at most
``MATCHING_LANGUAGE_GRAPH_MAX_SHARE`` of them (a common language costs the main graph little), the
``MATCHING_LANGUAGE_GRAPHS_MAX`` most spoken first. ``sync_language_graphs`` builds what is missing
(``CREATE INDEX CONCURRENTLY``: writes go on) and drops what is no longer wanted; Celery beat runs
it daily (``matching.tasks.sync_language_graphs``) and ``manage.py language_graphs`` on demand.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

log = logging.getLogger("matchwork.matching")

GRAPH_PREFIX = "freelancer_emb_lang_"
_COMMENT = "language graph: "
# The API accepts ISO 639-1 codes with an optional region (marketplace/api/serializers.py). A code
# goes into SQL as a constant only in ``language_clause``, and only if it has that form.
_LANGUAGE_CODE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,4})?$")

# Listed and available, as the ranking's hard filters say it (``eligibility_sql`` with
# feasibility); the user's own state is checked on the rows the walk returns.
_LISTED = "{p}.visibility = 'public' AND {p}.moderation_status = 'approved' AND {p}.available_hours_per_week > 0"


def valid_language_code(code: str) -> bool:
    return bool(_LANGUAGE_CODE.match(code))


def language_clause(code: str) -> str:
    """The language filter on ``{p}`` for one language, as a constant: the words of a graph's
    predicate, which the planner needs repeated in a search to use the partial index."""
    if not valid_language_code(code):
        raise ValueError(f"not a language code: {code!r}")
    return f"{{p}}.languages && ARRAY['{code}']::varchar[]"


def graph_predicate(code: str) -> str:
    """The partial index's predicate: a search whose WHERE repeats it can use the index."""
    return f"{language_clause(code)} AND {_LISTED}".format(p="matching_freelancerembedding")


def graph_name(code: str) -> str:
    digest = hashlib.sha1(code.encode()).hexdigest()[:6]  # noqa: S324 - a name, not a secret
    return f"{GRAPH_PREFIX}{re.sub('[^a-z0-9]', '_', code.lower())}_{digest}"


# --------------------------------------------------------------------------- the graphs there are

GRAPHS_TTL = 60.0
_graphs: dict[str, tuple[float, dict[str, str]]] = {}  # database -> (expires, {code: index})


def language_graphs(*, fresh: bool = False) -> dict[str, str]:
    """The valid language graphs, ``{code: index name}``; kept ``GRAPHS_TTL`` per process."""
    key = connection.settings_dict["NAME"]
    now = time.monotonic()
    cached = _graphs.get(key)
    if cached is not None and cached[0] > now and not fresh:
        return cached[1]
    graphs = {code: name for code, (name, valid) in _indexes().items() if valid}
    _graphs[key] = (now + GRAPHS_TTL, graphs)
    return graphs


def forget_language_graphs() -> None:
    _graphs.clear()


def _indexes() -> dict[str, tuple[str, bool]]:
    """Every language graph, valid or not (a failed concurrent build leaves an invalid one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, obj_description(c.oid, 'pg_class'), i.indisvalid
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = 'matching_freelancerembedding'::regclass AND c.relname LIKE %s
            """,
            [GRAPH_PREFIX + "%"],
        )
        rows = cursor.fetchall()
    found: dict[str, tuple[str, bool]] = {}
    for name, comment, valid in rows:
        code = (comment or "").removeprefix(_COMMENT)
        found[code if comment and comment.startswith(_COMMENT) else name] = (name, bool(valid))
    return found


# --------------------------------------------------------------------------- which ones to keep


@dataclass
class GraphPlan:
    listed: int
    speakers: dict[str, int]  # listed, available profiles per language
    wanted: list[str]
    create: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)  # index names
    keep: list[str] = field(default_factory=list)


def plan_language_graphs() -> GraphPlan:
    """Which languages should have a graph now, and what to build and drop to get there."""
    from .candidates import exact_search_limit  # candidates searches the graphs: it imports this module

    listed_sql = _LISTED.format(p="p")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM marketplace_freelancerprofile p WHERE {listed_sql}")  # noqa: S608
        listed = int(cursor.fetchone()[0])
        cursor.execute(
            f"""
            SELECT code, count(*) FROM marketplace_freelancerprofile p, unnest(p.languages) AS code
            WHERE {listed_sql} GROUP BY code ORDER BY count(*) DESC, code
            """  # noqa: S608 - fixed SQL
        )
        speakers = {code: int(n) for code, n in cursor.fetchall()}
    at_least = exact_search_limit(settings.MATCHING_EXACT_SEARCH_PROFILES)
    at_most = settings.MATCHING_LANGUAGE_GRAPH_MAX_SHARE * listed
    wanted = [code for code, n in speakers.items() if valid_language_code(code) and at_least < n <= at_most]
    wanted = wanted[: settings.MATCHING_LANGUAGE_GRAPHS_MAX]
    plan = GraphPlan(listed=listed, speakers=speakers, wanted=wanted)
    existing = _indexes()
    for code, (name, valid) in existing.items():
        if code in wanted and valid:
            plan.keep.append(code)
        else:
            plan.drop.append(name)
    plan.create = [code for code in wanted if code not in plan.keep]
    return plan


def sync_language_graphs(*, dry_run: bool = False, progress: Callable[[str, str], None] | None = None) -> GraphPlan:
    """Build the wanted language graphs that are missing and drop the rest; writes go on meanwhile.

    Must run outside a transaction (``CONCURRENTLY``). ``progress(action, what)`` is called before
    each step.
    """
    plan = plan_language_graphs()
    if dry_run:
        return plan
    with connection.cursor() as cursor:
        for name in plan.drop:
            if progress:
                progress("drop", name)
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {connection.ops.quote_name(name)}")
        if plan.create:
            cursor.execute("SET maintenance_work_mem = %s", [settings.MATCHING_LANGUAGE_GRAPH_BUILD_MEMORY])
        for code in plan.create:
            name = graph_name(code)
            if progress:
                progress("build", f"{code} ({plan.speakers[code]:,} profiles)")
            started = time.monotonic()
            cursor.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {connection.ops.quote_name(name)} "
                "ON matching_freelancerembedding USING hnsw (embedding vector_cosine_ops) "
                f"WITH (m = 16, ef_construction = 64) WHERE {graph_predicate(code)}"
            )
            cursor.execute(f"COMMENT ON INDEX {connection.ops.quote_name(name)} IS %s", [_COMMENT + code])
            log.info(
                "language graph built",
                extra={"language": code, "index": name, "profiles": plan.speakers[code],
                       "seconds": round(time.monotonic() - started, 1)},
            )  # fmt: skip
        if plan.create:
            cursor.execute("RESET maintenance_work_mem")
    if plan.drop:
        log.info("language graphs dropped", extra={"indexes": plan.drop})
    forget_language_graphs()
    return plan
