"""drf-spectacular: every operation documents the shared error body for its possible 4xx codes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from config.api.errors import ErrorSerializer

_READ_ERRORS = ["401", "403", "404", "429"]
_WRITE_ERRORS = ["400", "401", "403", "404", "409", "412", "413", "415", "429"]


class MatchworkAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = _READ_ERRORS if self.method in ("GET", "HEAD", "OPTIONS") else _WRITE_ERRORS
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
        return responses


class ExpiringTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ExpiringTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token from `POST /api/v1/auth/token/`, sent as `Authorization: Token <key>`.',
        }


class ActiveSessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ActiveSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
