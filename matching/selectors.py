"""Reads of the matching engine: latest runs, match entries, gigs a user may see matches of."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet, TextField
from django.db.models.expressions import RawSQL

from accounts.models import User
from marketplace.models import ClientMembership, FreelancerProfile, Gig

from .models import MatchResult, MatchRun


@dataclass(frozen=True)
class MatchEntry:
    run_id: int
    rank: int
    score: float


@dataclass(frozen=True)
class GigRuns:
    """A gig's latest finished match run and the run that is scheduled or under way, if any."""

    gig_id: int
    finished: MatchRun | None
    waiting: MatchRun | None


def gigs_with_matches_visible_to(user: User) -> QuerySet[Gig]:
    """Gigs whose matches the user may read: those of the user's own client organisation.

    The membership is a join, not a query of its own (a user belongs to at most one client).
    Mirrored in SQL by ``gig_runs_visible_to``: change both together."""
    if not user.is_authenticated or user.is_suspended:
        return Gig.objects.none()
    return Gig.objects.filter(client__memberships__user=user)


def _finished_runs(gig) -> QuerySet[MatchRun]:
    return MatchRun.objects.filter(gig=gig, status=MatchRun.Status.DONE).order_by("-finished_at", "-id")


def _waiting_runs(gig) -> QuerySet[MatchRun]:
    return MatchRun.objects.filter(gig=gig, status__in=[MatchRun.Status.PENDING, MatchRun.Status.RUNNING]).order_by(
        "-created_at", "-id"
    )


def latest_finished_run(gig: Gig) -> MatchRun | None:
    return _finished_runs(gig).first()


def waiting_run(gig: Gig) -> MatchRun | None:
    """A run that is scheduled or under way (the API says the ranking is being refreshed)."""
    return _waiting_runs(gig).first()


def gig_runs_visible_to(user: User, gig_id: int) -> GigRuns | None:
    """``latest_finished_run`` and ``waiting_run`` of a gig whose matches the user may read, else None.

    Read on every view of a match list, so in one query, whatever the answer: the gig if the user
    may see it (``gigs_with_matches_visible_to``), joined to its latest finished and its waiting
    run. The finished run comes with its ``shown_fingerprint`` (``RUN_SHOWN_FINGERPRINT_SQL``), so
    a cached rendering of it can be checked without another query.

    Written in SQL because it is the hot path of a cached match list: building and compiling it
    with the ORM cost ~2.8 ms of CPU per request, executing it 0.15 ms.
    """
    if not user.is_authenticated or user.is_suspended or not -(2**63) <= gig_id < 2**63:
        return None  # as the ORM answers an id out of bigint's range: nothing, not an error
    with connection.cursor() as cursor:
        cursor.execute(_GIG_RUNS_SQL, {"gig": gig_id, "user": user.pk})
        rows = cursor.fetchall()
    if not rows:
        return None
    finished = waiting = None
    for *values, fingerprint in rows:
        if values[0] is None:  # a visible gig without runs
            continue
        run = MatchRun.from_db(connection.alias, _RUN_FIELDS, values)
        if run.status == MatchRun.Status.DONE:
            run.shown_fingerprint = fingerprint
            finished = run
        else:
            waiting = run
    return GigRuns(gig_id=gig_id, finished=finished, waiting=waiting)


# What the API shows of a listed freelancer (matching.api.serializers.FreelancerSummarySerializer).
SUMMARY_FIELDS = (
    "display_name",
    "headline",
    "hourly_rate",
    "currency",
    "available_hours_per_week",
    "timezone",
    "languages",
    "rating_avg",
    "rating_count",
    "completed_jobs",
)


# Who may be listed: a freelancer who became unshowable since the run drops out of it at once.
# Mirrored by _SHOWN_SQL below (the fingerprint): change both together.
SHOWN_FREELANCER = Q(
    freelancer__visibility=FreelancerProfile.Visibility.PUBLIC,
    freelancer__moderation_status="approved",
    freelancer__user__is_suspended=False,
    freelancer__user__is_active=True,
)


def run_results(run: MatchRun) -> QuerySet[MatchResult]:
    """Results of a run, excluding freelancers who became unshowable since the run.

    Reads the freelancer columns the match list shows; the user is joined to filter, not loaded.
    """
    return (
        run.results.select_related("freelancer")
        .only("run_id", "rank", "score", "components", "explanation", "freelancer_id",
              *(f"freelancer__{f}" for f in SUMMARY_FIELDS))
        .filter(SHOWN_FREELANCER)
        .order_by("rank")
    )  # fmt: skip


