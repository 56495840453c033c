"""Writes of the matching engine: documents, vectors and match runs.

Celery tasks, management commands and the API call these; none of them writes matching tables
directly.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from marketplace.models import FreelancerProfile, FreelancerSkill, Gig, Skill

from .documents import Document, freelancer_documents
from .encoder import DIMENSIONS, ModelIdentity, active_model, get_encoder
from .models import (
    EmbeddingView,
    FreelancerDocument,
    FreelancerEmbedding,
    GigEmbedding,
    MatchResult,
    MatchRun,
    SkillTextEmbedding,
    TaskFailure,
)
from .ranking import rank_freelancers, spec_from_gig
from .ranking.graphs import GraphPlan, sync_language_graphs
from .ranking.lexical import BM25_B, BM25_K1, BM25_REFERENCE_LENGTH, FIELD_WEIGHTS
from .ranking.skills import skill_texts
from .vector_writes import embeddings_write

log = logging.getLogger("matchwork.matching")

VIEWS = (EmbeddingView.FULL, EmbeddingView.SKILLS)


def ranking_hash(profile: FreelancerProfile, doc: Document) -> str:
    """Everything about a profile that ranking reads, hashed: text and facts."""
    facts = [
        doc.content_hash,
        str(profile.hourly_rate),
        str(profile.available_hours_per_week),
        profile.timezone,
        ",".join(sorted(profile.languages)),
        profile.visibility,
        profile.moderation_status,
        str(profile.rating_avg),
        str(profile.rating_count),
        str(profile.completed_jobs),
    ]
    return hashlib.sha256("\n".join(facts).encode()).hexdigest()


def postings_refresh(cursor, profile_ids: list[int]) -> None:
    """Rebuild the BM25 postings (``FreelancerTerm``) of these profiles from their documents.

    tf is the field-weighted frequency of the lexeme (``FIELD_WEIGHTS`` by tsvector weight);
    ``impact`` is BM25's saturated tf at the reference length, the order a term's postings are read.
    """
    cursor.execute("DELETE FROM matching_freelancerterm WHERE profile_id = ANY(%s)", [list(profile_ids)])
    cursor.execute(
        """
        INSERT INTO matching_freelancerterm (profile_id, term, tf, length, impact)
        SELECT d.profile_id, l.lexeme, x.tf, d.length,
               x.tf * (%s + 1) / (x.tf + %s * (1 - %s + %s * d.length / %s))
        FROM matching_freelancerdocument d, unnest(d.search_vector) l,
             LATERAL (SELECT sum(CASE w WHEN 'A' THEN %s WHEN 'B' THEN %s WHEN 'C' THEN %s ELSE %s END)::float8 AS tf
                      FROM unnest(l.weights) w) x
        WHERE d.profile_id = ANY(%s) AND x.tf IS NOT NULL
        """,
        [
            BM25_K1,
            BM25_K1,
            BM25_B,
            BM25_B,
            BM25_REFERENCE_LENGTH,
            FIELD_WEIGHTS["A"],
            FIELD_WEIGHTS["B"],
            FIELD_WEIGHTS["C"],
            FIELD_WEIGHTS["D"],
            list(profile_ids),
        ],
    )


def _documents_store(docs: dict[int, Document], ranking_hashes: dict[int, str]) -> set[int]:
    """Upsert the full-text documents of profiles whose text changed.

    Returns the profiles whose ranking-relevant content (text or facts) changed since last time.
    """
    current = {
        pid: (text_hash, rank_hash)
        for pid, text_hash, rank_hash in FreelancerDocument.objects.filter(profile_id__in=docs).values_list(
            "profile_id", "content_hash", "ranking_hash"
        )
    }
    moved = {pid for pid in docs if current.get(pid, ("", ""))[1] != ranking_hashes[pid]}
    stale = sorted(moved & current.keys())
    if stale:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE matching_freelancerdocument d SET ranking_hash = i.h "
                "FROM unnest(%s::bigint[], %s::text[]) AS i(pid, h) WHERE d.profile_id = i.pid",
                [stale, [ranking_hashes[pid] for pid in stale]],
            )
    # In id order, so concurrent tasks with overlapping profiles lock the rows in the same order.
    changed = sorted(pid for pid, doc in docs.items() if current.get(pid, ("", ""))[0] != doc.content_hash)
    if not changed:
        return moved
    # One statement for the whole batch (a worker task carries up to 64 profiles).
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO matching_freelancerdocument
                (profile_id, text, search_vector, length, content_hash, ranking_hash, updated_at)
            SELECT x.profile_id, x.text, x.sv,
                   (SELECT coalesce(sum(coalesce(array_length(l.positions, 1), 1)), 0) FROM unnest(x.sv) l),
                   x.content_hash, x.ranking_hash, now()
            FROM (
                SELECT i.profile_id, i.text, i.content_hash, i.ranking_hash,
                       setweight(to_tsvector('english', i.headline), 'A')
                       || setweight(to_tsvector('english', i.skills), 'B')
                       || setweight(to_tsvector('english', i.body), 'C') AS sv
                FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
                     AS i(profile_id, text, headline, skills, body, content_hash, ranking_hash)
            ) x
            ON CONFLICT (profile_id) DO UPDATE SET text = EXCLUDED.text, search_vector = EXCLUDED.search_vector,
                length = EXCLUDED.length, content_hash = EXCLUDED.content_hash,
                ranking_hash = EXCLUDED.ranking_hash, updated_at = now()
            """,
            [
                changed,
                [docs[pid].views[EmbeddingView.FULL] for pid in changed],
                [docs[pid].headline for pid in changed],
                [docs[pid].skills for pid in changed],
                [docs[pid].body for pid in changed],
                [docs[pid].content_hash for pid in changed],
                [ranking_hashes[pid] for pid in changed],
            ],
        )
        postings_refresh(cursor, changed)
    return moved


