from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import AuthToken, User
from marketplace.admin.actions import AuditTrailInline, reason_action
from marketplace.moderation import decisions

suspend = reason_action(
    name="suspend",
    description="Suspend (sign out everywhere, hide profile and gigs)",
    apply=lambda obj, by, reason: decisions.user_suspend(user=obj, by=by, reason=reason),
)
unsuspend = reason_action(
    name="unsuspend",
    description="Lift suspension",
    apply=lambda obj, by, reason: decisions.user_unsuspend(user=obj, by=by, reason=reason),
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "is_suspended", "is_staff", "date_joined"]
    list_filter = ["role", "is_suspended", "is_staff", "is_active"]
    search_fields = ["email", "full_name"]
    # Suspension changes only through the audited actions.
    readonly_fields = ["date_joined", "last_login", "is_suspended", "suspended_reason", "suspended_at"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name", "role")}),
        ("Moderation", {"fields": ("is_suspended", "suspended_reason", "suspended_at")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),)
    inlines = [AuditTrailInline]
    actions = [suspend, unsuspend]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Moderators suspend; only a superuser may delete an account (e.g. an erasure request).
        return request.user.is_superuser


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    """API tokens: read-only (only hashes are stored); moderators can revoke them."""

    list_display = ["key_prefix", "user", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["user__email", "key_prefix"]
    readonly_fields = ["user", "key_prefix", "created_at", "expires_at", "revoked_at", "last_used_at"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        from accounts import services

        for token in queryset:
            services.token_revoke(token=token)
