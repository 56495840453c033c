"""JSON responses assembled from pieces rendered earlier (for example kept in a cache).

A ``RawJSON`` is bytes that ``JSONRenderer`` produced; ``fragments_response`` writes a dict whose
values may be such pieces (or lists of them) exactly as DRF would have rendered the whole dict,
without decoding and re-encoding them. Whenever DRF would render differently (an ``indent``
asked for in ``Accept``, non-compact settings) it decodes them and lets DRF render.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response


class RawJSON(bytes):
    """JSON rendered by ``JSONRenderer``, to be written as it is."""


def render_json(data) -> RawJSON:
    return RawJSON(JSONRenderer().render(data))


def _decoded(value):
    if isinstance(value, RawJSON):
        return json.loads(value)
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


def _encoded(renderer: JSONRenderer, value) -> bytes:
    if isinstance(value, RawJSON):
        return value
    if isinstance(value, list):
        return b"[" + b",".join(_encoded(renderer, v) for v in value) + b"]"
    if value is None:
        return b"null"  # render(None) is an empty body, not null
    return renderer.render(value)


def fragments_response(request: Request, data: dict) -> HttpResponse:
    """The response DRF would give for ``Response(data)``, byte for byte."""
    renderer = request.accepted_renderer
    if (
        type(renderer) is not JSONRenderer
        or not renderer.compact
        or renderer.get_indent(request.accepted_media_type, {}) is not None
    ):
        return Response({key: _decoded(value) for key, value in data.items()})
    body = b",".join(renderer.render(key) + b":" + _encoded(renderer, value) for key, value in data.items())
    return HttpResponse(b"{" + body + b"}", content_type=renderer.media_type)