def _embeddings_store(
    model_cls,
    owner_field: str,
    docs: dict[int, Document],
    model: ModelIdentity,
    *,
    lock_owners: Callable[[list[int]], None] | None = None,
) -> int:
    """Encode and upsert the views whose hash changed; returns how many vectors were encoded.
    ``lock_owners(ids)`` runs after encoding, right before the write (the lock order the owner's
    table needs, if any)."""
    rows = model_cls.objects.filter(**{f"{owner_field}__in": list(docs), "model_version": model.version})
    existing = {(owner_id, view): h for owner_id, view, h in rows.values_list(owner_field, "view", "content_hash")}
    current: list[tuple[int, str]] = []  # owner id, view
    todo: list[tuple[int, str, str, str]] = []  # owner id, view, text, hash
    # In (owner id, view) order, so concurrent tasks with overlapping owners lock the rows in the same order.
    for owner_id in sorted(docs):
        doc = docs[owner_id]
        for view in sorted(VIEWS):
            h = doc.hash_for(view, model.key)
            if existing.get((owner_id, view)) == h:
                current.append((owner_id, view))
            else:
                todo.append((owner_id, view, doc.views[view], h))
    if todo:
        vectors = get_encoder().encode([t[2] for t in todo])
    else:
        vectors = np.zeros((0, DIMENSIONS), dtype=np.float32)
    if lock_owners is not None:
        lock_owners(sorted(docs))
    # Vectors still current are marked verified in the same statement (the sweep reads updated_at).
    embeddings_write(
        table=model_cls._meta.db_table,
        owner_column=owner_field,
        model=model,
        now=timezone.now(),
        current=current,
        encoded=[(owner_id, view, h) for owner_id, view, _text, h in todo],
        vectors=vectors,
    )
    return len(todo)


