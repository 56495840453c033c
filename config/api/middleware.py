from django.conf import settings
from django.http import HttpRequest, JsonResponse

from config.api.errors import error_body, too_large_response

API_PREFIX = "/api/v1/"
_DJANGO_CODES = {400: "invalid", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed"}


_DRAIN_CHUNK = 64 * 1024


def _discard_body(request: HttpRequest, length: int) -> None:
    """Read and drop a refused body of at most REFUSED_BODY_DRAIN_BYTES.

    gunicorn closes the connection after the response. If the client is still sending a body that
    nobody read, the kernel answers with a reset, and the client sees a broken pipe instead of the
    413 and its message. Reading the rest first costs the bytes the client sends anyway; a body
    declared larger than the bound is refused unread, and the client may then see that reset.
    """
    if length > settings.REFUSED_BODY_DRAIN_BYTES:
        return
    stream = request.META.get("wsgi.input")
    remaining = length
    while stream is not None and remaining > 0:
        chunk = stream.read(min(_DRAIN_CHUNK, remaining))
        if not chunk:
            break
        remaining -= len(chunk)


class ApiRequestSizeLimitMiddleware:
    """Keep every /api/v1/ error in the JSON error shape, including those raised outside DRF.

    - Bodies over DATA_UPLOAD_MAX_MEMORY_SIZE get a JSON 413 before anything parses them: Django
      enforces that limit only for form parsing and ``request.body``, while DRF's JSON parser reads
      the stream directly, so without this an oversized JSON body would be parsed in full. The
      refused bytes are read and dropped first, up to a bound (``_discard_body``).
    - Django's own HTML error pages (an unknown URL, a CSRF failure) become the JSON error body.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            _discard_body(request, length)
            return too_large_response()
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        rendered_by_drf = hasattr(response, "accepted_renderer")  # e.g. the browsable API in DEBUG
        is_json = content_type.startswith("application/json")
        if 400 <= response.status_code < 500 and not rendered_by_drf and not is_json:
            code = _DJANGO_CODES.get(response.status_code, "error")
            message = "No such endpoint." if response.status_code == 404 else "Request refused."
            return JsonResponse(error_body(code, message), status=response.status_code)
        return response
