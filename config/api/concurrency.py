"""Optimistic concurrency over HTTP: ``ETag: "<version>"`` on reads, ``If-Match`` on writes."""

import re

from rest_framework.exceptions import ValidationError

_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,9})"\s*$')


def etag_for(version: int) -> str:
    return f'"{version}"'


def expected_version(request, body_version: int | None) -> int | None:
    """The version the client based its edit on: ``If-Match`` header, else the body's ``version``."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return body_version
    match = _ETAG.match(header)
    if not match:
        raise ValidationError({"If-Match": ['Expected an ETag such as "3" (from a previous response).']})
    return int(match.group(1))
