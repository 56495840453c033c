"""Staff moderators: the "Moderators" group and making a user a moderator.

Moderators see every marketplace table and work the queues; they may change what moderation needs
but hold no delete permission at all (moderation never hard-deletes).
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from accounts.models import User

MODERATORS_GROUP = "Moderators"
# app_label -> models whose rows moderators act on (change); everything else in these apps is view-only.
CHANGE = {
    "accounts": ["user"],
    "marketplace": [
        "gig",
        "freelancerprofile",
        "review",
        "report",
        "skill",
        "gigreviewqueue",
        "reporteditem",
        "skillreviewqueue",
    ],
}
VIEW_APPS = ["accounts", "marketplace", "matching"]


@transaction.atomic
def moderators_group_sync() -> Group:
    """Create or update the Moderators group: view everything, change what moderation acts on, delete nothing."""
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    change = Q()
    for app_label, models in CHANGE.items():
        change |= Q(content_type__app_label=app_label, content_type__model__in=models, codename__startswith="change_")
    perms = Permission.objects.filter(Q(content_type__app_label__in=VIEW_APPS, codename__startswith="view_") | change)
    group.permissions.set(perms)
    return group


@transaction.atomic
def moderator_grant(*, user: User) -> User:
    """Give a user the moderator role: staff (admin sign-in) and the Moderators group; not a superuser."""
    user.role = User.Role.MODERATOR
    user.is_staff = True
    user.save(update_fields=["role", "is_staff"])
    user.groups.add(moderators_group_sync())
    return user
