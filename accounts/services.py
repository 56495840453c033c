"""Writes of the accounts app: users, passwords and API tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import AuthToken, User
from config.errors import InvalidInput

# last_used_at is written at most this often per token, so authenticated reads do not all write.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    key: str
    token: AuthToken

    @property
    def expires_at(self) -> datetime:
        return self.token.expires_at


def token_create(*, user: User, ttl: timedelta | None = None) -> IssuedToken:
    """Issue a new token; the plain key is returned once and never stored."""
    key = secrets.token_urlsafe(32)
    ttl = ttl or timedelta(hours=settings.AUTH_TOKEN_TTL_HOURS)
    token = AuthToken.objects.create(
        user=user, key_hash=_hash_key(key), key_prefix=key[:8], expires_at=timezone.now() + ttl
    )
    return IssuedToken(key=key, token=token)


@functools.cache
def _live_token_query() -> tuple[str, list, list]:
    """SQL of the unrevoked, unexpired token with a given hash joined to its user, and the fields
    of each model in the order of its columns."""
    token_fields, user_fields = AuthToken._meta.concrete_fields, User._meta.concrete_fields
    columns = [f"t.{connection.ops.quote_name(f.column)}" for f in token_fields]
    columns += [f"u.{connection.ops.quote_name(f.column)}" for f in user_fields]
    # Only table and column names from the models are interpolated; the values are parameters.
    sql = (
        f"SELECT {', '.join(columns)} FROM {AuthToken._meta.db_table} t "  # noqa: S608
        f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
        "WHERE t.key_hash = %s AND t.revoked_at IS NULL AND t.expires_at > %s LIMIT 1"
    )
    return sql, list(token_fields), list(user_fields)


def _from_row(model, fields: list, values: tuple):
    """A model instance from a row of plain SQL, through the converters the ORM would apply."""
    converted = []
    for field, value in zip(fields, values, strict=True):
        col = field.get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(col) + field.get_db_converters(connection):
            value = convert(value, col, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def _live_token(key_hash: str, now: datetime) -> AuthToken | None:
    # Every API request authenticates: this is the ORM's select_related query written once, as
    # composing it cost more CPU than PostgreSQL spent running it (~0.6 ms a request).
    sql, token_fields, user_fields = _live_token_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [key_hash, now])
        row = cursor.fetchone()
    if row is None:
        return None
    token = _from_row(AuthToken, token_fields, row[: len(token_fields)])
    AuthToken._meta.get_field("user").set_cached_value(token, _from_row(User, user_fields, row[len(token_fields) :]))
    return token


def token_authenticate(*, key: str) -> AuthToken | None:
    """The live token for ``key`` with its user, or None (unknown, expired, revoked, user disabled)."""
    if not key or len(key) > 200:
        return None
    now = timezone.now()
    token = _live_token(_hash_key(key), now)
    if token is None:
        return None
    user = token.user
    if not user.is_active or user.is_suspended:
        return None
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        AuthToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_revoke(*, token: AuthToken) -> None:
    AuthToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def user_tokens_revoke_all(*, user: User, except_token: AuthToken | None = None) -> int:
    """Revoke every live token of ``user`` (suspension, password change). Returns how many."""
    qs = AuthToken.objects.filter(user=user, revoked_at__isnull=True)
    if except_token is not None:
        qs = qs.exclude(pk=except_token.pk)
    return qs.update(revoked_at=timezone.now())


def password_check(*, password: str, email: str = "", full_name: str = "") -> None:
    """Run Django's password validators; raise InvalidInput naming the ``password`` field."""
    probe = User(email=email, full_name=full_name)
    try:
        password_validation.validate_password(password, user=probe)
    except Exception as exc:  # django.core.exceptions.ValidationError
        messages = list(getattr(exc, "messages", [str(exc)]))
        raise InvalidInput("The password is too weak.", fields={"password": messages}) from None


@transaction.atomic
def user_register(*, email: str, password: str, full_name: str, role: str) -> User | None:
    """Create a user, or return None when the address is taken.

    The caller answers both cases identically (no account enumeration); the password is hashed
    either way so the two cases also take the same time.
    """
    if role not in (User.Role.CLIENT, User.Role.FREELANCER):
        raise InvalidInput("Only client and freelancer accounts can register.", fields={"role": ["Not allowed."]})
    email = User.objects.normalize_email(email).lower()
    password_check(password=password, email=email, full_name=full_name)
    if User.objects.filter(email__iexact=email).exists():
        make_password(password)
        return None
    try:
        with transaction.atomic():
            return User.objects.create_user(email, password, full_name=full_name, role=role)
    except IntegrityError:  # a concurrent registration of the same address won
        return None


@transaction.atomic
def user_update(*, user: User, full_name: str | None = None) -> User:
    if full_name is not None:
        user.full_name = full_name
        user.save(update_fields=["full_name"])
    return user


@transaction.atomic
def password_change(
    *, user: User, current_password: str, new_password: str, keep_token: AuthToken | None = None
) -> None:
    """Change the password and revoke every other token of the user (a thief's token stops working)."""
    if not user.check_password(current_password):
        raise InvalidInput("The current password is not correct.", fields={"current_password": ["Incorrect."]})
    password_check(password=new_password, email=user.email, full_name=user.full_name)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    user_tokens_revoke_all(user=user, except_token=keep_token)


def tokens_purge(*, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete tokens that expired or were revoked more than ``older_than`` ago. Returns how many.

    Dead tokens are kept for a while so the admin can show recent sign-outs; after that they are
    only rows to scan. Run from cron or Celery beat (``manage.py purge_tokens``).
    """
    cutoff = timezone.now() - older_than
    deleted, _ = AuthToken.objects.filter(Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff)).delete()
    return deleted
