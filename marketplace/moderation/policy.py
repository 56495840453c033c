"""The moderation policy: which gigs and profiles are public at once and which wait for a moderator.

A gig or profile is held for review ("pending", not public) when any rule trips:

- ``contact_details``: an email address or phone number in its text (deals must stay on the platform);
- ``off_platform_contact``: "contact me on WhatsApp/Telegram/…";
- ``off_platform_payment``: "pay via PayPal/Western Union/crypto/…";
- ``banned_term``: a word or phrase from ``settings.MODERATION_BANNED_TERMS``;
- ``reports``: at least ``settings.MODERATION_REPORT_THRESHOLD`` open reports against it;
- ``new_client`` (gigs only): its client has fewer than ``settings.MODERATION_NEW_CLIENT_GIGS`` approved gigs.

Otherwise it is approved automatically. The policy never overrides a moderator: a rejected or hidden
object stays so until a moderator decides otherwise. Every hold is written to the audit trail with
the rules that tripped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from marketplace.models import FreelancerProfile, Gig, ModerationAction, ModerationStatus, Report
from marketplace.moderation.audit import announce_gig_changed, announce_profile_changed, audit_record


@dataclass(frozen=True)
class Flag:
    """One rule that tripped, with what tripped it (for moderators; not shown to the author)."""

    rule: str
    detail: str


# What the author sees (Gig.moderation_reason / FreelancerProfile.moderation_reason) for each rule.
RULE_MESSAGES = {
    "contact_details": "contains contact details (email address or phone number)",
    "off_platform_contact": "asks to be contacted outside Matchwork",
    "off_platform_payment": "asks for payment outside Matchwork",
    "banned_term": "contains a term that needs review",
    "reports": "has been reported by several users",
    "new_client": "is from a new client",
}

_EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}", re.IGNORECASE)
# "jane at gmail dot com", "jane [at] example [dot] org"
_EMAIL_SPELLED = re.compile(
    r"\b[a-z0-9._%+-]+\s*[\[(]?\s*\bat\b\s*[\])]?\s*[a-z0-9-]+\s*[\[(]?\s*\bdot\b\s*[\])]?\s*[a-z]{2,}\b", re.IGNORECASE
)
# A run of digits with the usual separators; counted as a phone number when it has 9 to 15 digits
# (years, budgets like 10,000 and dates have fewer).
_PHONE_CANDIDATE = re.compile(r"(?<![\w.,])(?:\+|00)?\(?\d[\d\s().\-/]{6,}\d(?![\w.,]\d)")
_CHANNELS = r"whats\s?app|telegram|signal|skype|wechat|viber|discord|snapchat|kik"
_OFF_PLATFORM_CONTACT = re.compile(
    rf"\b(?:contact|message|reach|text|call|chat\s+with|dm|ping|find|talk\s+to|write\s+to|hit)\s+(?:me|us)\b"
    rf"[^.\n]{{0,40}}?\b(?:{_CHANNELS})\b"
    rf"|\b(?:{_CHANNELS})\b\s*(?::|@|\bme\b|\bid\b|\bhandle\b|\bnumber\b)",
    re.IGNORECASE,
)
_PAY_CHANNELS = (
    r"pay\s?pal|western\s+union|money\s?gram|crypto(?:currency|currencies)?|bitcoin|btc|usdt|tether|ethereum"
    r"|venmo|zelle|cash\s?app|gift\s?cards?|wire\s+transfer|bank\s+transfer|payoneer|skrill"
)
_PAY_WORDS = r"pay|paid|paying|payment|payments|send|sending|transfer|invoice|settle"
_OFF_PLATFORM_PAYMENT = re.compile(
    rf"\b(?:{_PAY_WORDS})\b[^.\n]{{0,40}}?\b(?:{_PAY_CHANNELS})\b|\b(?:{_PAY_CHANNELS})\b[^.\n]{{0,25}}?\b(?:{_PAY_WORDS})\b",
    re.IGNORECASE,
)


def _phone_numbers(text: str) -> list[str]:
    found = []
    for match in _PHONE_CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 9 <= len(digits) <= 15:
            found.append(match.group().strip())
    return found


def _banned_terms(text: str) -> list[str]:
    hits = []
    for term in settings.MODERATION_BANNED_TERMS:
        term = term.strip()
        if term and re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text, re.IGNORECASE):
            hits.append(term)
    return hits


def text_flags(text: str) -> list[Flag]:
    """The rules a piece of user-written text trips, one flag per rule."""
    flags = []
    contacts = _EMAIL.findall(text) + _EMAIL_SPELLED.findall(text) + _phone_numbers(text)
    if contacts:
        flags.append(Flag("contact_details", ", ".join(contacts)[:300]))
    if m := _OFF_PLATFORM_CONTACT.search(text):
        flags.append(Flag("off_platform_contact", m.group()))
    if m := _OFF_PLATFORM_PAYMENT.search(text):
        flags.append(Flag("off_platform_payment", m.group()))
    if terms := _banned_terms(text):
        flags.append(Flag("banned_term", ", ".join(terms)))
    return flags


def open_report_count(target: models.Model) -> int:
    return Report.objects.filter(
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=True),
        target_id=target.pk,
        status=Report.Status.OPEN,
    ).count()


def _report_flags(target: models.Model) -> list[Flag]:
    count = open_report_count(target)
    if count >= settings.MODERATION_REPORT_THRESHOLD:
        return [Flag("reports", f"{count} open reports (threshold {settings.MODERATION_REPORT_THRESHOLD})")]
    return []


def gig_flags(gig: Gig, *, edited: bool = False) -> list[Flag]:
    """Everything that would hold this gig for review (an edit is not held for being a new client's)."""
    flags = text_flags(f"{gig.title}\n{gig.description}")
    flags += _report_flags(gig)
    needed = settings.MODERATION_NEW_CLIENT_GIGS
    if needed > 0 and not edited:
        approved = (
            Gig.objects.filter(client_id=gig.client_id, moderation_status=ModerationStatus.APPROVED)
            .exclude(pk=gig.pk)
            .exclude(published_at__isnull=True)
            .count()
        )
        if approved < needed:
            flags.append(Flag("new_client", f"{approved} approved gig(s) so far, {needed} needed"))
    return flags


def profile_flags(profile: FreelancerProfile) -> list[Flag]:
    """Everything that would hold this freelancer profile for review."""
    return text_flags(f"{profile.display_name}\n{profile.headline}\n{profile.bio}") + _report_flags(profile)


def _author_message(flags: list[Flag]) -> str:
    rules = "; ".join(RULE_MESSAGES[f.rule] for f in flags)
    return f"Waiting for a moderator's review: it {rules}."


def _screen(target: Gig | FreelancerProfile, flags: list[Flag], *, record_approval: bool) -> str:
    """Set the target's moderation state from the flags; return the state. Saves and audits."""
    if target.moderation_status in (ModerationStatus.REJECTED, ModerationStatus.HIDDEN):
        return target.moderation_status  # a moderator's decision stands
    before = {"moderation_status": target.moderation_status, "moderation_reason": target.moderation_reason}
    if flags:
        target.moderation_status = ModerationStatus.PENDING
        target.moderation_reason = _author_message(flags)
        action = ModerationAction.Action.AUTO_HOLD
        reason = "; ".join(f"{f.rule}: {f.detail}" for f in flags)
    else:
        target.moderation_status = ModerationStatus.APPROVED
        target.moderation_reason = ""
        action = ModerationAction.Action.AUTO_APPROVE
        reason = "No moderation rule tripped"
    after = {"moderation_status": target.moderation_status, "moderation_reason": target.moderation_reason}
    if after != before:
        target.save(update_fields=["moderation_status", "moderation_reason", "updated_at"])
    if flags or after != before or record_approval:
        audit_record(
            target=target,
            action=action,
            reason=reason,
            by=None,
            before=before,
            after={**after, "rules": [f.rule for f in flags]},
        )
    return target.moderation_status


@transaction.atomic
def gig_screen(*, gig: Gig, edited: bool = False) -> str:
    """Apply the policy to a gig being published (or a published gig that was edited).

    Publication approves the gig or holds it for review. An edit of a published gig is held when
    its new text trips a rule; an edit never approves a gig a moderator has not approved.
    """
    flags = gig_flags(gig, edited=edited)
    if edited and not flags:
        return gig.moderation_status
    return _screen(gig, flags, record_approval=not edited)


@transaction.atomic
def profile_screen(*, profile: FreelancerProfile, created: bool = False) -> str:
    """Apply the policy to a profile that was created or edited (call after the edit is saved).

    An approved profile whose edit trips a rule goes back to review; a profile held by the policy
    is released when the edit clears every rule.
    """
    return _screen(profile, profile_flags(profile), record_approval=created)


@transaction.atomic
def report_threshold_apply(*, target: models.Model) -> str | None:
    """Call after a report is filed: hold an approved gig or profile once it has too many open reports.

    Returns the target's moderation state, or None for targets the policy does not cover.
    """
    if not isinstance(target, Gig | FreelancerProfile):
        return None
    target = type(target).objects.select_for_update().get(pk=target.pk)
    flags = _report_flags(target)
    if not flags or target.moderation_status != ModerationStatus.APPROVED:
        return target.moderation_status
    before = {"moderation_status": target.moderation_status, "moderation_reason": target.moderation_reason}
    target.moderation_status = ModerationStatus.PENDING
    target.moderation_reason = _author_message(flags)
    target.save(update_fields=["moderation_status", "moderation_reason", "updated_at"])
    audit_record(
        target=target,
        action=ModerationAction.Action.AUTO_HOLD,
        by=None,
        before=before,
        reason="; ".join(f"{f.rule}: {f.detail}" for f in flags),
        after={
            "moderation_status": target.moderation_status,
            "moderation_reason": target.moderation_reason,
            "rules": ["reports"],
        },
    )
    if isinstance(target, Gig):
        announce_gig_changed(target.pk)
    else:
        announce_profile_changed(target.pk)
    return target.moderation_status
