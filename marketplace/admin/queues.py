"""The moderators' work queues: gigs pending review, open reports by item, unreviewed skills.

Each queue is a proxy model with its own admin page, so it sits in the sidebar beside the tables and
shows only what needs a decision; the actions call ``marketplace.moderation``.
"""

from django.contrib import admin
from django.db.models import Count, F, Func, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html

from marketplace import models
from marketplace.admin.actions import reason_action
from marketplace.admin.catalogue import (
    GigAdmin,
    NoDeleteMixin,
    SkillAdmin,
    approve,
    hide,
    recompute_matches,
    reject,
    skill_approve,
    skill_merge,
    skill_recategorise,
    skill_rename,
    suspend_owner,
    target_link_html,
)
from marketplace.moderation import decisions


class ReadOnlyQueueMixin(NoDeleteMixin):
    """Queues are worked through actions; rows are not added or edited here."""

    queue_title = ""

    def has_add_permission(self, request) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": self.queue_title, **(extra_context or {})})


@admin.register(models.GigReviewQueue)
class GigReviewQueueAdmin(ReadOnlyQueueMixin, GigAdmin):
    queue_title = "Gigs pending review — oldest first; select, then approve, reject or hide"
    list_display = ["title", "client", "created_by", "moderation_reason", "published_at"]
    list_filter = ["client__country", "budget_type"]
    date_hierarchy = None
    actions = [approve, reject, hide, suspend_owner, recompute_matches]
    ordering = ["published_at", "id"]  # oldest first: first come, first reviewed

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(status=models.Gig.Status.PUBLISHED, moderation_status=models.ModerationStatus.PENDING)
            .select_related("client", "created_by")
        )


# --------------------------------------------------------------------------- reports grouped by item


def _target_of(report: models.Report):
    target = report.target
    if target is None:
        raise decisions.ModerationError(f"The object of report #{report.pk} no longer exists")
    return target


def _describe_reported(report: models.Report) -> str:
    target = report.target
    return f"{target._meta.verbose_name.capitalize()}: {target}" if target is not None else str(report)


hide_reported = reason_action(
    name="hide_reported",
    description="Hide the reported item",
    apply=lambda obj, by, reason: decisions.content_hide(target=_target_of(obj), by=by, reason=reason),
    describe=_describe_reported,
)
reject_reported = reason_action(
    name="reject_reported",
    description="Reject the reported item",
    apply=lambda obj, by, reason: decisions.content_reject(target=_target_of(obj), by=by, reason=reason),
    describe=_describe_reported,
)
suspend_reported_owner = reason_action(
    name="suspend_reported_owner",
    description="Suspend the reported item's owner",
    apply=lambda obj, by, reason: decisions.target_owner_suspend(target=_target_of(obj), by=by, reason=reason),
    describe=_describe_reported,
)
dismiss_reports = reason_action(
    name="dismiss_reports",
    description="Dismiss all open reports on the item",
    apply=lambda obj, by, reason: decisions.target_reports_dismiss(target=_target_of(obj), by=by, reason=reason),
    describe=_describe_reported,
)


@admin.register(models.ReportedItem)
class ReportedItemAdmin(ReadOnlyQueueMixin, admin.ModelAdmin):
    """One row per reported object that has open reports, most-reported first."""

    queue_title = "Open reports by item — most reported first; select an item, then choose an action"

    list_display = ["item", "open_reports", "reasons", "latest_details", "owner", "last_reported"]
    list_display_links = None
    list_filter = [("target_type", admin.RelatedOnlyFieldListFilter), "reason"]
    search_fields = ["details", "reporter__email"]
    actions = [hide_reported, suspend_reported_owner, dismiss_reports, reject_reported]

    def get_queryset(self, request):
        same_target_open = models.Report.objects.filter(
            status=models.Report.Status.OPEN, target_type=OuterRef("target_type"), target_id=OuterRef("target_id")
        )
        latest_id = same_target_open.order_by("-created_at", "-id").values("id")[:1]
        count = same_target_open.order_by().annotate(n=Func(F("id"), function="COUNT")).values("n")
        # Not super(): ModelAdmin.get_queryset orders by get_ordering() before the annotation exists.
        return (
            self.model._default_manager.get_queryset()
            .filter(status=models.Report.Status.OPEN, id=Subquery(latest_id))
            .annotate(open_count=Coalesce(Subquery(count, output_field=IntegerField()), 0))
            .select_related("target_type", "reporter")
            .order_by("-open_count", "-created_at", "-id")
        )

    def get_ordering(self, request):
        return ["-open_count", "-created_at", "-id"]  # most-reported first (an annotation, so not `ordering`)

    @admin.display(description="reported item")
    def item(self, report: models.Report) -> str:
        return target_link_html(report)

    @admin.display(description="open reports", ordering="open_count")
    def open_reports(self, report: models.Report) -> int:
        return report.open_count

    @admin.display(description="reasons")
    def reasons(self, report: models.Report) -> str:
        rows = (
            models.Report.objects.filter(
                status=models.Report.Status.OPEN, target_type_id=report.target_type_id, target_id=report.target_id
            )
            .values("reason")
            .annotate(n=Count("id"))
            .order_by("-n", "reason")
        )
        labels = dict(models.Report.Reason.choices)
        return ", ".join(f"{labels.get(r['reason'], r['reason'])} ({r['n']})" for r in rows)

    @admin.display(description="latest report")
    def latest_details(self, report: models.Report) -> str:
        return format_html("{}<br><small>by {}</small>", report.details[:200] or "—", report.reporter.email)

    @admin.display(description="owner")
    def owner(self, report: models.Report) -> str:
        target = report.target
        user = decisions.content_owner(target) if target is not None else None
        if user is None:
            return "—"
        return format_html(
            "{}{}", user.email, format_html(" <strong>(suspended)</strong>") if user.is_suspended else ""
        )

    @admin.display(description="last reported", ordering="created_at")
    def last_reported(self, report: models.Report):
        return report.created_at


# --------------------------------------------------------------------------- unreviewed skills


@admin.register(models.SkillReviewQueue)
class SkillReviewQueueAdmin(ReadOnlyQueueMixin, SkillAdmin):
    queue_title = "Unreviewed skills — most used first; merge, approve, rename or recategorise"
    list_display = ["name", "category", "profiles_claiming", "gigs_asking", "created_at"]
    list_filter = ["category"]
    actions = [skill_merge, skill_approve, skill_rename, skill_recategorise]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(review_state=models.Skill.ReviewState.UNREVIEWED)
            .annotate(profile_count=Count("claims", distinct=True), gig_count=Count("needs", distinct=True))
            .order_by("-profile_count", "-gig_count", "name")
        )

    @admin.display(description="profiles claiming it", ordering="profile_count")
    def profiles_claiming(self, skill) -> int:
        return skill.profile_count

    @admin.display(description="gigs asking for it", ordering="gig_count")
    def gigs_asking(self, skill) -> int:
        return skill.gig_count