def _profiles_lock_for_vectors(profile_ids: list[int]) -> None:
    """Share-lock the profiles whose vector rows are about to be written, in id order.

    Writing a vector row reads its profile's filter fields under a share lock (the trigger of
    migration 0009), and a change of those fields on a profile updates its vector rows: without
    this, the upsert would lock an existing vector row and then wait for its profile while a
    concurrent profile update held the profile and waited for that vector row (a deadlock).
    Locking the profiles first gives both the same order: profile, then vectors. Taken after
    encoding, so an edit of the profile never waits for the model.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM marketplace_freelancerprofile WHERE id = ANY(%s) ORDER BY id FOR SHARE", [profile_ids]
        )


@dataclass(frozen=True)
class ProfileRefresh:
    encoded: int  # vectors encoded (0 when every view was current)
    changed: frozenset[int]  # profiles whose ranking-relevant content changed since the last refresh


def freelancer_profiles_refresh(*, profile_ids: Iterable[int]) -> ProfileRefresh:
    """Bring documents and vectors of these profiles up to date (idempotent: unchanged text is skipped)."""
    model = active_model()
    profiles = list(FreelancerProfile.objects.filter(id__in=list(profile_ids)))
    docs = freelancer_documents(profiles)
    if not docs:
        return ProfileRefresh(encoded=0, changed=frozenset())
    hashes = {p.id: ranking_hash(p, docs[p.id]) for p in profiles}
    with transaction.atomic():
        changed = _documents_store(docs, hashes)
        encoded = _embeddings_store(
            FreelancerEmbedding, "profile_id", docs, model, lock_owners=_profiles_lock_for_vectors
        )
    # New skill names claimed here get their vectors now, not at the next sweep.
    claimed = FreelancerSkill.objects.filter(profile_id__in=list(docs)).values_list("skill_id", flat=True)
    skill_text_vectors_refresh(skill_ids=set(claimed))
    log.info(
        "profile vectors refreshed",
        extra={"profiles": len(docs), "encoded": encoded, "changed": len(changed), "model": model.key},
    )
    return ProfileRefresh(encoded=encoded, changed=frozenset(changed))


def freelancer_embeddings_refresh(*, profile_ids: Iterable[int]) -> int:
    """Refresh documents and vectors; returns the number of vectors encoded."""
    return freelancer_profiles_refresh(profile_ids=profile_ids).encoded


def gig_embeddings_refresh(*, gig_ids: Iterable[int]) -> int:
    """Bring the vectors of these gigs up to date; returns how many vectors were encoded."""
    model = active_model()
    specs = {gig.id: spec_from_gig(gig) for gig in Gig.objects.filter(id__in=list(gig_ids))}
    if not specs:
        return 0
    docs = {gig_id: spec.document() for gig_id, spec in specs.items()}
    with transaction.atomic():
        encoded = _embeddings_store(GigEmbedding, "gig_id", docs, model)
    skill_text_vectors_refresh(skill_ids=[n.skill_id for spec in specs.values() for n in spec.needs])
    log.info("gig vectors refreshed", extra={"gigs": len(docs), "encoded": encoded, "model": model.key})
    return encoded


def stale_profile_ids(*, limit: int = 10_000) -> list[int]:
    """Profiles whose vectors for the active model are missing or older than the profile."""
    model = active_model()
    return list(
        FreelancerProfile.objects.annotate(
            n_vectors=Count("embeddings", filter=Q(embeddings__model_version=model.version)),
            oldest=Min("embeddings__updated_at", filter=Q(embeddings__model_version=model.version)),
        )
        .filter(Q(n_vectors__lt=len(VIEWS)) | Q(oldest__lt=F("updated_at")) | Q(search_document__isnull=True))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def stale_gig_ids(*, limit: int = 10_000) -> list[int]:
    model = active_model()
    return list(
        Gig.objects.filter(status=Gig.Status.PUBLISHED)
        .annotate(
            n_vectors=Count("embeddings", filter=Q(embeddings__model_version=model.version)),
            oldest=Min("embeddings__updated_at", filter=Q(embeddings__model_version=model.version)),
        )
        .filter(Q(n_vectors__lt=len(VIEWS)) | Q(oldest__lt=F("updated_at")))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def _skill_texts_in_use(skill_ids: set[int] | None) -> set[str]:
    """Every name and alias a ranking reads for these skills (for every skill when None)."""
    if skill_ids is None:
        skill_ids = set(Skill.objects.values_list("id", flat=True))
    return {text for texts in skill_texts(skill_ids, fresh=True).values() for text in texts}


def skill_text_vectors_refresh(*, skill_ids: Iterable[int] | None = None, limit: int = 5_000) -> int:
    """Encode the names and aliases of these skills (of every skill when ``skill_ids`` is None)
    that have no vector for the active model yet; returns how many texts were encoded.

    Idempotent: stored texts are skipped, and a text another worker stored meanwhile is kept.
    At most ``limit`` texts per call; the periodic sweep picks up the rest.
    """
    model = active_model()
    wanted = _skill_texts_in_use(None if skill_ids is None else set(skill_ids))
    if not wanted:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT text FROM matching_skilltextembedding WHERE model_version = %s AND text = ANY(%s)",
            [model.version, sorted(wanted)],
        )
        stored = {row[0] for row in cursor.fetchall()}
    texts = sorted(wanted - stored)[:limit]
    if not texts:
        return 0
    vectors = get_encoder().encode(texts)
    SkillTextEmbedding.objects.bulk_create(
        [
            SkillTextEmbedding(text=t, model_name=model.name, model_version=model.version, embedding=v)
            for t, v in zip(texts, vectors, strict=True)
        ],
        ignore_conflicts=True,
    )
    log.info("skill text vectors stored", extra={"texts": len(texts), "model": model.key})
    return len(texts)


def skill_text_vectors_prune(*, model_version: str) -> int:
    """Delete skill-name vectors of other models, and of texts no skill uses any more (a removed
    alias, a renamed skill's old name once it is no longer an alias). Returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM matching_skilltextembedding WHERE model_version <> %s OR NOT (text = ANY(%s))",
            [model_version, sorted(_skill_texts_in_use(None))],
        )
        return cursor.rowcount


# --------------------------------------------------------------------------- match runs


