from django.contrib import admin

from marketplace import models


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


@admin.register(models.Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "review_state", "merged_into", "created_at"]
    list_filter = ["category", "review_state"]
    search_fields = ["name", "slug", "aliases"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["merged_into"]


class FreelancerSkillInline(admin.TabularInline):
    model = models.FreelancerSkill
    extra = 0
    raw_id_fields = ["skill"]


@admin.register(models.FreelancerProfile)
class FreelancerProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "headline", "hourly_rate", "available_hours_per_week", "visibility",
                    "moderation_status", "rating_avg", "completed_jobs"]
    list_filter = ["visibility", "moderation_status", "user__is_suspended", "skills__category"]
    search_fields = ["display_name", "headline", "user__email"]
    readonly_fields = ["rating_avg", "rating_count", "completed_jobs", "version", "created_at", "updated_at"]
    raw_id_fields = ["user"]
    inlines = [FreelancerSkillInline]


class GigSkillInline(admin.TabularInline):
    model = models.GigSkill
    extra = 0
    raw_id_fields = ["skill"]


@admin.register(models.Gig)
class GigAdmin(admin.ModelAdmin):
    list_display = ["title", "client", "status", "moderation_status", "budget_type", "budget_min", "budget_max",
                    "published_at"]
    list_filter = ["status", "moderation_status", "budget_type", "skills__category"]
    search_fields = ["title", "description", "client__name"]
    readonly_fields = ["version", "published_at", "closed_at", "created_at", "updated_at"]
    raw_id_fields = ["client", "created_by"]
    inlines = [GigSkillInline]
    date_hierarchy = "created_at"


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
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["engagement", "direction", "rating", "author", "moderation_status", "created_at"]
    list_filter = ["direction", "rating", "moderation_status"]
    search_fields = ["text", "author__email"]
    raw_id_fields = ["engagement", "author"]


@admin.register(models.Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["id", "target_type", "target_id", "reason", "status", "reporter", "created_at"]
    list_filter = ["status", "reason", "target_type"]
    search_fields = ["details", "reporter__email"]
    raw_id_fields = ["reporter", "resolved_by"]
