"""Read-only views of match runs for operators; runs are written only by the matching services."""

from django.contrib import admin

from .models import MatchResult, MatchRun, TaskFailure


class MatchResultInline(admin.TabularInline):
    model = MatchResult
    fields = ["rank", "freelancer", "score", "components"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["rank"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MatchRun)
class MatchRunAdmin(admin.ModelAdmin):
    list_display = ["id", "gig", "status", "strategy", "trigger", "candidate_count", "model_version", "created_at"]
    list_filter = ["status", "strategy"]
    search_fields = ["gig__title"]
    readonly_fields = [f.name for f in MatchRun._meta.fields]
    inlines = [MatchResultInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TaskFailure)
class TaskFailureAdmin(admin.ModelAdmin):
    """Tasks given up for good (poison messages); written only by the Celery delivery guard."""

    list_display = ["task_name", "task_id", "deliveries", "created_at"]
    list_filter = ["task_name"]
    search_fields = ["task_id", "task_name"]
    readonly_fields = [f.name for f in TaskFailure._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
