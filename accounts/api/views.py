"""Accounts API: registration, tokens, the current user. HTTP only; the work is in services."""

from django.contrib.auth import authenticate, update_session_auth_hash
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api import serializers as s
from accounts.models import AuthToken, User
from config.api.throttling import PasswordChangeThrottle, RegisterThrottle, TokenThrottle
from config.errors import DomainError
from marketplace import selectors as marketplace_selectors
from marketplace import services as marketplace_services

REGISTERED = (
    "Registration received. If this email address was not registered before, the account now exists: "
    "obtain a token with POST /api/v1/auth/token/."
)


class RegisterView(APIView):
    """Register as a freelancer, or as a client member who creates a client or joins one by invite code.

    The answer is the same whether or not the address was already registered (no account
    enumeration); sign in with the token endpoint afterwards.
    """

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [RegisterThrottle]

    @extend_schema(request=s.RegisterInput, responses={202: s.RegisterOutput}, auth=[], operation_id="auth_register")
    def post(self, request):
        data = s.RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v["role"] == User.Role.FREELANCER:
            services.user_register(
                email=v["email"], password=v["password"], full_name=v["full_name"], role=User.Role.FREELANCER
            )
        else:
            client = v.get("client") or {}
            marketplace_services.client_member_register(
                email=v["email"],
                password=v["password"],
                full_name=v["full_name"],
                client_name=client.get("name", ""),
                website=client.get("website", ""),
                description=client.get("description", ""),
                country=client.get("country", ""),
                invite_code=v.get("invite_code", ""),
            )
        return Response(s.RegisterOutput({"detail": REGISTERED}).data, status=status.HTTP_202_ACCEPTED)


class TokenObtainView(APIView):
    """Exchange email and password for an expiring API token."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [TokenThrottle]

    @extend_schema(
        request=s.TokenObtainInput, responses={201: s.TokenOutput}, auth=[], operation_id="auth_token_obtain"
    )
    def post(self, request):
        data = s.TokenObtainInput(data=request.data)
        data.is_valid(raise_exception=True)
        credentials = data.validated_data
        user = authenticate(request, email=credentials["email"].lower(), password=credentials["password"])
        if user is None:
            # Same answer for unknown address, wrong password, inactive or suspended account.
            raise DomainError("Unable to sign in with the provided credentials.", code="invalid_credentials")
        issued = services.token_create(user=user)
        return Response(
            s.TokenOutput({"token": issued.key, "expires_at": issued.expires_at}).data, status=status.HTTP_201_CREATED
        )


class TokenRevokeView(APIView):
    """Revoke the token this request is authenticated with (or, with `all`, every token of the user)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.TokenRevokeInput, responses={204: None}, operation_id="auth_token_revoke")
    def post(self, request):
        data = s.TokenRevokeInput(data=request.data or {})
        data.is_valid(raise_exception=True)
        if data.validated_data["all"]:
            services.user_tokens_revoke_all(user=request.user)
        elif isinstance(request.auth, AuthToken):
            services.token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _me(user: User) -> dict:
    profile = marketplace_selectors.freelancer_profile_of(user)
    return {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "date_joined": user.date_joined,
        "client_membership": marketplace_selectors.membership_of(user),
        "freelancer_profile_id": profile.id if profile else None,
    }


class MeView(APIView):
    """The signed-in user. Only `full_name` is editable here; email and role are fixed."""

    @extend_schema(responses=s.MeOutput, operation_id="me_retrieve")
    def get(self, request):
        return Response(s.MeOutput(_me(request.user)).data)

    @extend_schema(request=s.MeUpdateInput, responses=s.MeOutput, operation_id="me_partial_update")
    def patch(self, request):
        data = s.MeUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_update(user=request.user, **data.validated_data)
        return Response(s.MeOutput(_me(user)).data)


class PasswordChangeView(APIView):
    """Change the password; every other token of the user is revoked."""

    throttle_classes = [PasswordChangeThrottle]

    @extend_schema(request=s.PasswordChangeInput, responses={204: None}, operation_id="me_password_change")
    def post(self, request):
        data = s.PasswordChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        keep = request.auth if isinstance(request.auth, AuthToken) else None
        services.password_change(user=request.user, keep_token=keep, **data.validated_data)
        if keep is None:
            update_session_auth_hash(request._request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
