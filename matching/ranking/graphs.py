"""Language graphs: partial indexes per language that a minority of the listed profiles speak.

A gig that asks for a language few freelancers speak makes the HNSW iterative scan of the whole
graph walk past every row whose profile does not speak it: at 100k profiles and a language of ~10%
of them, ~1,200 rows per gig view before 60 pass the filters (docs/benchmarks.md); the taxonomy
walk of each needed skill's strongest claims likewise. A language's graph is two partial indexes
over the rows of its listed, available speakers only (``PARTS``): an HNSW index of their vectors
and the claims' strongest-first index. Searched there, such a gig walks as far as any other. The
retrievers do so (``Eligibility.for_language``) when every language the gig names has a graph;
the planner picks a partial index because the search's filter repeats its predicate word for
word (``graph_predicate``).

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
from typing import NamedTuple

from django.conf import settings
from django.db import connection

from marketplace.models import SKILL_LEVEL_RANK

from ..models import LANGUAGE_GRAPH_HNSW, LANGUAGE_GRAPH_HNSW_SQL

log = logging.getLogger("matchwork.matching")

_COMMENT = "language graph: "
# The API accepts ISO 639-1 codes with an optional region (marketplace/api/serializers.py). A code
# goes into SQL as a constant only in ``language_clause``, and only if it has that form.
_LANGUAGE_CODE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,4})?$")

# Listed and available, in the words of the ranking's hard filters (``eligibility_sql`` writes its
# clauses from these): a graph's predicate is used only if the search repeats it. The user's own
# state is checked on the rows the walk returns.
VISIBLE = ("{p}.visibility = 'public'", "{p}.moderation_status = 'approved'")
AVAILABLE = "{p}.available_hours_per_week > 0"
_LISTED = " AND ".join((*VISIBLE, AVAILABLE))


def level_rank_sql(alias: str) -> str:
    """A claim's level as a number, strongest highest: the order of the taxonomy walk, of its index
    ``skill_claim_walk`` (marketplace/models.py) and of the language graphs' claims part."""
    column = f"{alias}.level" if alias else "level"
    return (
        "CASE "
        + " ".join(f"WHEN {column} = '{lv}' THEN {rank}" for lv, rank in SKILL_LEVEL_RANK.items())
        + " ELSE 0 END"
    )


def valid_language_code(code: str) -> bool:
    return bool(_LANGUAGE_CODE.match(code))


def language_clause(code: str) -> str:
    """The language filter on ``{p}`` for one language, as a constant: the words of a graph's
    predicate, which the planner needs repeated in a search to use the partial index."""
    if not valid_language_code(code):
        raise ValueError(f"not a language code: {code!r}")
    return f"{{p}}.languages && ARRAY['{code}']::varchar[]"


@dataclass(frozen=True)
class _Part:
    """One of a language graph's two partial indexes."""

    prefix: str
    table: str
    keys: str  # what follows ``ON table``, before any ``INCLUDE``
    # its storage parameters, as PostgreSQL keeps them (``pg_class.reloptions``), and the columns it
    # carries besides its keys (``INCLUDE``): a part built with others is rebuilt by the next sync
    # (``plan_language_graphs``)
    options: frozenset[str] = frozenset()
    include: tuple[str, ...] = ()

    @property
    def definition(self) -> str:
        return f"{self.keys} INCLUDE ({', '.join(self.include)})" if self.include else self.keys


PARTS = (
    # the dense retriever's HNSW search, as the main graph ``freelancer_emb_hnsw_cos``
    _Part(
        "freelancer_emb_lang_",
        "matching_freelancerembedding",
        LANGUAGE_GRAPH_HNSW_SQL,
        frozenset(f"{key}={value}" for key, value in LANGUAGE_GRAPH_HNSW.items()),
    ),
    # the taxonomy retriever's walk of each needed skill's strongest claims; like the main walk's
    # index (``skill_claim_walk``) it carries what the walk reads besides the predicate's fields (the
    # level, the rate and the user), so the walk reads the index alone
    _Part(
        "freelancer_skill_lang_",
        "marketplace_freelancerskill",
        f"(skill_id, ({level_rank_sql('')}) DESC, profile_id DESC)",
        include=("level", "hourly_rate", "user_id"),
    ),
)


def index_name(part: _Part, code: str) -> str:
    digest = hashlib.sha1(code.encode()).hexdigest()[:6]  # noqa: S324 - a name, not a secret
    return f"{part.prefix}{re.sub('[^a-z0-9]', '_', code.lower())}_{digest}"


def graph_predicate(part: _Part, code: str) -> str:
    """The partial index's predicate: a search whose WHERE repeats it can use the index."""
    return f"{language_clause(code)} AND {_LISTED}".format(p=part.table)


