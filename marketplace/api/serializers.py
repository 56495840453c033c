"""Marketplace API serializers: inputs (strict, bounded) and outputs (explicit fields, read-only).

Bounds mirror the model columns so no input reaches the database that it would refuse (no 500s).
"""

from decimal import Decimal
from zoneinfo import available_timezones

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api.serializers import StrictInputSerializer
from marketplace.models import (
    Client,
    Engagement,
    FreelancerProfile,
    Gig,
    Invitation,
    Proposal,
    Report,
    Review,
    Skill,
    SkillLevel,
)

MAX_SKILLS = 50
MAX_LANGUAGES = 20
MAX_ID = 2**63 - 1
_TIMEZONES = frozenset(available_timezones())


def _validate_timezone(value: str) -> str:
    if value and value not in _TIMEZONES:
        raise serializers.ValidationError("Not a known IANA timezone name, e.g. Europe/Berlin.")
    return value


def _languages_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.RegexField(
            r"^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$",
            max_length=8,
            error_messages={"invalid": "Use an ISO 639-1 language code such as 'en' or 'pt-BR'."},
        ),
        max_length=MAX_LANGUAGES,
        **kwargs,
    )


def _currency_field(**kwargs) -> serializers.RegexField:
    return serializers.RegexField(
        r"^[A-Z]{3}$", max_length=3, error_messages={"invalid": "Use an ISO 4217 code such as 'USD'."}, **kwargs
    )


def _id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def _version_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        help_text="The version you edited (alternative to an If-Match header); a stale version is a 412.",
    )


# --------------------------------------------------------------------------- skills


class SkillOutput(serializers.ModelSerializer):
    class Meta:
        model = Skill
        fields = ["id", "name", "slug", "category", "aliases", "description"]
        read_only_fields = fields


class ProfileSkillOutput(serializers.Serializer):
    skill_id = serializers.IntegerField(source="skill.id")
    name = serializers.CharField(source="skill.name")
    slug = serializers.CharField(source="skill.slug")
    category = serializers.ChoiceField(source="skill.category", choices=Skill.Category.choices)
    level = serializers.ChoiceField(choices=SkillLevel.choices)
    years = serializers.IntegerField(allow_null=True)


class GigSkillOutput(serializers.Serializer):
    skill_id = serializers.IntegerField(source="skill.id")
    name = serializers.CharField(source="skill.name")
    slug = serializers.CharField(source="skill.slug")
    category = serializers.ChoiceField(source="skill.category", choices=Skill.Category.choices)
    required = serializers.BooleanField()
    min_level = serializers.ChoiceField(choices=[("", "Any"), *SkillLevel.choices])


class SkillClaimInput(StrictInputSerializer):
    name = serializers.CharField(max_length=100, help_text="Free text; normalised onto the taxonomy.")
    level = serializers.ChoiceField(choices=SkillLevel.choices, default=SkillLevel.INTERMEDIATE)
    years = serializers.IntegerField(min_value=0, max_value=60, required=False, allow_null=True, default=None)


class SkillNeedInput(StrictInputSerializer):
    name = serializers.CharField(max_length=100, help_text="Free text; normalised onto the taxonomy.")
    required = serializers.BooleanField(default=True)
    min_level = serializers.ChoiceField(choices=SkillLevel.choices, required=False, allow_blank=True, default="")


# --------------------------------------------------------------------------- freelancers


class FreelancerOutput(serializers.ModelSerializer):
    """A profile as the public directory shows it."""

    skills = ProfileSkillOutput(source="skill_claims", many=True, read_only=True)

    class Meta:
        model = FreelancerProfile
        fields = [
            "id",
            "display_name",
            "headline",
            "bio",
            "hourly_rate",
            "currency",
            "available_hours_per_week",
            "timezone",
            "languages",
            "skills",
            "rating_avg",
            "rating_count",
            "completed_jobs",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class FreelancerOwnOutput(FreelancerOutput):
    """The owner's view: adds visibility, moderation state and the version to edit against."""

    class Meta(FreelancerOutput.Meta):
        fields = [*FreelancerOutput.Meta.fields, "visibility", "moderation_status", "moderation_reason", "version"]
        read_only_fields = fields


class FreelancerProfileInput(StrictInputSerializer):
    display_name = serializers.CharField(max_length=150)
    headline = serializers.CharField(max_length=200)
    bio = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    hourly_rate = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=Decimal("0"))
    currency = _currency_field(required=False)
    available_hours_per_week = serializers.IntegerField(min_value=0, max_value=80, required=False)
    timezone = serializers.CharField(max_length=64, required=False, validators=[_validate_timezone])
    languages = _languages_field(required=False)
    visibility = serializers.ChoiceField(choices=FreelancerProfile.Visibility.choices, required=False)
    skills = serializers.ListField(child=SkillClaimInput(), max_length=MAX_SKILLS, required=False)


class FreelancerProfileUpdateInput(FreelancerProfileInput):
    version = _version_field()


# --------------------------------------------------------------------------- clients


