"""drf-spectacular: every operation documents the shared error body for its possible 4xx codes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from config.api.errors import ErrorSerializer


class MatchworkAutoSchema(AutoSchema):
    def _error_codes(self) -> list[str]:
        write = self.method not in ("GET", "HEAD", "OPTIONS")
        codes = ["400"] if write or self.method == "GET" else []
        if self.get_auth():
            codes += ["401", "403"]
        if "{" in self.path or "/me/" in self.path:
            codes.append("404")
        if write:
            codes += ["409", "413", "415"]
        if self.method == "PATCH":
            codes.append("412")
        codes.append("429")
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
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
            "description": "Token from `POST /api/v1/auth/token/`, sent as `Authorization: Token <key>`.",
        }


class ActiveSessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ActiveSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
