"""Registration, tokens and the current user through HTTP."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import AuthToken, User
from marketplace.models import Client, ClientMembership
from tests.conftest import client_for
from tests.factories import ClientFactory, FreelancerFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-and-unusual-passphrase-42"


def _register(**body):
    return APIClient().post("/api/v1/auth/register/", {"password": PASSWORD, **body}, format="json")


def _token(email, password=PASSWORD):
    return APIClient().post("/api/v1/auth/token/", {"email": email, "password": password}, format="json")


def test_freelancer_registers_and_signs_in():
    assert _register(role="freelancer", email="Ana@Example.com", full_name="Ana").status_code == 202
    user = User.objects.get(email="ana@example.com")
    assert user.role == "freelancer" and user.check_password(PASSWORD)
    response = _token("ana@example.com")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    # only a hash of the key is stored
    stored = AuthToken.objects.get(user=user)
    assert stored.key_hash == hashlib.sha256(body["token"].encode()).hexdigest()
    assert body["token"] not in repr(list(AuthToken.objects.values()))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    me = api.get("/api/v1/me/").json()
    assert me["email"] == "ana@example.com" and me["role"] == "freelancer" and me["client_membership"] is None


def test_client_member_creates_a_client_and_a_colleague_joins_with_the_invite_code():
    assert _register(role="client", email="owner@acme.example", client={"name": "Acme"}).status_code == 202
    owner = User.objects.get(email="owner@acme.example")
    client = Client.objects.get(memberships__user=owner)
    assert client.name == "Acme" and client.memberships.get().is_owner
    code = client_for(owner).get("/api/v1/clients/me/").json()["invite_code"]
    assert code == client.invite_code

    assert _register(role="client", email="colleague@acme.example", invite_code=code).status_code == 202
    colleague = User.objects.get(email="colleague@acme.example")
    membership = ClientMembership.objects.get(user=colleague)
    assert membership.client == client and not membership.is_owner
    # members who are not owners do not see the code, and cannot rotate it
    api = client_for(colleague)
    assert api.get("/api/v1/clients/me/").json()["invite_code"] is None
    assert api.post("/api/v1/clients/me/invite-code/").status_code == 403

    # rotating makes the old code useless
    new = client_for(owner).post("/api/v1/clients/me/invite-code/").json()["invite_code"]
    assert new != code
    response = _register(role="client", email="late@acme.example", invite_code=code)
    assert response.status_code == 400 and "invite_code" in response.json()["error"]["fields"]
    assert not User.objects.filter(email="late@acme.example").exists()


def test_client_registration_needs_exactly_one_of_client_or_invite_code():
    for body in ({}, {"client": {"name": "A"}, "invite_code": "x"}):
        response = _register(role="client", email="x@example.com", **body)
        assert response.status_code == 400 and "client" in response.json()["error"]["fields"]
    assert _register(role="moderator", email="m@example.com").status_code == 400
    assert not User.objects.filter(email__in=["x@example.com", "m@example.com"]).exists()


def test_registration_does_not_reveal_existing_accounts():
    existing = UserFactory(email="taken@example.com", role="client")
    first = _register(role="freelancer", email="taken@example.com")
    fresh = _register(role="freelancer", email="fresh@example.com")
    assert first.status_code == fresh.status_code == 202
    assert first.json() == fresh.json()
    existing.refresh_from_db()
    assert existing.role == "client" and not existing.check_password(PASSWORD)
    assert User.objects.filter(email="taken@example.com").count() == 1


def test_weak_password_is_refused_naming_the_field():
    response = _register(role="freelancer", email="weak@example.com", password="password")
    assert response.status_code == 400 and "password" in response.json()["error"]["fields"]
    assert not User.objects.filter(email="weak@example.com").exists()


def test_login_failures_are_indistinguishable():
    user = UserFactory(email="real@example.com")
    suspended = UserFactory(email="suspended@example.com", is_suspended=True)
    bodies = [
        _token("real@example.com", "wrong-password").json(),
        _token("nobody@example.com", "wrong-password").json(),
        _token(suspended.email, "correct-horse-battery-staple").json(),
    ]
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["error"]["code"] == "invalid_credentials"
    assert not AuthToken.objects.filter(user__in=[user, suspended]).exists()


def test_revoked_and_expired_tokens_stop_working():
    user = UserFactory()
    issued = services.token_create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    assert api.get("/api/v1/me/").status_code == 200
    assert api.post("/api/v1/auth/token/revoke/").status_code == 204
    response = api.get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"

    expired = services.token_create(user=user, ttl=timedelta(seconds=1))
    AuthToken.objects.filter(pk=expired.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    api.credentials(HTTP_AUTHORIZATION=f"Token {expired.key}")
    assert api.get("/api/v1/me/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.get("/api/v1/me/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION="Token a b")
    assert api.get("/api/v1/me/").status_code == 401


def test_a_token_authenticates_as_its_stored_user_with_one_query(django_assert_num_queries):
    user = UserFactory(full_name="Ana Lima", role=User.Role.CLIENT)
    issued = services.token_create(user=user)
    other = services.token_create(user=UserFactory())
    services.token_authenticate(key=issued.key)  # first use records last_used_at

    with django_assert_num_queries(1):  # token and user together; last_used_at is fresh
        token = services.token_authenticate(key=issued.key)

    stored = User.objects.get(pk=user.pk)
    assert token.pk == issued.token.pk and token.user.pk == user.pk != other.token.user_id
    assert {f.attname: getattr(token.user, f.attname) for f in User._meta.concrete_fields} == {
        f.attname: getattr(stored, f.attname) for f in User._meta.concrete_fields
    }
    assert token.last_used_at is not None and token.expires_at == issued.token.expires_at
    assert not token._state.adding and not token.user._state.adding
    # The instance behaves as an ORM one: saving it writes the same row.
    token.user.full_name = "Ana M. Lima"
    token.user.save(update_fields=["full_name"])
    assert User.objects.get(pk=user.pk).full_name == "Ana M. Lima"


def test_revoke_all_signs_out_everywhere():
    user = UserFactory()
    a, b = client_for(user), client_for(user)
    assert a.post("/api/v1/auth/token/revoke/", {"all": True}, format="json").status_code == 204
    assert a.get("/api/v1/me/").status_code == 401 and b.get("/api/v1/me/").status_code == 401


def test_suspended_or_inactive_users_are_locked_out_of_tokens_and_sessions():
    profile = FreelancerFactory()
    user = profile.user
    token_api = client_for(user)
    session_api = APIClient()
    session_api.force_login(user)
    assert token_api.get("/api/v1/me/").status_code == 200
    assert session_api.get("/api/v1/me/").status_code == 200

    User.objects.filter(pk=user.pk).update(is_suspended=True)
    assert token_api.get("/api/v1/me/").status_code == 401
    assert session_api.get("/api/v1/me/").status_code in (401, 403)
    # and their profile leaves the public directory
    assert APIClient().get(f"/api/v1/freelancers/{profile.id}/").status_code == 404

    User.objects.filter(pk=user.pk).update(is_suspended=False, is_active=False)
    assert token_api.get("/api/v1/me/").status_code == 401


def test_user_tokens_revoke_all_service():
    user, other = UserFactory(), UserFactory()
    for _ in range(3):
        services.token_create(user=user)
    services.token_create(user=other)
    assert services.user_tokens_revoke_all(user=user) == 3
    assert not AuthToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert AuthToken.objects.filter(user=other, revoked_at__isnull=True).count() == 1


def test_password_change_revokes_other_tokens_but_keeps_this_one():
    user = UserFactory()
    this, other = client_for(user), client_for(user)
    response = this.post(
        "/api/v1/me/password/",
        {"current_password": "correct-horse-battery-staple", "new_password": PASSWORD},
        format="json",
    )
    assert response.status_code == 204
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert this.get("/api/v1/me/").status_code == 200
    assert other.get("/api/v1/me/").status_code == 401

    body = {"current_password": "nope", "new_password": PASSWORD + "x"}
    wrong = this.post("/api/v1/me/password/", body, format="json")
    assert wrong.status_code == 400 and "current_password" in wrong.json()["error"]["fields"]


def test_me_edits_only_the_name():
    user = UserFactory(role="freelancer", full_name="Old")
    api = client_for(user)
    assert api.patch("/api/v1/me/", {"full_name": "New"}, format="json").json()["full_name"] == "New"
    response = api.patch("/api/v1/me/", {"role": "moderator", "is_staff": True, "email": "x@y.z"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"role", "is_staff", "email"}
    user.refresh_from_db()
    assert (user.full_name, user.role, user.is_staff) == ("New", "freelancer", False)
    assert user.email != "x@y.z"


def test_client_of_another_organisation_is_invisible():
    mine, theirs = ClientFactory(), ClientFactory()
    api = client_for(mine.memberships.get().user)
    assert api.get(f"/api/v1/clients/{mine.id}/").status_code == 200
    assert api.get(f"/api/v1/clients/{theirs.id}/").status_code == 404
    assert api.patch(f"/api/v1/clients/{theirs.id}/", {"name": "Mine"}, format="json").status_code == 404
    theirs.refresh_from_db()
    assert theirs.name != "Mine"


def test_suspended_users_cannot_sign_in_to_the_admin_either(client):
    UserFactory(email="mod@example.com", role="moderator", is_staff=True, is_suspended=True)
    assert not client.login(email="mod@example.com", password="correct-horse-battery-staple")
    UserFactory(email="ok@example.com", role="moderator", is_staff=True)
    assert client.login(email="ok@example.com", password="correct-horse-battery-staple")


def test_purge_tokens_deletes_only_long_dead_tokens():
    from django.core.management import call_command

    user = UserFactory()
    live = services.token_create(user=user).token
    old_expired = services.token_create(user=user).token
    old_revoked = services.token_create(user=user).token
    recent_revoked = services.token_create(user=user).token
    long_ago = timezone.now() - timedelta(days=31)
    AuthToken.objects.filter(pk=old_expired.pk).update(expires_at=long_ago)
    AuthToken.objects.filter(pk=old_revoked.pk).update(revoked_at=long_ago)
    services.token_revoke(token=recent_revoked)
    call_command("purge_tokens", days=30)
    assert set(AuthToken.objects.values_list("pk", flat=True)) == {live.pk, recent_revoked.pk}
