from rest_framework import serializers

from accounts.models import User
from config.api.serializers import StrictInputSerializer


class ClientRegistrationInput(StrictInputSerializer):
    name = serializers.CharField(max_length=200)
    website = serializers.URLField(max_length=300, required=False, default="")
    description = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, default="", allow_blank=True, max_length=2)


class RegisterInput(StrictInputSerializer):
    role = serializers.ChoiceField(choices=[User.Role.CLIENT, User.Role.FREELANCER])
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    full_name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    client = ClientRegistrationInput(required=False, help_text="Client role: the new client organisation to create.")
    invite_code = serializers.CharField(
        max_length=40,
        required=False,
        default="",
        allow_blank=True,
        help_text="Client role: join an existing client with the invite code its owner shared.",
    )

    def validate(self, attrs):
        if attrs["role"] == User.Role.FREELANCER and (attrs.get("client") or attrs.get("invite_code")):
            raise serializers.ValidationError({"client": ["Freelancers do not join clients."]})
        if attrs["role"] == User.Role.CLIENT and bool(attrs.get("client")) == bool(attrs.get("invite_code")):
            raise serializers.ValidationError(
                {"client": ["A client member gives either `client` (to create one) or `invite_code` (to join one)."]}
            )
        return attrs


class RegisterOutput(serializers.Serializer):
    detail = serializers.CharField()


class TokenObtainInput(StrictInputSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`. Shown once.")
    expires_at = serializers.DateTimeField()


class TokenRevokeInput(StrictInputSerializer):
    all = serializers.BooleanField(required=False, default=False, help_text="Revoke every token of the user.")


class MembershipOutput(serializers.Serializer):
    client_id = serializers.IntegerField()
    client_name = serializers.CharField(source="client.name")
    is_owner = serializers.BooleanField()


class MeOutput(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    full_name = serializers.CharField(read_only=True)
    role = serializers.ChoiceField(choices=User.Role.choices, read_only=True)
    date_joined = serializers.DateTimeField(read_only=True)
    client_membership = MembershipOutput(read_only=True, allow_null=True)
    freelancer_profile_id = serializers.IntegerField(read_only=True, allow_null=True)


class MeUpdateInput(StrictInputSerializer):
    full_name = serializers.CharField(max_length=150, allow_blank=True)


class PasswordChangeInput(StrictInputSerializer):
    current_password = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)