_SHOWN_SQL = f"""
    p.visibility = '{FreelancerProfile.Visibility.PUBLIC.value}' AND p.moderation_status = 'approved'
    AND NOT u.is_suspended AND u.is_active"""

# MD5 of what ``run_results`` shows of the run ``{run}`` in rank order, apart from what a stored
# result never changes (score, components, explanation): which freelancers are listed and every
# column shown of them (a row's text form quotes each value, so no two different rows read the
# same). It changes as soon as a listed freelancer is hidden, suspended, deactivated, no longer
# approved or edits a shown field, however the row was written (API, admin, moderation, a bulk
# ``update()``): a rendering keyed by it is never stale. NULL when nobody is shown.
RUN_SHOWN_FINGERPRINT_SQL = f"""
    SELECT md5(string_agg(
        ROW(r.rank, r.freelancer_id, {", ".join(f"p.{f}" for f in SUMMARY_FIELDS)})::text, '|' ORDER BY r.rank))
    FROM {MatchResult._meta.db_table} r
    JOIN {FreelancerProfile._meta.db_table} p ON p.id = r.freelancer_id
    JOIN {User._meta.db_table} u ON u.id = p.user_id
    WHERE r.run_id = {{run}} AND {_SHOWN_SQL}"""  # noqa: S608 - table and column names only; values are parameters

_RUN_FIELDS = [f.attname for f in MatchRun._meta.concrete_fields]
_GIG_RUNS_SQL = f"""
    SELECT {", ".join(f"run.{MatchRun._meta.get_field(f).column}" for f in _RUN_FIELDS)},
        CASE WHEN run.status = 'done' THEN ({RUN_SHOWN_FINGERPRINT_SQL.format(run="run.id")}) END
    FROM {Gig._meta.db_table} g
    JOIN {ClientMembership._meta.db_table} m ON m.client_id = g.client_id AND m.user_id = %(user)s
    LEFT JOIN {MatchRun._meta.db_table} run ON run.gig_id = g.id AND run.id IN (
        (SELECT id FROM {MatchRun._meta.db_table} WHERE gig_id = %(gig)s AND status = 'done'
         ORDER BY finished_at DESC, id DESC LIMIT 1),
        (SELECT id FROM {MatchRun._meta.db_table} WHERE gig_id = %(gig)s AND status IN ('pending', 'running')
         ORDER BY created_at DESC, id DESC LIMIT 1))
    WHERE g.id = %(gig)s"""  # noqa: S608 - table and column names only; values are parameters


def run_results_read(run: MatchRun) -> tuple[list[MatchResult], str | None]:
    """``run_results`` of a run and their fingerprint (``RUN_SHOWN_FINGERPRINT_SQL``), read by one
    statement, so one snapshot: a rendering of these rows is what that fingerprint stands for."""
    sql = f"({RUN_SHOWN_FINGERPRINT_SQL.format(run='%s')})"
    fingerprint = RawSQL(sql, (run.pk,), output_field=TextField())  # noqa: S611 - the run id is a parameter
    rows = list(run_results(run).annotate(shown_fingerprint=fingerprint))
    return rows, (rows[0].shown_fingerprint if rows else None)


def match_entry_for(*, gig: Gig, freelancer: FreelancerProfile, run_id: int | None = None) -> MatchEntry | None:
    """Rank and score the freelancer had in a finished match run of the gig, if listed.

    ``run_id`` names the run the client was looking at; without it (or when it is not a finished
    run of this gig) the latest finished run counts. The invitation service records these on an
    invitation sent from a match list, so what is stored is what the engine showed, not user input.
    """
    run = None
    if run_id is not None:
        run = MatchRun.objects.filter(gig=gig, pk=run_id, status=MatchRun.Status.DONE).first()
    run = run or latest_finished_run(gig)
    if run is None:
        return None
    result = run.results.filter(freelancer=freelancer).only("rank", "score").first()
    if result is None:
        return None
    return MatchEntry(run_id=run.id, rank=result.rank, score=result.score)


def match_run_latest(*, gig_id: int) -> MatchRun | None:
    """The gig's newest run whatever its status (staff see pending and failed runs too), results preloaded."""
    return (
        MatchRun.objects.filter(gig_id=gig_id)
        .prefetch_related("results__freelancer")
        .order_by("-created_at", "-id")
        .first()
    )
