"""Absolute rules are enforced by the database itself, whatever code path writes."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from marketplace.models import FreelancerSkill, GigSkill, Review
from tests.factories import FreelancerFactory, GigFactory, SkillFactory

pytestmark = pytest.mark.django_db


def _violates(fn) -> str:
    with pytest.raises(IntegrityError) as err, transaction.atomic():
        fn()
    return str(err.value)


def test_gig_budget_min_must_not_exceed_max():
    msg = _violates(lambda: GigFactory(budget_min=Decimal("50"), budget_max=Decimal("40")))
    assert "gig_budget_min_le_max" in msg


def test_gig_budget_cannot_be_negative():
    assert "gig_budget_non_negative" in _violates(lambda: GigFactory(budget_min=Decimal("-1")))


def test_equal_budget_bounds_are_allowed():
    gig = GigFactory(budget_min=Decimal("40"), budget_max=Decimal("40"))
    assert gig.pk


def test_freelancer_rate_cannot_be_negative():
    assert "profile_rate_non_negative" in _violates(lambda: FreelancerFactory(hourly_rate=Decimal("-5")))


def test_available_hours_bounded():
    assert "profile_hours_range" in _violates(lambda: FreelancerFactory(available_hours_per_week=81))


def test_rating_aggregate_bounded():
    assert "profile_rating_range" in _violates(lambda: FreelancerFactory(rating_avg=Decimal("5.5")))


def test_skill_unique_per_profile():
    profile, skill = FreelancerFactory(), SkillFactory()
    FreelancerSkill.objects.create(profile=profile, skill=skill, level="expert")
    msg = _violates(lambda: FreelancerSkill.objects.create(profile=profile, skill=skill, level="beginner"))
    assert "unique_skill_per_profile" in msg
    assert FreelancerSkill.objects.filter(profile=profile).count() == 1


def test_skill_unique_per_gig():
    gig, skill = GigFactory(), SkillFactory()
    GigSkill.objects.create(gig=gig, skill=skill)
    assert "unique_skill_per_gig" in _violates(lambda: GigSkill.objects.create(gig=gig, skill=skill, required=False))


def test_review_rating_range():
    from tests.factories import UserFactory

    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(engagement_id=1, author=UserFactory(), direction="client_to_freelancer", rating=6)
