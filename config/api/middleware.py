from django.conf import settings
from django.http import HttpRequest

from config.api.errors import too_large_response


class ApiRequestSizeLimitMiddleware:
    """Refuse API bodies over DATA_UPLOAD_MAX_MEMORY_SIZE with a JSON 413 before anything reads them.

    Django enforces that limit only for form parsing and ``request.body``; DRF's JSON parser reads
    the stream directly, so without this an oversized JSON body would be parsed in full.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if limit is not None and length > limit:
                return too_large_response()
        return self.get_response(request)
