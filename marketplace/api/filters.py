"""Query-string filters: parsed and validated here (a bad value is a 400 naming the parameter)."""

import django_filters as df
from django.db.models import Exists, OuterRef

from marketplace import selectors
from marketplace.models import FreelancerProfile, FreelancerSkill, Gig, GigSkill, Invitation, Proposal, Review, Skill


class SkillFilter(df.FilterSet):
    search = df.CharFilter(method="filter_search", max_length=100, help_text="Words found in a name or an alias.")
    category = df.ChoiceFilter(choices=Skill.Category.choices)

    class Meta:
        model = Skill
        fields = ["search", "category"]

    def filter_search(self, queryset, name, value):
        return selectors.skills_matching(queryset, value)


def _skill_exists(through_model, owner_field: str, value: str, *, by_category: bool = False):
    is_id = value.isdigit() and len(value) <= 18  # longer digit strings would overflow bigint: treat as a slug
    lookup = "skill__category" if by_category else ("skill_id" if is_id else "skill__slug")
    return Exists(through_model.objects.filter(**{owner_field: OuterRef("pk"), lookup: value}))


class FreelancerFilter(df.FilterSet):
    skill = df.CharFilter(method="filter_skill", max_length=120, help_text="Skill id or slug.")
    category = df.ChoiceFilter(choices=Skill.Category.choices, method="filter_category")
    max_rate = df.NumberFilter(field_name="hourly_rate", lookup_expr="lte", min_value=0, max_value=10**6)
    min_hours = df.NumberFilter(field_name="available_hours_per_week", lookup_expr="gte", min_value=0, max_value=80)
    language = df.CharFilter(method="filter_language", max_length=8)
    timezone = df.CharFilter(field_name="timezone", max_length=64)
    ordering = df.OrderingFilter(
        fields=["hourly_rate", "rating_avg", "completed_jobs", "available_hours_per_week", "created_at"],
        help_text="Sort key; prefix with - for descending, e.g. -rating_avg.",
    )

    class Meta:
        model = FreelancerProfile
        fields = ["skill", "category", "max_rate", "min_hours", "language", "timezone"]

    def filter_skill(self, queryset, name, value):
        return queryset.filter(_skill_exists(FreelancerSkill, "profile", value))

    def filter_category(self, queryset, name, value):
        return queryset.filter(_skill_exists(FreelancerSkill, "profile", value, by_category=True))

    def filter_language(self, queryset, name, value):
        return queryset.filter(languages__contains=[value])


class GigFilter(df.FilterSet):
    skill = df.CharFilter(method="filter_skill", max_length=120, help_text="Skill id or slug.")
    category = df.ChoiceFilter(choices=Skill.Category.choices, method="filter_category")
    budget_type = df.ChoiceFilter(choices=Gig.BudgetType.choices)
    min_budget = df.NumberFilter(
        field_name="budget_max",
        lookup_expr="gte",
        min_value=0,
        max_value=10**8,
        help_text="Gigs whose budget reaches at least this.",
    )
    max_budget = df.NumberFilter(
        field_name="budget_min",
        lookup_expr="lte",
        min_value=0,
        max_value=10**8,
        help_text="Gigs whose budget starts at most at this.",
    )
    language = df.CharFilter(method="filter_language", max_length=8)
    search = df.CharFilter(method="filter_search", max_length=200, help_text="Words in the title or description.")
    status = df.ChoiceFilter(choices=Gig.Status.choices, help_text="Members see their own drafts and closed gigs.")
    mine = df.BooleanFilter(method="filter_mine", help_text="Only gigs of your own client.")
    ordering = df.OrderingFilter(fields=["created_at", "published_at", "budget_max", "budget_min"])

    class Meta:
        model = Gig
        fields = ["skill", "category", "budget_type", "min_budget", "max_budget", "language", "search", "status"]

    def filter_skill(self, queryset, name, value):
        return queryset.filter(_skill_exists(GigSkill, "gig", value))

    def filter_category(self, queryset, name, value):
        return queryset.filter(_skill_exists(GigSkill, "gig", value, by_category=True))

    def filter_language(self, queryset, name, value):
        return queryset.filter(languages__contains=[value])

    def filter_search(self, queryset, name, value):
        return selectors.gigs_matching(queryset, value)

    def filter_mine(self, queryset, name, value):
        if value is None:
            return queryset
        membership = selectors.membership_of(self.request.user if self.request else None)
        client_id = membership.client_id if membership else -1
        return queryset.filter(client_id=client_id) if value else queryset.exclude(client_id=client_id)


class ProposalFilter(df.FilterSet):
    gig = df.NumberFilter(field_name="gig_id", min_value=1, max_value=2**63 - 1)
    status = df.ChoiceFilter(choices=Proposal.Status.choices)

    class Meta:
        model = Proposal
        fields = ["gig", "status"]


class InvitationFilter(df.FilterSet):
    gig = df.NumberFilter(field_name="gig_id", min_value=1, max_value=2**63 - 1)
    status = df.ChoiceFilter(choices=Invitation.Status.choices)

    class Meta:
        model = Invitation
        fields = ["gig", "status"]


class ReviewFilter(df.FilterSet):
    freelancer = df.NumberFilter(field_name="engagement__freelancer_id", min_value=1, max_value=2**63 - 1)
    engagement = df.NumberFilter(field_name="engagement_id", min_value=1, max_value=2**63 - 1)

    class Meta:
        model = Review
        fields = ["freelancer", "engagement"]