def match_run_schedule(*, gig: Gig, trigger: str, strategy: str = MatchRun.Strategy.HYBRID) -> MatchRun:
    """Schedule a match run for a gig, debounced: while a run waits, further triggers join it.

    The run is executed by a Celery task after ``MATCHING_DEBOUNCE_SECONDS``, so a burst of edits
    produces one run that sees the last of them.
    """
    from . import tasks

    pending = MatchRun.objects.filter(gig=gig, status=MatchRun.Status.PENDING).first()
    if pending is not None:
        return pending
    try:
        with transaction.atomic():
            run = MatchRun.objects.create(
                gig=gig, status=MatchRun.Status.PENDING, strategy=strategy, trigger=trigger[:40]
            )
    except IntegrityError:  # a concurrent trigger created it first
        return MatchRun.objects.get(gig=gig, status=MatchRun.Status.PENDING)
    run_id = run.id
    transaction.on_commit(
        lambda: tasks.enqueue(tasks.execute_match_run, run_id, countdown=settings.MATCHING_DEBOUNCE_SECONDS),
        robust=True,
    )
    log.info("match run scheduled", extra={"gig_id": gig.id, "run_id": run.id, "trigger": trigger})
    return run


def match_run_execute(*, run_id: int) -> MatchRun | None:
    """Rank freelancers for the run's gig and store the results. Re-delivery of a finished run is a no-op."""
    with transaction.atomic():
        run = MatchRun.objects.select_for_update().filter(id=run_id).first()
        if run is None or run.status not in (MatchRun.Status.PENDING, MatchRun.Status.RUNNING):
            return run
        run.status = MatchRun.Status.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at"])
    gig = Gig.objects.select_related("client").get(id=run.gig_id)
    gig_embeddings_refresh(gig_ids=[gig.id])
    model = active_model()
    ranked = rank_freelancers(spec_from_gig(gig), strategy=run.strategy, limit=settings.MATCHING_RUN_SIZE)
    with transaction.atomic():
        MatchResult.objects.filter(run=run).delete()
        MatchResult.objects.bulk_create(
            MatchResult(
                run=run,
                freelancer_id=c.profile_id,
                rank=c.rank,
                score=c.score,
                components=c.components,
                explanation=c.explanation,
            )
            for c in ranked
        )
        run.status = MatchRun.Status.DONE
        run.model_name, run.model_version = model.name, model.version
        run.candidate_count = len(ranked)
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "model_name", "model_version", "candidate_count", "finished_at"])
    log.info("match run done", extra={"gig_id": gig.id, "run_id": run.id, "results": len(ranked)})
    return run


def match_run_fail(*, run_id: int, error: str) -> None:
    MatchRun.objects.filter(id=run_id).exclude(status=MatchRun.Status.DONE).update(
        status=MatchRun.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def gigs_affected_by_profile(*, profile_id: int, limit: int = 50) -> list[Gig]:
    """Published gigs whose ranking a change of this profile may alter.

    Gigs that asked for a skill the profile claims, or whose latest run listed the profile.
    """
    skill_ids = FreelancerSkill.objects.filter(profile_id=profile_id).values("skill_id")
    listed = MatchResult.objects.filter(freelancer_id=profile_id).values("run__gig_id")
    return list(
        Gig.objects.filter(status=Gig.Status.PUBLISHED, moderation_status="approved")
        .filter(Q(skill_needs__skill_id__in=skill_ids) | Q(id__in=listed))
        .distinct()
        .order_by("-published_at", "-id")[:limit]
    )


def lost_match_run_ids(*, older_than_seconds: int) -> list[int]:
    """Runs still pending or running long after they should have finished (lost with the broker)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    return list(
        MatchRun.objects.filter(status__in=[MatchRun.Status.PENDING, MatchRun.Status.RUNNING], created_at__lt=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:500]
    )


def task_failure_record(
    *, task_id: str, task_name: str, args: list, kwargs: dict, deliveries: int, error: str
) -> TaskFailure:
    """Record a task given up for good, once per task id (a repeated give-up updates the count)."""
    failure, _ = TaskFailure.objects.update_or_create(
        task_id=task_id,
        defaults={"task_name": task_name, "args": args, "kwargs": kwargs, "deliveries": deliveries, "error": error},
    )
    return failure


def language_graphs_sync(
    *,
    dry_run: bool = False,
    plan: GraphPlan | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> GraphPlan:
    """Keep one language graph per minority language in step with who speaks what
    (matching.ranking.graphs): build the missing ones, drop the ones no longer wanted."""
    return sync_language_graphs(dry_run=dry_run, plan=plan, progress=progress)