# --------------------------------------------------------------------------- the graphs there are

GRAPHS_TTL = 60.0
_graphs: dict[str, tuple[float, dict[str, tuple[str, ...]]]] = {}  # database -> (expires, graphs)


def language_graphs(*, fresh: bool = False) -> dict[str, tuple[str, ...]]:
    """The languages whose graph is whole and valid, ``{code: (vector index, claim index)}``; kept
    ``GRAPHS_TTL`` per process."""
    key = connection.settings_dict["NAME"]
    now = time.monotonic()
    cached = _graphs.get(key)
    if cached is not None and cached[0] > now and not fresh:
        return cached[1]
    found = _indexes()
    graphs = {code: tuple(parts[p.prefix].name for p in PARTS) for code, parts in found.items() if _whole(parts)}
    _graphs[key] = (now + GRAPHS_TTL, graphs)
    return graphs


def searched_in_language_graphs(languages) -> bool:
    """Whether a search filtered to these languages runs in their graphs: it names some, and every
    one has a graph (``language_graphs``)."""
    return bool(languages) and language_graphs().keys() >= set(languages)


def forget_language_graphs() -> None:
    _graphs.clear()


class _Index(NamedTuple):
    name: str
    valid: bool  # a failed concurrent build leaves an invalid index
    current: bool  # built with its part's parameters and columns (``_Part.options``, ``_Part.include``)


def _indexes() -> dict[str, dict[str, _Index]]:
    """Every language graph index, valid or not, ``{code: {prefix: _Index}}``; one without its
    comment is filed under its own name."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, obj_description(c.oid, 'pg_class'), i.indisvalid, c.reloptions,
                   ARRAY(SELECT a.attname::text FROM unnest(i.indkey[i.indnkeyatts:]) WITH ORDINALITY k(attnum, n)
                         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.n)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = ANY(%s::regclass[]) AND (c.relname LIKE %s OR c.relname LIKE %s)
            ORDER BY c.relname
            """,
            [[part.table for part in PARTS], *(part.prefix + "%" for part in PARTS)],
        )
        rows = cursor.fetchall()
    found: dict[str, dict[str, _Index]] = {}
    for name, comment, valid, options, included in rows:
        part = next(part for part in PARTS if name.startswith(part.prefix))
        code = comment.removeprefix(_COMMENT) if comment and comment.startswith(_COMMENT) else name
        current = frozenset(options or ()) == part.options and tuple(included) == part.include
        found.setdefault(code, {})[part.prefix] = _Index(name, bool(valid), current)
    return found


def _whole(parts: dict[str, _Index]) -> bool:
    """Every part there and valid: only then is a language's graph searched (a part built with
    other parameters is still a correct index of the same rows, searched until it is rebuilt)."""
    return all(part.prefix in parts and parts[part.prefix].valid for part in PARTS)


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
    for code, parts in _indexes().items():
        if code in wanted and _whole(parts) and all(index.current for index in parts.values()):
            plan.keep.append(code)
            continue
        # not wanted, or partly missing, invalid or built with other parameters (a change of
        # ``LANGUAGE_GRAPH_HNSW``): drop what is not valid and current (or everything), build it again
        plan.drop += [
            index.name for index in parts.values() if code not in wanted or not (index.valid and index.current)
        ]
    plan.create = [code for code in wanted if code not in plan.keep]
    return plan


def sync_language_graphs(
    *,
    dry_run: bool = False,
    plan: GraphPlan | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> GraphPlan:
    """Build the wanted language graphs that are missing and drop the rest; writes go on meanwhile.

    ``plan``: the one to carry out (e.g. the one a command has just shown), else planned now. Must
    run outside a transaction (``CONCURRENTLY``). ``progress(action, what)`` is called before each
    step.
    """
    plan = plan or plan_language_graphs()
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
            if progress:
                progress("build", f"{code} ({plan.speakers[code]:,} profiles)")
            started = time.monotonic()
            for part in PARTS:  # IF NOT EXISTS: a part still valid is left as it is
                name = connection.ops.quote_name(index_name(part, code))
                cursor.execute(
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {part.table} {part.definition} "
                    f"WHERE {graph_predicate(part, code)}"
                )
                cursor.execute(f"COMMENT ON INDEX {name} IS %s", [_COMMENT + code])
            log.info(
                "language graph built",
                extra={
                    "language": code,
                    "profiles": plan.speakers[code],
                    "seconds": round(time.monotonic() - started, 1),
                },
            )
        if plan.create:
            cursor.execute("RESET maintenance_work_mem")
    if plan.drop:
        log.info("language graphs dropped", extra={"indexes": plan.drop})
    forget_language_graphs()
    return plan
