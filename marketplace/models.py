"""Marketplace tables: clients, freelancers, the skill taxonomy, gigs and the hiring loop.

Rules that must hold whatever door a write comes through are database constraints; rules that
depend on who is acting live in ``marketplace.services``.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q


class SkillLevel(models.TextChoices):
    BEGINNER = "beginner", "Beginner"
    INTERMEDIATE = "intermediate", "Intermediate"
    ADVANCED = "advanced", "Advanced"
    EXPERT = "expert", "Expert"


SKILL_LEVEL_RANK = {"beginner": 1, "intermediate": 2, "advanced": 3, "expert": 4}


def skill_level_rank(level: str | None) -> int:
    """A skill level's rank (``SKILL_LEVEL_RANK``); 0 for no level (or one it does not know)."""
    return SKILL_LEVEL_RANK.get(level or "", 0)


class ModerationStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    HIDDEN = "hidden", "Hidden by moderator"


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


# --------------------------------------------------------------------------- organisations


class Client(TimeStamped):
    """A small or medium business that posts gigs; its members act on its behalf."""

    name = models.CharField(max_length=200)
    website = models.URLField(max_length=300, blank=True)
    description = models.TextField(max_length=4000, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    # Secret a new member registers with to join this client; shown to its owners, rotatable.
    invite_code = models.CharField(max_length=40, unique=True, null=True, blank=True, editable=False)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="ClientMembership", related_name="clients")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ClientMembership(TimeStamped):
    """A user's membership of a client organisation. A user belongs to at most one client."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="memberships")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client_membership")
    is_owner = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.user.email} @ {self.client.name}"


# --------------------------------------------------------------------------- taxonomy


class Skill(TimeStamped):
    """A canonical skill of the taxonomy, with the aliases people really type."""

    class Category(models.TextChoices):
        AI_LIFECYCLE = "ai_lifecycle", "AI lifecycle"
        COACHING_LD = "coaching_ld", "Coaching & L&D"
        TECHNOLOGY = "technology", "Software & data"
        BUSINESS = "business", "Business & operations"
        CREATIVE = "creative", "Creative & marketing"
        OTHER = "other", "Other"

    class ReviewState(models.TextChoices):
        APPROVED = "approved", "Approved"
        UNREVIEWED = "unreviewed", "Unreviewed (created from free text)"
        MERGED = "merged", "Merged into another skill"

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER, db_index=True)
    aliases = ArrayField(models.CharField(max_length=100), default=list, blank=True, size=50)
    description = models.CharField(max_length=500, blank=True)
    review_state = models.CharField(
        max_length=12, choices=ReviewState.choices, default=ReviewState.APPROVED, db_index=True
    )
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# --------------------------------------------------------------------------- freelancers


# A profile that can appear in matching, as far as its own fields say (its user must be listable
# too): matching's hard filters always include these clauses.
LISTED_AND_AVAILABLE = Q(visibility="public", moderation_status="approved", available_hours_per_week__gt=0)


class FreelancerProfile(TimeStamped):
    """A freelancer's public profile: what they do, what they charge, when they can work."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        HIDDEN = "hidden", "Hidden by the freelancer"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="freelancer_profile")
    display_name = models.CharField(max_length=150)
    headline = models.CharField(max_length=200)
    bio = models.TextField(max_length=5000, blank=True)
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, default="USD")
    available_hours_per_week = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(80)])
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA name, e.g. Europe/Berlin")
    languages = ArrayField(models.CharField(max_length=8), default=list, blank=True, size=20)
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC, db_index=True)
    moderation_status = models.CharField(
        max_length=10, choices=ModerationStatus.choices, default=ModerationStatus.APPROVED, db_index=True
    )
    moderation_reason = models.TextField(blank=True)
    # Maintained by services from reviews and engagements; never written by users.
    rating_avg = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    rating_count = models.PositiveIntegerField(default=0)
    completed_jobs = models.PositiveIntegerField(default=0)
    # Optimistic concurrency: every edit increments it; a stale edit is refused.
    version = models.PositiveIntegerField(default=1)
    skills = models.ManyToManyField(Skill, through="FreelancerSkill", related_name="freelancers")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(hourly_rate__gte=0), name="profile_rate_non_negative"),
            models.CheckConstraint(
                condition=Q(available_hours_per_week__gte=0, available_hours_per_week__lte=80),
                name="profile_hours_range",
            ),
            models.CheckConstraint(
                condition=Q(rating_avg__isnull=True) | Q(rating_avg__gte=1, rating_avg__lte=5),
                name="profile_rating_range",
            ),
        ]
        # Listing the profiles a gig's hard filters leave, when they are few (matching's exact
        # search, ``few_eligible``): by rate cap from the covering index alone, by language from the
        # GIN index. Only listed, available profiles are indexed.
        indexes = [
            models.Index(
                fields=["hourly_rate"],
                include=["user", "languages"],
                condition=LISTED_AND_AVAILABLE,
                name="profile_listed_by_rate",
            ),
            GinIndex(fields=["languages"], condition=LISTED_AND_AVAILABLE, name="profile_listed_by_language"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} — {self.headline}"


class ProfileFilterCopy(models.Model):
    """A copy of the profile fields that matching's hard filters read, on rows that matching's
    retrievers walk by the thousand (a profile's vector rows, its skill claims): they check the
    filters on the row itself instead of looking up each row's profile.

    PostgreSQL keeps the copy (triggers of marketplace/0006 and matching/0009): a row written reads
    it from its profile, and a change of those fields on a profile, by whatever path (services,
    admin, a bulk ``update()``, SQL), is copied to its rows in the same transaction. The code never
    writes it; the defaults (no user, not listed, no hours) make a row without it ineligible.
    The field names are the profile's, so one SQL rule reads either (``Eligibility.on``).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, editable=False, db_index=False, related_name="+"
    )
    visibility = models.CharField(max_length=8, default="", editable=False)
    moderation_status = models.CharField(max_length=10, default="", editable=False)
    available_hours_per_week = models.PositiveSmallIntegerField(default=0, editable=False)
    languages = ArrayField(models.CharField(max_length=8), default=list, editable=False)
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2, default=0, editable=False)

    class Meta:
        abstract = True


class FreelancerSkill(ProfileFilterCopy):
    """A skill a freelancer claims, with level and years of experience, and its profile's filter
    fields (``ProfileFilterCopy``: matching's taxonomy walk reads a skill's claims strongest first
    until enough pass the filters)."""

    profile = models.ForeignKey(FreelancerProfile, on_delete=models.CASCADE, related_name="skill_claims")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="claims")
    level = models.CharField(max_length=12, choices=SkillLevel.choices, default=SkillLevel.INTERMEDIATE)
    years = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(60)])

    class Meta:
        ordering = ["profile_id", "skill__name"]
        constraints = [
            models.UniqueConstraint(fields=["profile", "skill"], name="unique_skill_per_profile"),
            models.CheckConstraint(condition=Q(years__isnull=True) | Q(years__lte=60), name="skill_years_range"),
        ]
        indexes = [
            # The strongest claims of a skill first: matching reads a bounded number per needed
            # skill (matching.ranking.candidates.skill_candidates spells the same expression). The
            # level and the profile's filter fields ride along in the index, so the walk checks
            # each claim against the filters without reading the table (an index-only scan, on
            # pages the visibility map marks all-visible; docs/benchmarks.md, sixteenth pass).
            models.Index(
                F("skill"),
                models.Case(
                    *(models.When(level=level, then=models.Value(rank)) for level, rank in SKILL_LEVEL_RANK.items()),
                    default=models.Value(0),
                ).desc(),
                F("profile").desc(),
                name="skill_claim_walk",
                include=[
                    "level",
                    "visibility",
                    "moderation_status",
                    "available_hours_per_week",
                    "languages",
                    "hourly_rate",
                    "user",
                ],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.skill.name} ({self.level})"


# --------------------------------------------------------------------------- gigs


class Gig(TimeStamped):
    """A piece of work a client posts: what, for how much, how many hours, when."""

    class BudgetType(models.TextChoices):
        HOURLY = "hourly", "Hourly rate"
        FIXED = "fixed", "Fixed price"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        CLOSED = "closed", "Closed"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="gigs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="gigs_created")
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=10000)
    budget_type = models.CharField(max_length=8, choices=BudgetType.choices)
    budget_min = models.DecimalField(max_digits=10, decimal_places=2)
    budget_max = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    hours_per_week = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(80)])
    duration_weeks = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(520)])
    timezone = models.CharField(max_length=64, blank=True, help_text="Client's IANA timezone")
    min_overlap_hours = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(24)])
    languages = ArrayField(models.CharField(max_length=8), default=list, blank=True, size=20)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    moderation_status = models.CharField(
        max_length=10, choices=ModerationStatus.choices, default=ModerationStatus.APPROVED, db_index=True
    )
    moderation_reason = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    skills = models.ManyToManyField(Skill, through="GigSkill", related_name="gigs")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(budget_min__gte=0), name="gig_budget_non_negative"),
            models.CheckConstraint(condition=Q(budget_min__lte=F("budget_max")), name="gig_budget_min_le_max"),
            models.CheckConstraint(
                condition=Q(min_overlap_hours__isnull=True) | Q(min_overlap_hours__lte=24), name="gig_overlap_range"
            ),
            models.CheckConstraint(
                condition=Q(hours_per_week__isnull=True) | Q(hours_per_week__lte=80), name="gig_hours_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.client.name}, {self.status})"


class GigSkill(models.Model):
    """A skill a gig asks for: required or nice-to-have, with an optional minimum level."""

    gig = models.ForeignKey(Gig, on_delete=models.CASCADE, related_name="skill_needs")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="needs")
    required = models.BooleanField(default=True)
    min_level = models.CharField(max_length=12, choices=SkillLevel.choices, blank=True)

    class Meta:
        ordering = ["gig_id", "-required", "skill__name"]
        constraints = [models.UniqueConstraint(fields=["gig", "skill"], name="unique_skill_per_gig")]

    def __str__(self) -> str:
        kind = "required" if self.required else "nice-to-have"
        return f"{self.skill.name} ({kind}{', ' + self.min_level if self.min_level else ''})"


# --------------------------------------------------------------------------- hiring loop


class Invitation(TimeStamped):
    """A client's invitation for a freelancer to apply to a gig, possibly from a match run."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    gig = models.ForeignKey(Gig, on_delete=models.CASCADE, related_name="invitations")
    freelancer = models.ForeignKey(FreelancerProfile, on_delete=models.CASCADE, related_name="invitations")
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    message = models.TextField(max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    # What the client saw when inviting from a match run.
    match_rank = models.PositiveIntegerField(null=True, blank=True)
    match_score = models.FloatField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["gig", "freelancer"], name="unique_invitation_per_gig")]

    def __str__(self) -> str:
        return f"Invitation of {self.freelancer.display_name} to {self.gig.title} ({self.status})"


