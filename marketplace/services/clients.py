"""Client organisations and their members."""

from __future__ import annotations

import secrets

from django.db import transaction

from accounts import services as account_services
from accounts.models import User
from config.errors import InvalidInput, NotAllowed
from marketplace.models import Client, ClientMembership
from marketplace.selectors import membership_of

CLIENT_EDITABLE_FIELDS = ("name", "website", "description", "country")


def _new_invite_code() -> str:
    return secrets.token_urlsafe(18)


@transaction.atomic
def client_create(*, name: str, owner: User, website: str = "", description: str = "", country: str = "") -> Client:
    if ClientMembership.objects.filter(user=owner).exists():
        raise InvalidInput("This user already belongs to a client.", code="already_member")
    client = Client.objects.create(
        name=name, website=website, description=description, country=country.upper(), invite_code=_new_invite_code()
    )
    ClientMembership.objects.create(client=client, user=owner, is_owner=True)
    return client


@transaction.atomic
def client_member_register(
    *,
    email: str,
    password: str,
    full_name: str,
    client_name: str = "",
    website: str = "",
    description: str = "",
    country: str = "",
    invite_code: str = "",
) -> User | None:
    """Register a client member who either founds a new client or joins one with its invite code.

    Returns None when the email is taken (the caller must not reveal that). An unknown invite code
    is an InvalidInput: it reveals nothing about accounts, and registration is throttled.
    """
    if bool(client_name) == bool(invite_code):
        raise InvalidInput(
            "Give either a new client's name or an invite code to join an existing client.",
            fields={"client": ["Exactly one of client.name or invite_code is required."]},
        )
    client = None
    if invite_code:
        client = Client.objects.filter(invite_code=invite_code).first()
        if client is None:
            raise InvalidInput("The invite code is not valid.", fields={"invite_code": ["Not a valid invite code."]})
    user = account_services.user_register(email=email, password=password, full_name=full_name, role=User.Role.CLIENT)
    if user is None:
        return None
    if client is None:
        client_create(name=client_name, owner=user, website=website, description=description, country=country)
    else:
        ClientMembership.objects.create(client=client, user=user, is_owner=False)
    return user


def _require_member(client: Client, by: User, *, owner: bool = False) -> ClientMembership:
    membership = membership_of(by)
    if membership is None or membership.client_id != client.id or (owner and not membership.is_owner):
        who = "an owner" if owner else "members"
        raise NotAllowed(f"Only {who} of this client can do this.")
    return membership


@transaction.atomic
def client_update(*, client: Client, by: User, **fields) -> Client:
    _require_member(client, by)
    unknown = set(fields) - set(CLIENT_EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput("Unknown fields.", fields={f: ["Cannot be set."] for f in sorted(unknown)})
    client = Client.objects.select_for_update().get(pk=client.pk)
    for name, value in fields.items():
        setattr(client, name, value.upper() if name == "country" else value)
    if fields:
        client.save(update_fields=[*fields, "updated_at"])
    return client


@transaction.atomic
def client_invite_code_rotate(*, client: Client, by: User) -> Client:
    """A new invite code; the old one stops working (e.g. after it leaked)."""
    _require_member(client, by, owner=True)
    client.invite_code = _new_invite_code()
    client.save(update_fields=["invite_code", "updated_at"])
    return client
