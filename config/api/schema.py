"""drf-spectacular: every operation documents the shared error body for its possible 4xx codes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from config.api.errors import ErrorSerializer
from config.api.serializers import StrictInputSerializer


class MatchworkAutoSchema(AutoSchema):
    def _error_codes(self) -> list[str]:
        write = self.method not in ("GET", "HEAD", "OPTIONS")
        codes = ["400"] if write or self.method == "GET" else []
        if self.get_auth():
            codes += ["401", "403"]
        if "{" in self.path or "/me/" in self.path or self._get_pagination_parameters():
            codes.append("404")  # an object not visible to you, or a page past the last one
        if write:
            codes += ["409", "413", "415"]
        if self.method == "PATCH":
            codes.append("412")
        codes.append("429")
        return codes

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, StrictInputSerializer):
            schema["additionalProperties"] = False  # undeclared fields are a 400, not ignored
        properties = schema.get("properties", {})
        for name, field in getattr(serializer, "fields", {}).items():
            # "" (no website) is a valid stored value, and not a URI
            if isinstance(field, serializers.URLField) and properties.get(name, {}).get("format") == "uri":
                del properties[name]["format"]
        return schema

    def _get_filter_parameters(self):
        """Filter parameters with the bounds their filters enforce (django-filter's min/max_value),
        so a client (or a fuzzer) reading the schema knows which values are accepted."""
        parameters = super()._get_filter_parameters()
        filterset_class = getattr(self.view, "filterset_class", None)
        filters = getattr(filterset_class, "base_filters", {})
        for parameter in parameters:
            field = filters.get(parameter.get("name"))
            schema = parameter.get("schema", {})
            if field is None:
                continue
            if schema.get("type") == "string" and field.extra.get("max_length"):
                schema["maxLength"] = field.extra["max_length"]
            if schema.get("type") not in ("number", "integer"):
                continue
            if field.extra.get("min_value") is not None:
                schema["minimum"] = field.extra["min_value"]
            if field.extra.get("max_value") is not None:
                schema["maximum"] = field.extra["max_value"]
        return parameters

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