class Proposal(TimeStamped):
    """A freelancer's application to a published gig."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SHORTLISTED = "shortlisted", "Shortlisted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"
        HIRED = "hired", "Hired"

    gig = models.ForeignKey(Gig, on_delete=models.CASCADE, related_name="proposals")
    freelancer = models.ForeignKey(FreelancerProfile, on_delete=models.CASCADE, related_name="proposals")
    cover_letter = models.TextField(max_length=5000)
    proposed_rate = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposal"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["gig", "freelancer"], name="unique_proposal_per_gig"),
            models.CheckConstraint(condition=Q(proposed_rate__gte=0), name="proposal_rate_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.freelancer.display_name} → {self.gig.title} ({self.status})"


class Engagement(TimeStamped):
    """Work under way after a hire; either side may complete it, then both review."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"

    proposal = models.OneToOneField(Proposal, on_delete=models.PROTECT, related_name="engagement")
    gig = models.ForeignKey(Gig, on_delete=models.PROTECT, related_name="engagements")
    freelancer = models.ForeignKey(FreelancerProfile, on_delete=models.PROTECT, related_name="engagements")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="engagements")
    agreed_rate = models.DecimalField(max_digits=10, decimal_places=2)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.freelancer.display_name} on {self.gig.title} ({self.status})"


