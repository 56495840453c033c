"""Each vector row (migration matching/0009) and each skill claim (marketplace/0006) carries a
copy of its profile's filter fields, kept by PostgreSQL, so the HNSW scan and the taxonomy walk
check the hard filters without looking up profiles. Whatever writes a profile, both retrievers
must see the change at once."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from django.db import connection, transaction

from accounts.models import User
from marketplace.models import FreelancerProfile, FreelancerSkill
from marketplace.services import skill_resolve
from matching.encoder import active_model
from matching.models import FreelancerEmbedding
from matching.ranking import spec_from_gig
from matching.ranking.candidates import dense_candidates, eligibility_sql, few_eligible, skill_candidates, skill_sql
from matching.ranking.service import query_vectors
from matching.services import freelancer_embeddings_refresh, gig_embeddings_refresh

pytestmark = pytest.mark.model

FILTER_FIELDS = ("user_id", "visibility", "moderation_status", "available_hours_per_week", "languages", "hourly_rate")


@pytest.fixture
def annotation_market(encoder, make_freelancer, make_gig):
    """Nine annotators (rates 30-62/h, a third German speakers) with vectors, and a gig for
    English speakers at up to 40/h (50/h with the rate tolerance)."""
    for i in range(9):
        make_freelancer(
            headline=f"Annotator {i}: image and text labelling, QA of labels",
            skills=[("Data annotation", "advanced"), ("Image annotation", "intermediate")],
            rate=30 + 4 * i,
            languages=("en", "de") if i % 3 == 0 else ("en",),
        )
    gig = make_gig(
        title="Label 10k product photos",
        description="Bounding boxes in CVAT, with a second pass to check the labels.",
        skills=[("Image annotation", True, "")],
        budget_max=40,
        languages=("en",),
    )
    freelancer_embeddings_refresh(profile_ids=list(FreelancerProfile.objects.values_list("id", flat=True)))
    gig_embeddings_refresh(gig_ids=[gig.id])
    return spec_from_gig(gig)


def copies(profile: FreelancerProfile) -> list[tuple]:
    return list(FreelancerEmbedding.objects.filter(profile=profile).values_list(*FILTER_FIELDS))


def fields_of(profile: FreelancerProfile) -> tuple:
    profile.refresh_from_db()
    return tuple(getattr(profile, f) for f in FILTER_FIELDS)


def test_every_vector_row_holds_its_profiles_fields_whatever_writes_the_row(annotation_market):
    profile = FreelancerProfile.objects.order_by("id").first()
    assert copies(profile) == [fields_of(profile)] * 2  # both views

    # A write of the row that names other values gets the profile's all the same.
    FreelancerEmbedding.objects.filter(profile=profile).update(
        visibility="public", hourly_rate=Decimal("1.00"), languages=["xx"], available_hours_per_week=80
    )
    assert copies(profile) == [fields_of(profile)] * 2


def test_a_profile_change_by_any_path_reaches_its_vector_rows_in_the_same_transaction(annotation_market):
    profile = FreelancerProfile.objects.order_by("id").first()
    # A bulk update: no model save, no signal, no service.
    FreelancerProfile.objects.filter(id=profile.id).update(
        visibility=FreelancerProfile.Visibility.HIDDEN,
        hourly_rate=Decimal("99.50"),
        languages=["es"],
        available_hours_per_week=0,
    )
    assert copies(profile) == [(profile.user_id, "hidden", "approved", 0, ["es"], Decimal("99.50"))] * 2


def test_the_dense_retriever_finds_exactly_the_eligible_profiles_after_any_change(annotation_market):
    spec, model = annotation_market, active_model()
    query = query_vectors(spec)

    def dense_and_eligible(spec=spec) -> tuple[set[int], set[int]]:
        where = eligibility_sql(spec)
        # limit above the profile count: on a table this small the HNSW search returns them all
        return set(dense_candidates(query, model.version, where, 50)), set(few_eligible(where, 5000))

    found, eligible = dense_and_eligible()
    assert found == eligible and len(eligible) == 6  # rates 30-50

    hidden, pricey, suspended, excluded = sorted(eligible)[:4]
    FreelancerProfile.objects.filter(id=hidden).update(visibility=FreelancerProfile.Visibility.HIDDEN)
    FreelancerProfile.objects.filter(id=pricey).update(hourly_rate=Decimal("80"))
    User.objects.filter(freelancer_profile__id=suspended).update(is_suspended=True)
    found, eligible = dense_and_eligible()
    assert found == eligible
    assert not {hidden, pricey, suspended} & found and len(found) == 3

    excluded_user = FreelancerProfile.objects.get(id=excluded).user_id
    found, eligible = dense_and_eligible(replace(spec, exclude_user_ids=(excluded_user,)))
    assert found == eligible and excluded not in found and len(found) == 2

    FreelancerProfile.objects.filter(id=hidden).update(visibility=FreelancerProfile.Visibility.PUBLIC)
    found, eligible = dense_and_eligible()
    assert found == eligible and hidden in found


@pytest.mark.django_db(transaction=True)
def test_a_vector_write_and_a_concurrent_profile_edit_do_not_deadlock(annotation_market):
    """The worker writes a profile's vector rows while the freelancer edits the profile: the edit
    holds the profile, then changes its rate, which updates those vector rows. The worker takes
    the profile before the rows (``_profiles_lock_for_vectors``), so it waits instead of holding
    a row the edit needs while it waits for the profile."""
    import threading
    import time

    from django.db import connections

    from matching.services import freelancer_profiles_refresh

    profile = FreelancerProfile.objects.order_by("id").first()
    edit_holds_profile, worker_waits, errors = threading.Event(), threading.Event(), []

    def edit() -> None:
        try:
            with transaction.atomic():
                FreelancerProfile.objects.filter(id=profile.id).update(headline="Annotator, now also QA lead")
                edit_holds_profile.set()
                worker_waits.wait(30)
                FreelancerProfile.objects.filter(id=profile.id).update(hourly_rate=Decimal("44.00"))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def vectors() -> None:
        try:
            freelancer_profiles_refresh(profile_ids=[profile.id])  # marks the rows verified: writes them
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    editor = threading.Thread(target=edit)
    editor.start()
    assert edit_holds_profile.wait(10)
    worker = threading.Thread(target=vectors)
    worker.start()
    deadline = time.monotonic() + 30
    while not _someone_waits_for_a_lock() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert time.monotonic() < deadline, "the vector write never waited for the edit"
    worker_waits.set()
    editor.join(60)
    worker.join(60)

    assert errors == []
    assert {row[5] for row in copies(profile)} == {Decimal("44.00")}


def test_skill_claims_hold_their_profiles_fields_and_the_taxonomy_walk_reads_them(annotation_market):
    spec = annotation_market
    needed = [n.skill_id for n in spec.needs]

    def claims_of(profile: FreelancerProfile) -> list[tuple]:
        return list(FreelancerSkill.objects.filter(profile=profile).values_list(*FILTER_FIELDS))

    def walked_and_eligible() -> tuple[set[int], set[int]]:
        where = eligibility_sql(spec)
        return set(skill_candidates(needed, where, 50)), set(few_eligible(where, 5000))

    profile = FreelancerProfile.objects.order_by("id").first()
    assert claims_of(profile) == [fields_of(profile)] * 2  # both claimed skills
    # A claim written with other values gets its profile's.
    extra = FreelancerSkill.objects.create(
        profile=profile, skill=skill_resolve(name="CVAT"), visibility="public", hourly_rate=Decimal("1.00")
    )
    assert claims_of(profile) == [fields_of(profile)] * 3
    extra.delete()

    walked, eligible = walked_and_eligible()
    assert walked == eligible and len(eligible) == 6  # every annotator claims Image annotation

    hidden, pricey, suspended = sorted(eligible)[:3]
    FreelancerProfile.objects.filter(id=hidden).update(moderation_status="pending")
    FreelancerProfile.objects.filter(id=pricey).update(hourly_rate=Decimal("80"), languages=["de"])
    User.objects.filter(freelancer_profile__id=suspended).update(is_active=False)
    assert claims_of(FreelancerProfile.objects.get(id=pricey))[0][4:] == (["de"], Decimal("80.00"))
    walked, eligible = walked_and_eligible()
    assert walked == eligible and len(walked) == 3 and not {hidden, pricey, suspended} & walked


def test_the_taxonomy_walk_checks_the_filters_from_its_index_alone(annotation_market):
    """The walk's index carries every field the hard filters read on a claim (marketplace/0008):
    a filter on a field it lacks would read each claim's row again (an ``Index Scan``)."""
    spec = replace(annotation_market, budget_type="hourly", budget_max=50.0, languages=("en", "de"))
    statement = skill_sql([n.skill_id for n in spec.needs], eligibility_sql(spec), 40)
    with connection.cursor() as cursor:
        # A table this small would otherwise be read whole, or its pages through a bitmap.
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + statement.text, statement.params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using skill_claim_walk" in plan
    assert "Index Scan using skill_claim_walk" not in plan


def _someone_waits_for_a_lock() -> bool:
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0
