"""Admin actions that ask the moderator for a reason on an intermediate page, then call a service.

The admin never writes moderation state itself: each action calls a function of
``marketplace.moderation`` once per selected object, so the rules and the audit trail are the same
as through the API or a command.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.contenttypes.admin import GenericTabularInline
from django.template.response import TemplateResponse
from django.utils.html import format_html_join

from marketplace.models import ModerationAction
from marketplace.moderation.decisions import ModerationError


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        max_length=2000,
        error_messages={"required": "A reason is required."},
        help_text="Required. Kept in the audit trail; for a rejection or hiding, the author sees it.",
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason


def reason_action(
    *,
    name: str,
    description: str,
    apply: Callable[..., object],
    form_class: type[forms.Form] = ReasonForm,
    single: bool = False,
    describe: Callable[[object], str] = str,
) -> Callable:
    """An admin action: show ``form_class`` for the selected rows, then ``apply(obj=, by=, **cleaned_data)``.

    ``single`` actions (rename) accept exactly one selected row; ``describe`` names a row on the page.
    """

    def action(modeladmin: admin.ModelAdmin, request, queryset):
        if single and queryset.count() != 1:
            modeladmin.message_user(request, f"“{description}” works on exactly one row.", messages.WARNING)
            return None
        if request.POST.get("apply") == "yes":
            form = form_class(request.POST)
            if form.is_valid():
                done, failed = 0, []
                for obj in queryset:
                    try:
                        apply(obj=obj, by=request.user, **form.cleaned_data)
                        done += 1
                    except ModerationError as exc:
                        failed.append(f"{obj}: {exc}")
                if done:
                    modeladmin.message_user(request, f"{description}: done for {done} row(s).", messages.SUCCESS)
                for failure in failed:
                    modeladmin.message_user(request, failure, messages.ERROR)
                return None
        else:
            form = form_class()
        opts = modeladmin.model._meta
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": description,
            "subtitle": None,
            "form": form,
            "objects": [describe(obj) for obj in queryset[:200]],
            "count": queryset.count(),
            "action_name": name,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected_ids": [str(pk) for pk in queryset.values_list("pk", flat=True)],
            "opts": opts,
            "app_label": opts.app_label,
            "media": modeladmin.media + form.media,
        }
        return TemplateResponse(request, "admin/marketplace/moderation_reason.html", context)

    action.__name__ = name
    return admin.action(description=description)(action)


class AuditTrailInline(GenericTabularInline):
    """The object's moderation history, newest first, read-only."""

    model = ModerationAction
    ct_field = "target_type"
    ct_fk_field = "target_id"
    extra = 0
    can_delete = False
    verbose_name = "moderation decision"
    verbose_name_plural = "Moderation audit trail"
    fields = ["created_at", "moderator_display", "action", "reason", "change"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="by")
    def moderator_display(self, row: ModerationAction) -> str:
        return row.moderator.email if row.moderator_id else "automatic policy"

    @admin.display(description="before → after")
    def change(self, row: ModerationAction) -> str:
        return state_change_html(row.before, row.after)


def state_change_html(before: dict, after: dict) -> str:
    """``field: old → new`` for each field an audit row recorded, one per line."""
    keys = list(dict.fromkeys([*before, *after]))
    return format_html_join(
        "",
        "<div><code>{}</code>: {} → {}</div>",
        ((k, _short(before.get(k, "")), _short(after.get(k, ""))) for k in keys),
    )


def _short(value) -> str:
    text = "—" if value in ("", None, [], {}) else str(value)
    return text if len(text) <= 80 else text[:79] + "…"