class Review(TimeStamped):
    """One side's review of the other after an engagement is completed."""

    class Direction(models.TextChoices):
        CLIENT_TO_FREELANCER = "client_to_freelancer", "Client reviews freelancer"
        FREELANCER_TO_CLIENT = "freelancer_to_client", "Freelancer reviews client"

    engagement = models.ForeignKey(Engagement, on_delete=models.PROTECT, related_name="reviews")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_written")
    direction = models.CharField(max_length=24, choices=Direction.choices)
    rating = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    text = models.TextField(max_length=4000, blank=True)
    moderation_status = models.CharField(
        max_length=10, choices=ModerationStatus.choices, default=ModerationStatus.APPROVED, db_index=True
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["engagement", "direction"], name="one_review_per_side"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="review_rating_range"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}★ by {self.author.email} ({self.get_direction_display()})"


class Report(TimeStamped):
    """A user's report of a gig, profile or review, for moderators to act on."""

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam or scam"
        OFF_PLATFORM = "off_platform", "Off-platform contact or payment"
        INAPPROPRIATE = "inappropriate", "Inappropriate or offensive"
        MISLEADING = "misleading", "Misleading or fake"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACTIONED = "actioned", "Actioned"
        DISMISSED = "dismissed", "Dismissed"

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reports_filed")
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    target_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("target_type", "target_id")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    details = models.TextField(max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "target_type", "target_id"],
                condition=Q(status="open"),
                name="one_open_report_per_reporter_target",
            )
        ]

    def __str__(self) -> str:
        return f"Report #{self.pk} on {self.target_type.model} {self.target_id}: {self.reason} ({self.status})"


