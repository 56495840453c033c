"""HTTP shapes of the matching API: input is bounded, output is read-only."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from marketplace.models import FreelancerProfile, Gig, SkillLevel

from ..models import MatchResult, MatchRun
from ..ranking import STRATEGIES
from ..selectors import SUMMARY_FIELDS


class MatchRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = MatchRun
        fields = [
            "id",
            "status",
            "strategy",
            "trigger",
            "model_name",
            "model_version",
            "candidate_count",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class FreelancerSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = FreelancerProfile
        fields = ["id", *SUMMARY_FIELDS]  # the selector reads exactly these columns
        read_only_fields = fields


class MatchResultSerializer(serializers.ModelSerializer):
    freelancer = FreelancerSummarySerializer(read_only=True)

    class Meta:
        model = MatchResult
        fields = ["rank", "score", "freelancer", "components", "explanation"]
        read_only_fields = fields


class RankedFreelancerSerializer(serializers.Serializer):
    """A talent-search hit (not stored)."""

    rank = serializers.IntegerField()
    score = serializers.FloatField()
    freelancer = FreelancerSummarySerializer()
    components = serializers.DictField()
    explanation = serializers.DictField()


class GigSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Gig
        fields = [
            "id",
            "title",
            "budget_type",
            "budget_min",
            "budget_max",
            "currency",
            "hours_per_week",
            "duration_weeks",
            "timezone",
            "languages",
            "published_at",
        ]
        read_only_fields = fields


class RecommendedGigSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    score = serializers.FloatField()
    gig = GigSummarySerializer()
    components = serializers.DictField()
    explanation = serializers.DictField()


@extend_schema_serializer(component_name="TalentSkillNeedInput")  # marketplace has a SkillNeedInput too
class SkillNeedInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, trim_whitespace=True)
    required = serializers.BooleanField(default=True)
    min_level = serializers.ChoiceField(choices=SkillLevel.choices, required=False, allow_blank=True, default="")


class TalentSearchInputSerializer(serializers.Serializer):
    """An ad-hoc description of work, ranked synchronously. Every field is bounded."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    skills = SkillNeedInputSerializer(many=True, required=False, default=list, max_length=20)
    budget_type = serializers.ChoiceField(choices=Gig.BudgetType.choices, required=False, allow_null=True)
    budget_min = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True)
    budget_max = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True)
    hours_per_week = serializers.IntegerField(min_value=1, max_value=80, required=False, allow_null=True)
    timezone = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    min_overlap_hours = serializers.IntegerField(min_value=0, max_value=24, required=False, allow_null=True)
    languages = serializers.ListField(
        child=serializers.CharField(max_length=8), required=False, default=list, max_length=10
    )
    strategy = serializers.ChoiceField(choices=STRATEGIES, default="hybrid")
    limit = serializers.IntegerField(min_value=1, max_value=50, default=20)

    def validate_timezone(self, value: str) -> str:
        if value:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise serializers.ValidationError(f"Unknown IANA timezone {value!r}") from exc
        return value

    def validate(self, attrs: dict) -> dict:
        lo, hi = attrs.get("budget_min"), attrs.get("budget_max")
        if lo is not None and hi is not None and lo > hi:
            raise serializers.ValidationError({"budget_max": "must be at least budget_min"})
        if attrs.get("budget_type") == Gig.BudgetType.HOURLY and hi is None:
            raise serializers.ValidationError({"budget_max": "an hourly budget needs a maximum rate"})
        return attrs