class ClientOutput(serializers.ModelSerializer):
    invite_code = serializers.SerializerMethodField(help_text="Shown to the client's owners only.")

    class Meta:
        model = Client
        fields = ["id", "name", "website", "description", "country", "invite_code", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_invite_code(self, client: Client) -> str | None:
        return client.invite_code if self.context.get("is_owner") else None


class ClientUpdateInput(StrictInputSerializer):
    name = serializers.CharField(max_length=200)
    website = serializers.URLField(max_length=300, allow_blank=True)
    description = serializers.CharField(max_length=4000, allow_blank=True)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", max_length=2, allow_blank=True)


class ClientRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


# --------------------------------------------------------------------------- gigs


class GigOutput(serializers.ModelSerializer):
    client = ClientRefOutput(read_only=True)
    skills = GigSkillOutput(source="skill_needs", many=True, read_only=True)

    class Meta:
        model = Gig
        fields = [
            "id",
            "client",
            "title",
            "description",
            "budget_type",
            "budget_min",
            "budget_max",
            "currency",
            "hours_per_week",
            "duration_weeks",
            "timezone",
            "min_overlap_hours",
            "languages",
            "skills",
            "status",
            "moderation_status",
            "moderation_reason",
            "published_at",
            "closed_at",
            "version",
            "created_at",
            "updated_at",
        ]
        # moderation_reason: why a moderator rejected or hid the gig, or why it waits for review; only the
        # client's members ever see a non-public gig, and a public (approved) gig's reason is empty.
        read_only_fields = fields


class GigInput(StrictInputSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=10000)
    budget_type = serializers.ChoiceField(choices=Gig.BudgetType.choices)
    budget_min = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"))
    budget_max = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"))
    currency = _currency_field(required=False)
    hours_per_week = serializers.IntegerField(min_value=0, max_value=80, required=False, allow_null=True)
    duration_weeks = serializers.IntegerField(min_value=0, max_value=520, required=False, allow_null=True)
    timezone = serializers.CharField(max_length=64, required=False, allow_blank=True, validators=[_validate_timezone])
    min_overlap_hours = serializers.IntegerField(min_value=0, max_value=24, required=False, allow_null=True)
    languages = _languages_field(required=False)
    skills = serializers.ListField(child=SkillNeedInput(), max_length=MAX_SKILLS, required=False)

    def validate(self, attrs):
        lo, hi = attrs.get("budget_min"), attrs.get("budget_max")
        if lo is not None and hi is not None and lo > hi:
            raise serializers.ValidationError({"budget_min": ["Must not exceed budget_max."]})
        return attrs


class GigUpdateInput(GigInput):
    version = _version_field()


# --------------------------------------------------------------------------- hiring loop


class ProposalOutput(serializers.ModelSerializer):
    gig_title = serializers.CharField(source="gig.title", read_only=True)
    freelancer_name = serializers.CharField(source="freelancer.display_name", read_only=True)

    class Meta:
        model = Proposal
        fields = [
            "id",
            "gig",
            "gig_title",
            "freelancer",
            "freelancer_name",
            "cover_letter",
            "proposed_rate",
            "status",
            "invitation",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProposalInput(StrictInputSerializer):
    gig = _id_field()
    cover_letter = serializers.CharField(max_length=5000)
    proposed_rate = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"))


class InvitationOutput(serializers.ModelSerializer):
    gig_title = serializers.CharField(source="gig.title", read_only=True)
    freelancer_name = serializers.CharField(source="freelancer.display_name", read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "gig",
            "gig_title",
            "freelancer",
            "freelancer_name",
            "message",
            "status",
            "match_rank",
            "match_score",
            "responded_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class InvitationInput(StrictInputSerializer):
    gig = _id_field()
    freelancer = _id_field(help_text="Freelancer profile id.")
    message = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    match_run = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The match run the client invited from; the rank and score it showed are recorded.",
    )


class InvitationAcceptInput(StrictInputSerializer):
    cover_letter = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    proposed_rate = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        allow_null=True,
        default=None,
        help_text="Defaults to the freelancer's hourly rate.",
    )


class EngagementOutput(serializers.ModelSerializer):
    gig_title = serializers.CharField(source="gig.title", read_only=True)
    freelancer_name = serializers.CharField(source="freelancer.display_name", read_only=True)
    client_name = serializers.CharField(source="client.name", read_only=True)

    class Meta:
        model = Engagement
        fields = [
            "id",
            "proposal",
            "gig",
            "gig_title",
            "freelancer",
            "freelancer_name",
            "client",
            "client_name",
            "agreed_rate",
            "status",
            "completed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReviewOutput(serializers.ModelSerializer):
    freelancer = serializers.IntegerField(source="engagement.freelancer_id", read_only=True)
    client = serializers.IntegerField(source="engagement.client_id", read_only=True)

    class Meta:
        model = Review
        fields = ["id", "engagement", "direction", "rating", "text", "freelancer", "client", "created_at"]
        read_only_fields = fields


class ReviewInput(StrictInputSerializer):
    engagement = _id_field()
    rating = serializers.IntegerField(min_value=1, max_value=5)
    text = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


REPORT_TARGET_TYPES = [("gig", "Gig"), ("freelancer", "Freelancer profile"), ("review", "Review")]
_MODEL_TO_TARGET = {"gig": "gig", "freelancerprofile": "freelancer", "review": "review"}


class ReportOutput(serializers.ModelSerializer):
    target_type = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = ["id", "target_type", "target_id", "reason", "details", "status", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=REPORT_TARGET_TYPES))
    def get_target_type(self, report: Report) -> str:
        return _MODEL_TO_TARGET.get(report.target_type.model, report.target_type.model)


class ReportInput(StrictInputSerializer):
    target_type = serializers.ChoiceField(choices=REPORT_TARGET_TYPES)
    target_id = _id_field()
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    details = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