# --------------------------------------------------------------------------- moderation


class ModerationAction(models.Model):
    """One line of the moderation audit trail: who did what to which object, when and why.

    Written by ``marketplace.moderation`` for every decision, by a moderator or by the automatic
    policy (``moderator`` is then empty). Rows are never edited or deleted; ``before`` and ``after``
    hold the moderated fields as they were and became.
    """

    class Action(models.TextChoices):
        AUTO_APPROVE = "auto_approve", "Approved automatically"
        AUTO_HOLD = "auto_hold", "Held for review by policy"
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"
        HIDE = "hide", "Hidden"
        SUSPEND = "suspend", "User suspended"
        UNSUSPEND = "unsuspend", "User reinstated"
        DISMISS_REPORT = "dismiss_report", "Report dismissed"
        RESOLVE_REPORT = "resolve_report", "Report actioned"
        SKILL_APPROVE = "skill_approve", "Skill approved"
        SKILL_MERGE = "skill_merge", "Skill merged"
        SKILL_RENAME = "skill_rename", "Skill renamed"
        SKILL_RECATEGORISE = "skill_recategorise", "Skill recategorised"
        REEMBED = "reembed", "Re-embedding requested"
        REMATCH = "rematch", "Match recompute requested"

    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="moderation_actions"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices, db_index=True)
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    target_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("target_type", "target_id")
    target_repr = models.CharField(max_length=200, help_text="What the target was called at the time")
    reason = models.TextField(max_length=2000)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id", "-created_at"])]
        verbose_name = "moderation decision"
        verbose_name_plural = "Moderation audit trail"

    def __str__(self) -> str:
        who = self.moderator.email if self.moderator_id else "policy"
        return f"{self.get_action_display()} {self.target_repr} by {who}"


# Proxies that give the admin its moderation queues (no tables of their own).


class GigReviewQueue(Gig):
    """Admin queue: published gigs waiting for a moderator's review."""

    class Meta:
        proxy = True
        verbose_name = "gig pending review"
        verbose_name_plural = "Queue: gigs pending review"


class ReportedItem(Report):
    """Admin queue: open reports grouped by the object they are about (one row per reported object)."""

    class Meta:
        proxy = True
        verbose_name = "reported item"
        verbose_name_plural = "Queue: open reports by item"


class SkillReviewQueue(Skill):
    """Admin queue: skills created from free text that a moderator has not reviewed yet."""

    class Meta:
        proxy = True
        verbose_name = "unreviewed skill"
        verbose_name_plural = "Queue: unreviewed skills"
