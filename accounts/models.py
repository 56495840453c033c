from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models


class UserManager(BaseUserManager):
    """Manager for the email-login user."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required")
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", User.Role.MODERATOR)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in with an email address and acts in one marketplace role."""

    class Role(models.TextChoices):
        CLIENT = "client", "Client member"
        FREELANCER = "freelancer", "Freelancer"
        MODERATOR = "moderator", "Staff moderator"

    username = None
    email = models.EmailField("email address", unique=True, max_length=254)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, db_index=True)
    # Suspension is a moderation decision: a suspended user cannot authenticate and their gigs and
    # profile leave public lists and matching. Nothing is deleted.
    is_suspended = models.BooleanField(default=False, db_index=True)
    suspended_reason = models.TextField(blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["client", "freelancer", "moderator"]), name="user_role_valid"
            ),
        ]
        indexes = [
            # The few users who cannot be listed (deactivated or suspended): matching's filters
            # exclude them with an anti-join against this small index instead of joining every
            # candidate row to its user (matching/ranking/candidates.py).
            models.Index(
                fields=["id"],
                condition=models.Q(is_active=False) | models.Q(is_suspended=True),
                name="user_not_listable",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name or self.email} ({self.get_role_display()})"

    @property
    def is_moderator(self) -> bool:
        return self.role == self.Role.MODERATOR or self.is_staff


class AuthToken(models.Model):
    """An API token. Only a SHA-256 of the key is stored: a database leak yields no usable token.

    A token stops working when it expires, when it is revoked, or when its user is deactivated or
    suspended (checked on every request by ``accounts.authentication``).
    """

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="auth_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    # First characters of the key, to tell tokens apart in the admin without revealing them.
    key_prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.key_prefix}… for {self.user_id}"
