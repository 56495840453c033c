"""Reports of gigs, profiles and reviews, stored for moderators (who act on them in the admin)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction

from accounts.models import User
from config.errors import AlreadyExists
from marketplace.models import Report
from marketplace.moderation import policy as moderation_policy


@transaction.atomic
def report_create(*, reporter: User, target: models.Model, reason: str, details: str = "") -> Report:
    try:
        with transaction.atomic():
            report = Report.objects.create(
                reporter=reporter,
                target_type=ContentType.objects.get_for_model(type(target)),
                target_id=target.pk,
                reason=reason,
                details=details,
            )
    except IntegrityError:
        raise AlreadyExists("You already have an open report on this.") from None
    # Many open reports take a gig or profile out of public view until a moderator decides.
    moderation_policy.report_threshold_apply(target=target)
    return report
