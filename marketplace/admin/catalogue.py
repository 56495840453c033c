"""Admin pages of the marketplace's tables, with moderation actions and audit trails.

Moderation state (moderation status and reason, suspension, skill review state) is read-only in the
forms: it changes only through the actions, which call ``marketplace.moderation`` and are audited.
Moderation deletes nothing, so delete is disabled where a moderator could lose history.
"""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from marketplace import models
from marketplace.admin.actions import AuditTrailInline, ReasonForm, reason_action
from marketplace.admin.matching import latest_match_run_html
from marketplace.moderation import curation, decisions


class NoDeleteMixin:
    """Moderation never hard-deletes: history (reports, reviews, audit) must survive."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --------------------------------------------------------------------------- shared actions

approve = reason_action(
    name="approve",
    description="Approve (make public)",
    apply=lambda obj, by, reason: decisions.content_approve(target=obj, by=by, reason=reason),
)
reject = reason_action(
    name="reject",
    description="Reject (author sees the reason)",
    apply=lambda obj, by, reason: decisions.content_reject(target=obj, by=by, reason=reason),
)
hide = reason_action(
    name="hide",
    description="Hide from public (author sees the reason)",
    apply=lambda obj, by, reason: decisions.content_hide(target=obj, by=by, reason=reason),
)
suspend_owner = reason_action(
    name="suspend_owner",
    description="Suspend the owner's account",
    apply=lambda obj, by, reason: decisions.target_owner_suspend(target=obj, by=by, reason=reason),
)


class MembershipInline(admin.TabularInline):
    model = models.ClientMembership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(models.Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "created_at"]
    list_filter = ["country"]
    search_fields = ["name", "website", "memberships__user__email"]
    inlines = [MembershipInline]


# --------------------------------------------------------------------------- taxonomy


class MergeForm(ReasonForm):
    into = forms.ModelChoiceField(
        queryset=models.Skill.objects.filter(review_state=models.Skill.ReviewState.APPROVED),
        label="Merge into",
        help_text="The canonical skill; the merged skill's name becomes one of its aliases.",
    )
    field_order = ["into", "reason"]


class RenameForm(ReasonForm):
    name = forms.CharField(max_length=100, label="New name")
    field_order = ["name", "reason"]


class RecategoriseForm(ReasonForm):
    category = forms.ChoiceField(choices=models.Skill.Category.choices)
    field_order = ["category", "reason"]


skill_merge = reason_action(
    name="skill_merge",
    description="Merge into a canonical skill",
    form_class=MergeForm,
    apply=lambda obj, by, reason, into: curation.skill_merge(source=obj, into=into, by=by, reason=reason),
)
skill_approve = reason_action(
    name="skill_approve",
    description="Approve as a canonical skill",
    apply=lambda obj, by, reason: curation.skill_approve(skill=obj, by=by, reason=reason),
)
skill_rename = reason_action(
    name="skill_rename",
    description="Rename",
    form_class=RenameForm,
    single=True,
    apply=lambda obj, by, reason, name: curation.skill_rename(skill=obj, name=name, by=by, reason=reason),
)
skill_recategorise = reason_action(
    name="skill_recategorise",
    description="Change category",
    form_class=RecategoriseForm,
    apply=lambda obj, by, reason, category: curation.skill_recategorise(
        skill=obj, category=category, by=by, reason=reason
    ),
)


@admin.register(models.Skill)
class SkillAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "category", "review_state", "merged_into", "created_at"]
    list_filter = ["category", "review_state"]
    search_fields = ["name", "slug", "aliases"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["merged_into"]
    actions = [skill_approve, skill_merge, skill_rename, skill_recategorise]
    inlines = [AuditTrailInline]

    def get_readonly_fields(self, request, obj=None):
        # Curated fields change through the audited actions only.
        return ["name", "slug", "category", "review_state", "merged_into"] if obj else []

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj else self.prepopulated_fields


# --------------------------------------------------------------------------- freelancers


class FreelancerSkillInline(admin.TabularInline):
    model = models.FreelancerSkill
    extra = 0
    raw_id_fields = ["skill"]


@admin.action(description="Re-embed (refresh matching)")
def reembed_profiles(modeladmin, request, queryset):
    for profile in queryset:
        decisions.profile_reembed_request(profile=profile, by=request.user)
    modeladmin.message_user(request, f"Re-embedding requested for {queryset.count()} profile(s).", messages.SUCCESS)


@admin.register(models.FreelancerProfile)
class FreelancerProfileAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = [
        "display_name",
        "headline",
        "hourly_rate",
        "available_hours_per_week",
        "visibility",
        "moderation_status",
        "owner_suspended",
        "rating_avg",
        "completed_jobs",
    ]
    list_filter = ["moderation_status", "visibility", "user__is_suspended", "skills__category"]
    search_fields = ["display_name", "headline", "user__email"]
    readonly_fields = [
        "moderation_status",
        "moderation_reason",
        "rating_avg",
        "rating_count",
        "completed_jobs",
        "version",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["user"]
    inlines = [FreelancerSkillInline, AuditTrailInline]
    actions = [approve, reject, hide, suspend_owner, reembed_profiles]

    @admin.display(boolean=True, description="suspended")
    def owner_suspended(self, profile: models.FreelancerProfile) -> bool:
        return profile.user.is_suspended


# --------------------------------------------------------------------------- gigs


class GigSkillInline(admin.TabularInline):
    model = models.GigSkill
    extra = 0
    raw_id_fields = ["skill"]


@admin.action(description="Recompute matches")
def recompute_matches(modeladmin, request, queryset):
    for gig in queryset:
        decisions.gig_matches_recompute_request(gig=gig, by=request.user)
    modeladmin.message_user(request, f"Match recompute requested for {queryset.count()} gig(s).", messages.SUCCESS)


@admin.register(models.Gig)
class GigAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = [
        "title",
        "client",
        "status",
        "moderation_status",
        "budget_type",
        "budget_min",
        "budget_max",
        "published_at",
    ]
    list_filter = ["moderation_status", "status", "budget_type", "skills__category"]
    search_fields = ["title", "description", "client__name", "created_by__email"]
    readonly_fields = [
        "moderation_status",
        "moderation_reason",
        "version",
        "published_at",
        "closed_at",
        "created_at",
        "updated_at",
        "latest_match_run",
    ]
    raw_id_fields = ["client", "created_by"]
    inlines = [GigSkillInline, AuditTrailInline]
    date_hierarchy = "created_at"
    actions = [approve, reject, hide, suspend_owner, recompute_matches]

    @admin.display(description="Latest match run")
    def latest_match_run(self, gig: models.Gig) -> str:
        return latest_match_run_html(gig) if gig.pk else "—"


@admin.register(models.Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["gig", "freelancer", "status", "match_rank", "created_at"]
    list_filter = ["status"]
    search_fields = ["gig__title", "freelancer__display_name"]
    raw_id_fields = ["gig", "freelancer", "invited_by"]


@admin.register(models.Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["gig", "freelancer", "proposed_rate", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["gig__title", "freelancer__display_name"]
    raw_id_fields = ["gig", "freelancer", "invitation"]


@admin.register(models.Engagement)
class EngagementAdmin(admin.ModelAdmin):
    list_display = ["gig", "freelancer", "client", "status", "agreed_rate", "completed_at"]
    list_filter = ["status"]
    search_fields = ["gig__title", "freelancer__display_name", "client__name"]
    raw_id_fields = ["proposal", "gig", "freelancer", "client", "completed_by"]


@admin.register(models.Review)
class ReviewAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["engagement", "direction", "rating", "author", "moderation_status", "created_at"]
    list_filter = ["moderation_status", "direction", "rating"]
    search_fields = ["text", "author__email"]
    readonly_fields = ["moderation_status"]
    raw_id_fields = ["engagement", "author"]
    inlines = [AuditTrailInline]
    actions = [approve, hide, suspend_owner]


# --------------------------------------------------------------------------- reports and the audit trail

dismiss_report = reason_action(
    name="dismiss_report",
    description="Dismiss (no action against the target)",
    apply=lambda obj, by, reason: decisions.report_dismiss(report=obj, by=by, reason=reason),
)


@admin.register(models.Report)
class ReportAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["id", "target_link", "reason", "status", "reporter", "created_at"]
    list_filter = ["status", "reason", ("target_type", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["details", "reporter__email"]
    raw_id_fields = ["reporter", "resolved_by"]
    readonly_fields = ["target_link", "status", "resolved_by", "resolved_at", "resolution_note"]
    inlines = [AuditTrailInline]
    actions = [dismiss_report]

    def has_add_permission(self, request) -> bool:
        return False  # users file reports through the API (report_create applies the report threshold)

    @admin.display(description="target")
    def target_link(self, report: models.Report) -> str:
        return target_link_html(report)


def target_link_html(report: models.Report) -> str:
    """A link to the reported object's admin page, with its kind and moderation state."""
    target = report.target
    if target is None:
        return f"{report.target_type.model} #{report.target_id} (gone)"
    meta = target._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[target.pk])
    state = getattr(target, "moderation_status", "")
    return format_html(
        '<a href="{}">{}: {}</a>{}',
        url,
        meta.verbose_name.capitalize(),
        target,
        format_html(" <small>({})</small>", state) if state else "",
    )


@admin.register(models.ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """The whole audit trail, read-only."""

    list_display = ["created_at", "action", "target_repr", "moderator", "reason"]
    list_filter = [
        "action",
        ("target_type", admin.RelatedOnlyFieldListFilter),
        ("moderator", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["target_repr", "reason", "moderator__email"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
